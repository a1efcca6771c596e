"""Access tokens for the MCP resource: RFC 9068 JWTs bound to one audience.

Signed with HS256 under a key derived from the server key: only Pierre mints
and checks them, so a shared secret is enough and verification needs no
key lookup. The `typ` header (`at+jwt`) tells them apart from Pierre's other
JWTs, and the audience is checked on every use, so a token minted for another
resource, or a Pierre login token replayed here, is refused.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

TYP = "at+jwt"
ALG = "HS256"


@dataclass(frozen=True, slots=True)
class AccessClaims:
    tenant_id: str
    user_id: str
    role: str
    client_id: str
    scope: str
    audience: str
    expires_at: int
    email: str | None = None


def is_access_token(token: str) -> bool:
    """Cheap check on the unverified header: is this one of our MCP access tokens?"""
    try:
        return jwt.get_unverified_header(token).get("typ") == TYP
    except jwt.PyJWTError:
        return False


def mint(key: bytes, *, issuer: str, audience: str, tenant_id: str, user_id: str, role: str,
         client_id: str, scope: str, ttl_s: int, email: str | None = None,
         now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "iss": issuer, "aud": audience, "sub": user_id, "tid": tenant_id, "role": role,
        "client_id": client_id, "scope": scope, "iat": issued, "exp": issued + ttl_s,
        "jti": uuid.uuid4().hex,
    }
    if email:
        claims["email"] = email
    return jwt.encode(claims, key, algorithm=ALG, headers={"typ": TYP})


def verify(key: bytes, token: str, *, issuer: str, audience: str) -> AccessClaims:
    """Raise jwt.PyJWTError unless the token is ours, unexpired and for `audience`."""
    header = jwt.get_unverified_header(token)
    if header.get("typ") != TYP:
        raise jwt.InvalidTokenError("not an MCP access token")
    claims = jwt.decode(token, key, algorithms=[ALG], audience=audience, issuer=issuer,
                        options={"require": ["exp", "iat", "aud", "iss", "sub"]}, leeway=30)
    return AccessClaims(tenant_id=str(claims["tid"]), user_id=str(claims["sub"]),
                        role=str(claims.get("role", "user")),
                        client_id=str(claims.get("client_id", "")),
                        scope=str(claims.get("scope", "")), audience=audience,
                        expires_at=int(claims["exp"]), email=claims.get("email"))


def new_opaque() -> str:
    """An authorization code or refresh token: 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


def storage_key(kind: str, value: str) -> str:
    """Codes and refresh tokens are stored under their hash, never in clear."""
    return f"mcp-{kind}:" + hashlib.sha256(value.encode()).hexdigest()
