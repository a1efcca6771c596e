"""Dynamic client registration (RFC 7591) with self-contained client ids.

A registered client is not stored: its metadata is carried in the client id
itself, authenticated with an HMAC under a server key. Any instance sharing the
key recognises the client, nothing grows when clients register again on every
start (as some MCP clients do), and an altered id fails verification. A
confidential client's secret is derived from its id with the same key, so it
is checked without storage either.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

from pierre.oauth2 import errors

CLIENT_ID_PREFIX = "pc1"
AUTH_METHODS = ("none", "client_secret_post", "client_secret_basic")
GRANT_TYPES = ("authorization_code", "refresh_token")
# Schemes a native app must never register: they run code or read files in a browser.
FORBIDDEN_SCHEMES = frozenset({"javascript", "data", "file", "vbscript", "about", "blob"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_REDIRECT_URIS = 10
MAX_NAME = 200


@dataclass(frozen=True, slots=True)
class Client:
    client_id: str
    redirect_uris: tuple[str, ...]
    client_name: str
    auth_method: str
    issued_at: int

    @property
    def is_public(self) -> bool:
        return self.auth_method == "none"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _check_redirect_uri(uri: Any) -> str:
    if not isinstance(uri, str) or not uri or len(uri) > 2000:
        raise errors.invalid_redirect_uri("each redirect URI must be a non-empty string")
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if parts.fragment or "#" in uri:
        raise errors.invalid_redirect_uri(f"redirect URI must not contain a fragment: {uri}")
    if not scheme:
        raise errors.invalid_redirect_uri(f"redirect URI must be absolute: {uri}")
    if scheme in FORBIDDEN_SCHEMES:
        raise errors.invalid_redirect_uri(f"redirect URI scheme {scheme!r} is not allowed")
    if scheme == "http" and (parts.hostname or "") not in LOOPBACK_HOSTS:
        raise errors.invalid_redirect_uri(
            f"plain http redirect URIs must point to a loopback address: {uri}")
    if scheme in ("http", "https") and not parts.hostname:
        raise errors.invalid_redirect_uri(f"redirect URI has no host: {uri}")
    return uri


def validate_registration(body: Any) -> dict[str, Any]:
    """Check an RFC 7591 registration request; return the normalized metadata.

    Raises OAuthError(invalid_client_metadata | invalid_redirect_uri).
    """
    if not isinstance(body, dict):
        raise errors.invalid_client_metadata("the registration request must be a JSON object")
    uris = body.get("redirect_uris")
    if not isinstance(uris, list) or not uris:
        raise errors.invalid_redirect_uri("redirect_uris must be a non-empty list")
    if len(uris) > MAX_REDIRECT_URIS:
        raise errors.invalid_redirect_uri(f"at most {MAX_REDIRECT_URIS} redirect URIs")
    redirect_uris = [_check_redirect_uri(u) for u in uris]
    method = body.get("token_endpoint_auth_method", "none")
    if method not in AUTH_METHODS:
        raise errors.invalid_client_metadata(
            f"token_endpoint_auth_method must be one of {', '.join(AUTH_METHODS)}")
    grants = body.get("grant_types", ["authorization_code", "refresh_token"])
    if not isinstance(grants, list) or not grants or any(g not in GRANT_TYPES for g in grants):
        raise errors.invalid_client_metadata(
            f"grant_types may only contain {', '.join(GRANT_TYPES)}")
    responses = body.get("response_types", ["code"])
    if responses != ["code"]:
        raise errors.invalid_client_metadata('response_types must be ["code"]')
    name = body.get("client_name", "MCP client")
    if not isinstance(name, str) or not name.strip():
        raise errors.invalid_client_metadata("client_name must be a non-empty string")
    return {
        "redirect_uris": redirect_uris,
        "client_name": name.strip()[:MAX_NAME],
        "token_endpoint_auth_method": method,
        "grant_types": grants,
        "response_types": ["code"],
    }


class ClientCodec:
    """Mints and verifies self-contained client ids and derived secrets."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("client id key must be at least 16 bytes")
        self._key = key

    def _mac(self, label: str, data: str) -> bytes:
        return hmac.new(self._key, f"{label}:{data}".encode(), hashlib.sha256).digest()

    def register(self, metadata: dict[str, Any], *, now: float | None = None
                 ) -> dict[str, Any]:
        """The RFC 7591 §3.2.1 response for validated `metadata`."""
        issued = int(now if now is not None else time.time())
        payload = _b64(orjson.dumps({
            "r": metadata["redirect_uris"], "n": metadata["client_name"],
            "a": metadata["token_endpoint_auth_method"], "t": issued,
        }))
        body = f"{CLIENT_ID_PREFIX}.{payload}"
        client_id = f"{body}.{_b64(self._mac('id', body)[:16])}"
        out = {**metadata, "client_id": client_id, "client_id_issued_at": issued}
        if metadata["token_endpoint_auth_method"] != "none":
            out["client_secret"] = self.secret_for(client_id)
            out["client_secret_expires_at"] = 0
        return out

    def secret_for(self, client_id: str) -> str:
        return _b64(self._mac("secret", client_id))

    def decode(self, client_id: Any) -> Client:
        """The client behind `client_id`; raise invalid_client if it is not one of ours."""
        if not isinstance(client_id, str) or client_id.count(".") != 2 or len(client_id) > 8192:
            raise errors.invalid_client("unknown client_id")
        prefix, payload, mac = client_id.split(".")
        body = f"{prefix}.{payload}"
        try:
            ok = prefix == CLIENT_ID_PREFIX and hmac.compare_digest(
                _unb64(mac), self._mac("id", body)[:16])
            data = orjson.loads(_unb64(payload)) if ok else None
        except (ValueError, orjson.JSONDecodeError):
            ok, data = False, None
        if not ok or not isinstance(data, dict):
            raise errors.invalid_client("unknown client_id")
        return Client(client_id=client_id, redirect_uris=tuple(data["r"]),
                      client_name=str(data["n"]), auth_method=str(data["a"]),
                      issued_at=int(data["t"]))

    def authenticate(self, client: Client, secret: str | None) -> None:
        """Confidential clients must present their secret; public ones must not need it."""
        if client.is_public:
            return
        if not secret or not hmac.compare_digest(secret, self.secret_for(client.client_id)):
            raise errors.invalid_client("client authentication failed")


def redirect_uri_matches(registered: tuple[str, ...], requested: str) -> bool:
    """Exact match, except that loopback redirect URIs may use any port (RFC 8252 §7.3)."""
    if requested in registered:
        return True
    req = urlsplit(requested)
    if req.scheme != "http" or (req.hostname or "") not in LOOPBACK_HOSTS:
        return False
    for uri in registered:
        reg = urlsplit(uri)
        if (reg.scheme == "http" and reg.hostname == req.hostname and reg.path == req.path
                and reg.query == req.query):
            return True
    return False
