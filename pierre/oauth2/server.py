"""The authorization server: the pure rules plus storage and the clock.

Codes and refresh tokens live in the database's single-use OAuth state table
(`save_oauth_state` / `pop_oauth_state`), keyed by their hash: popping is
atomic, so a code or refresh token is redeemed once even with several Pierre
instances. Refresh tokens rotate on every use (OAuth 2.1 §4.3.1 for public
clients).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import jwt
import structlog

from pierre.auth.principal import Principal, Role
from pierre.errors import AuthError
from pierre.oauth2 import errors, grants, metadata, tokens
from pierre.oauth2.clients import ClientCodec, validate_registration

if TYPE_CHECKING:
    from pierre.services import Services

log = structlog.get_logger("pierre.oauth2")

CODE_KIND = "code"
REFRESH_KIND = "refresh"
ACCESS_TTL_S = 3600
DEV_KEY_FILE = "oauth2.key"


def _hkdf(secret: bytes, label: str) -> bytes:
    """One HMAC-SHA256 expansion step: a key per purpose from one server secret."""
    return hmac.new(secret, f"pierre-oauth2:{label}".encode(), hashlib.sha256).digest()


def load_server_secret(services: Services) -> bytes:
    """The secret every instance shares: the master key when configured.

    Order: `services.crypto.derive_key("oauth2")` if the crypto service offers
    it; else `[security] master_key` / `master_key_file`; else (development) a
    random secret kept in `data_dir/oauth2.key`, which only one instance sees.
    """
    crypto = services.crypto
    derive = getattr(crypto, "derive_key", None)
    if callable(derive):
        key = derive("oauth2")
        if isinstance(key, bytes) and len(key) >= 16:
            return key
    sec = services.config.security
    if sec.master_key:
        return hashlib.sha256(b"pierre-oauth2|" + sec.master_key.encode()).digest()
    if sec.master_key_file:
        raw = Path(services.config.resolve_path(sec.master_key_file)).read_bytes().strip()
        return hashlib.sha256(b"pierre-oauth2|" + raw).digest()
    path = Path(services.config.resolve_path(services.config.server.data_dir)) / DEV_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(base64.b64encode(os.urandom(32)))
    return secret_from_file(path)


def secret_from_file(path: Path) -> bytes:
    return hashlib.sha256(b"pierre-oauth2|" + path.read_bytes().strip()).digest()


def access_key(secret: bytes) -> bytes:
    return _hkdf(secret, "access-token")


class AuthorizationServer:
    """OAuth 2.1 for the MCP resource; one per daemon, built at HTTP setup."""

    def __init__(self, services: Services, secret: bytes) -> None:
        self.services = services
        self.codec = ClientCodec(_hkdf(secret, "client-id"))
        self._access_key = access_key(secret)

    # -- URLs ------------------------------------------------------------------------------
    @property
    def issuer(self) -> str:
        return self.services.public_http_url()

    @property
    def resource(self) -> str:
        """Canonical MCP resource: the Streamable HTTP endpoint on the HTTP listener."""
        return f"{self.issuer}{self.services.config.mcp.path}"

    def accepted_resources(self) -> tuple[str, ...]:
        out = [self.resource]
        if self.services.extras.get("mcp_bound") or self.services.config.http.public_url:
            out.append(self.services.public_mcp_url())
        return tuple(out)

    @property
    def resource_metadata_url(self) -> str:
        return f"{self.issuer}{metadata.WELL_KNOWN_PR}{self.services.config.mcp.path}"

    def www_authenticate(self, error: str | None = None) -> str:
        return metadata.www_authenticate(self.resource_metadata_url, error=error)

    # -- endpoints -------------------------------------------------------------------------
    def register(self, body: Any) -> dict[str, Any]:
        return self.codec.register(validate_registration(body))

    def parse_authorization(self, params: dict[str, str]) -> grants.AuthorizationRequest:
        return grants.parse_authorization_request(
            params, self.codec, accepted_resources=self.accepted_resources(),
            canonical_resource=self.resource)

    async def approve(self, req: grants.AuthorizationRequest, principal: Principal) -> str:
        """Store a single-use code for `principal`; return the client redirect URL."""
        code = tokens.new_opaque()
        data = {"client_id": req.client.client_id, "redirect_uri": req.redirect_uri,
                "redirect_uri_defaulted": not req.redirect_uri_given,
                "code_challenge": req.code_challenge, "resource": req.resource,
                "scope": req.scope, "role": principal.role, "email": principal.email}
        await self.services.db.save_oauth_state(
            tokens.storage_key(CODE_KIND, code), principal.tenant_id, principal.user_id,
            "mcp-oauth", data, datetime.now(UTC) + timedelta(seconds=grants.CODE_TTL_S))
        await self._audit("oauth2.consent_granted", principal,
                          {"client_id": req.client.client_id[:24],
                           "client_name": req.client.client_name})
        return grants.redirect_with(req.redirect_uri, {"code": code, "state": req.state,
                                                       "iss": self.issuer})

    def deny(self, req: grants.AuthorizationRequest) -> str:
        return grants.redirect_with(req.redirect_uri, {
            "error": "access_denied", "error_description": "the user refused access",
            "state": req.state, "iss": self.issuer})

    async def token(self, params: dict[str, str], basic: tuple[str, str] | None
                    ) -> dict[str, Any]:
        req = grants.parse_token_request(params, self.codec, basic=basic)
        if req.grant_type == "authorization_code":
            assert req.code is not None
            stored = await self.services.db.pop_oauth_state(
                tokens.storage_key(CODE_KIND, req.code))
            if stored is None or stored.get("provider") != "mcp-oauth":
                raise errors.invalid_grant("the authorization code is invalid, used or expired")
            data = stored["data"]
            grants.check_code_redemption(req, data)
            return await self._issue(stored["tenant_id"], stored["user_id"], data,
                                     req.client.client_id, family=tokens.new_opaque())
        assert req.refresh_token is not None
        stored = await self.services.db.pop_oauth_state(
            tokens.storage_key(REFRESH_KIND, req.refresh_token))
        if stored is None or stored.get("provider") != "mcp-oauth-refresh":
            raise errors.invalid_grant("the refresh token is invalid, used or expired")
        data = stored["data"]
        if data.get("client_id") != req.client.client_id:
            raise errors.invalid_grant("the refresh token was issued to another client")
        if req.resource is not None and metadata.normalize_resource(req.resource) != (
                metadata.normalize_resource(str(data.get("resource")))):
            raise errors.OAuthError("invalid_target", "resource differs from the grant")
        data = {**data, "scope": grants.narrow_scope(str(data.get("scope", "")), req.scope)}
        return await self._issue(stored["tenant_id"], stored["user_id"], data,
                                 req.client.client_id, family=str(data.get("family", "")))

    async def _issue(self, tenant_id: str, user_id: str, data: dict[str, Any], client_id: str,
                     *, family: str) -> dict[str, Any]:
        user = await self.services.db.get_user(tenant_id, user_id)
        if user is None or user.status != "active":
            raise errors.invalid_grant("the user of this grant is no longer active")
        scope = str(data.get("scope") or "mcp")
        access = tokens.mint(self._access_key, issuer=self.issuer,
                             audience=str(data["resource"]), tenant_id=tenant_id,
                             user_id=user_id, role=user.role, client_id=client_id, scope=scope,
                             ttl_s=ACCESS_TTL_S, email=user.email)
        refresh = tokens.new_opaque()
        ttl = self.services.config.security.refresh_token_ttl_s
        await self.services.db.save_oauth_state(
            tokens.storage_key(REFRESH_KIND, refresh), tenant_id, user_id, "mcp-oauth-refresh",
            {"client_id": client_id, "resource": data["resource"], "scope": scope,
             "family": family}, datetime.now(UTC) + timedelta(seconds=ttl))
        return {"access_token": access, "token_type": "Bearer", "expires_in": ACCESS_TTL_S,
                "refresh_token": refresh, "scope": scope}

    # -- resource side ---------------------------------------------------------------------
    async def authenticate(self, token: str) -> Principal:
        """The principal behind an MCP access token; AuthError if it is not valid here."""
        try:
            claims = tokens.verify(self._access_key, token, issuer=self.issuer,
                                   audience=self.resource)
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("The access token has expired: refresh it") from exc
        except jwt.InvalidAudienceError as exc:
            raise AuthError("The access token was issued for another resource") from exc
        except jwt.PyJWTError as exc:
            raise AuthError("Invalid access token") from exc
        user = await self.services.db.get_user(claims.tenant_id, claims.user_id)
        if user is None or user.status != "active":
            raise AuthError("The user of this token is disabled or gone")
        tenant = await self.services.db.get_tenant(claims.tenant_id)
        if tenant is None or tenant.status != "active":
            raise AuthError("The tenant of this token is suspended")
        tier = str(tenant.settings.get("tier") or tenant.settings.get("plan") or "starter")
        return Principal(tenant_id=claims.tenant_id, user_id=claims.user_id,
                         role=cast(Role, user.role), tier=tier, method="oauth",
                         credential_id=f"oauth:{claims.client_id[-16:]}",
                         scopes=frozenset(claims.scope.split()), email=user.email)

    async def _audit(self, action: str, principal: Principal, details: dict[str, Any]) -> None:
        try:
            await self.services.db.add_audit(action, tenant_id=principal.tenant_id,
                                             user_id=principal.user_id, details=details)
        except Exception:  # auditing must not break sign-in; the failure is logged
            log.warning("audit_failed", action=action)
