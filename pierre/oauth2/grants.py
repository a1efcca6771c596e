"""Authorization and token request rules (RFC 6749 as profiled by OAuth 2.1, RFC 8707).

Pure checks over request parameters: they raise `OAuthError` with the code a
client expects and return small frozen records the server stores or signs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from pierre.oauth2 import errors, pkce
from pierre.oauth2.clients import Client, ClientCodec, redirect_uri_matches
from pierre.oauth2.metadata import SCOPES, normalize_resource

CODE_TTL_S = 60  # OAuth 2.1 recommends a short code life; clients redeem at once.


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    client: Client
    redirect_uri: str
    code_challenge: str
    resource: str
    scope: str
    state: str | None
    # False when the client left redirect_uri out (one registered): then the
    # token request may leave it out as well (RFC 6749 §4.1.3).
    redirect_uri_given: bool = True


@dataclass(frozen=True, slots=True)
class TokenRequest:
    grant_type: str
    client: Client
    code: str | None = None
    redirect_uri: str | None = None
    code_verifier: str | None = None
    refresh_token: str | None = None
    resource: str | None = None
    scope: str | None = None


def _one(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name)
    return value if value else None


def check_scope(requested: str | None) -> str:
    """The granted scope: what was asked for, restricted to what Pierre knows."""
    if not requested:
        return " ".join(SCOPES)
    asked = requested.split()
    unknown = [s for s in asked if s not in SCOPES]
    if unknown:
        raise errors.OAuthError("invalid_scope", f"unknown scope: {' '.join(unknown)}",
                                redirectable=True)
    return " ".join(dict.fromkeys(asked))


def check_resource(requested: str | None, accepted: Iterable[str], canonical: str) -> str:
    """RFC 8707: the token's audience. Absent means Pierre's MCP resource."""
    if requested is None:
        return canonical
    wanted = normalize_resource(requested)
    if wanted not in {normalize_resource(a) for a in accepted}:
        raise errors.OAuthError("invalid_target",
                                f"this server issues tokens only for {canonical}",
                                redirectable=True)
    return canonical


def parse_authorization_request(params: Mapping[str, str], codec: ClientCodec, *,
                                accepted_resources: Iterable[str], canonical_resource: str
                                ) -> AuthorizationRequest:
    """Validate a /oauth2/authorize request.

    Client and redirect URI problems raise non-redirectable errors (shown to
    the person); everything after that is redirectable to the client.
    """
    client = codec.decode(_one(params, "client_id"))
    redirect_uri = _one(params, "redirect_uri")
    given = redirect_uri is not None
    if redirect_uri is None:
        if len(client.redirect_uris) != 1:
            raise errors.invalid_request("redirect_uri is required")
        redirect_uri = client.redirect_uris[0]
    elif not redirect_uri_matches(client.redirect_uris, redirect_uri):
        raise errors.invalid_request("redirect_uri is not registered for this client")
    if params.get("response_type") != "code":
        raise errors.OAuthError("unsupported_response_type", 'response_type must be "code"',
                                redirectable=True)
    challenge = _one(params, "code_challenge")
    if challenge is None:
        raise errors.invalid_request("code_challenge is required (PKCE)", redirectable=True)
    if params.get("code_challenge_method") != "S256":
        raise errors.invalid_request("code_challenge_method must be S256", redirectable=True)
    if not pkce.valid_challenge(challenge):
        raise errors.invalid_request("code_challenge is malformed", redirectable=True)
    resource = check_resource(_one(params, "resource"), accepted_resources, canonical_resource)
    scope = check_scope(_one(params, "scope"))
    return AuthorizationRequest(client=client, redirect_uri=redirect_uri,
                                code_challenge=challenge, resource=resource, scope=scope,
                                state=_one(params, "state"), redirect_uri_given=given)


def redirect_with(redirect_uri: str, params: Mapping[str, str | None]) -> str:
    """`redirect_uri` with `params` appended to its query, keeping its own query."""
    parts = urlsplit(redirect_uri)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def parse_token_request(params: Mapping[str, str], codec: ClientCodec, *,
                        basic: tuple[str, str] | None) -> TokenRequest:
    """Validate a /oauth2/token request and authenticate its client."""
    secret: str | None
    if basic is not None:
        client_id, secret = basic
        if params.get("client_id") not in (None, "", client_id):
            raise errors.invalid_request("client_id differs from the Basic credentials")
    else:
        client_id = params.get("client_id", "")
        secret = params.get("client_secret") or None
    client = codec.decode(client_id)
    codec.authenticate(client, secret)
    grant = params.get("grant_type")
    if grant == "authorization_code":
        code = _one(params, "code")
        if code is None:
            raise errors.invalid_request("code is required")
        verifier = _one(params, "code_verifier")
        if verifier is None:
            raise errors.invalid_request("code_verifier is required (PKCE)")
        return TokenRequest(grant_type=grant, client=client, code=code,
                            redirect_uri=_one(params, "redirect_uri"),
                            code_verifier=verifier, resource=_one(params, "resource"))
    if grant == "refresh_token":
        token = _one(params, "refresh_token")
        if token is None:
            raise errors.invalid_request("refresh_token is required")
        return TokenRequest(grant_type=grant, client=client, refresh_token=token,
                            resource=_one(params, "resource"), scope=_one(params, "scope"))
    raise errors.OAuthError("unsupported_grant_type",
                            "grant_type must be authorization_code or refresh_token")


def check_code_redemption(req: TokenRequest, stored: Mapping[str, object]) -> None:
    """The code was issued to this client, for this redirect URI, with this PKCE challenge."""
    if stored.get("client_id") != req.client.client_id:
        raise errors.invalid_grant("the code was issued to another client")
    if stored.get("redirect_uri") != req.redirect_uri and not (
        req.redirect_uri is None and stored.get("redirect_uri_defaulted")
    ):
        raise errors.invalid_grant("redirect_uri does not match the authorization request")
    if not pkce.verify(req.code_verifier, str(stored.get("code_challenge", ""))):
        raise errors.invalid_grant("PKCE verification failed")
    if req.resource is not None and normalize_resource(req.resource) != normalize_resource(
            str(stored.get("resource", ""))):
        raise errors.OAuthError("invalid_target", "resource differs from the authorization")


def narrow_scope(granted: str, requested: str | None) -> str:
    """A refresh may ask for less than was granted, never more (RFC 6749 §6)."""
    if not requested:
        return granted
    have = set(granted.split())
    asked = requested.split()
    if not set(asked) <= have:
        raise errors.OAuthError("invalid_scope", "a refresh cannot widen the granted scope")
    return " ".join(asked)
