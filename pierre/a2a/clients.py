"""A2A client credentials: registration, OAuth2 client_credentials tokens, bearer auth.

A client belongs to one tenant and user and acts as that user. The secret is
shown once and stored as an scrypt hash. Tokens are short-lived JWTs signed by
the identity service's keys (`[a2a] client_token_ttl_s`), so any instance checks
them without shared state; their audience is Pierre's A2A endpoint only (MCP and
REST refuse them), and revoking the client stops them at the next request.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from pierre.auth.principal import Principal
from pierre.auth.tokens import TokenService
from pierre.errors import AuthError
from pierre.services import Services

CLIENT_CLAIM = "a2a_client"
SECRET_PREFIX = "a2as_"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
USAGE_WINDOW_S = 30 * 86_400
TOUCH_EVERY = timedelta(seconds=60)


def hash_secret(secret: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_secret(secret: str, stored: str) -> bool:
    try:
        scheme, salt_hex, digest_hex = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hash_secret(secret, bytes.fromhex(salt_hex)).split("$")[2]
    return hmac.compare_digest(candidate, digest_hex)


def audience(services: Services) -> str:
    """The audience of client tokens: not the MCP/REST one, so they only open /a2a."""
    return f"{services.config.security.jwt_audience}#a2a"


def _tokens(services: Services) -> TokenService:
    ts = services.extras.get("a2a_tokens")
    if ts is None:
        sec = services.config.security
        ts = TokenService(services.db, services.crypto, issuer=sec.jwt_issuer,
                          audience=audience(services), algorithm=sec.jwt_algorithm,
                          ttl_s=services.config.a2a.client_token_ttl_s)
        services.extras["a2a_tokens"] = ts
    return ts


def _unverified_claims(token: str) -> dict[str, Any] | None:
    """Claims for routing only (which verifier to use); never trusted before `verify`."""
    if token.count(".") != 2:
        return None
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return claims


def client_json(rec: Any) -> dict[str, Any]:
    def ts(v: datetime | None) -> str | None:
        return v.isoformat() if v else None

    return {"client_id": rec.id, "name": rec.name, "description": rec.description,
            "tenant_id": rec.tenant_id, "user_id": rec.user_id,
            "created_at": ts(rec.created_at), "revoked_at": ts(rec.revoked_at),
            "last_seen": ts(rec.last_used_at)}


async def tier_of(services: Services, tenant_id: str) -> str:
    """The tenant's plan, as the identity service puts it in users' tokens."""
    tenant = await services.db.get_tenant(tenant_id)
    settings = getattr(tenant, "settings", None) or {}
    tier = settings.get("tier") if isinstance(settings, dict) else None
    return tier if isinstance(tier, str) and tier else "starter"


async def register(services: Services, owner: Principal, name: str, description: str
                   ) -> dict[str, Any]:
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    hashed = await asyncio.to_thread(hash_secret, secret)
    rec = await services.db.create_a2a_client(owner.tenant_id, owner.user_id, name=name,
                                              description=description, secret_hash=hashed)
    return {**client_json(rec), "client_secret": secret}


async def issue_token(services: Services, client_id: str, client_secret: str) -> dict[str, Any]:
    """OAuth2 client_credentials; raise AuthError for an unknown, revoked or wrong client."""
    rec = await services.db.get_a2a_client(client_id) if client_id else None
    ok = rec is not None and rec.revoked_at is None and await asyncio.to_thread(
        verify_secret, client_secret, rec.secret_hash)
    if not ok or rec is None:
        raise AuthError("invalid client credentials")
    ttl = services.config.a2a.client_token_ttl_s
    acting = Principal(tenant_id=rec.tenant_id, user_id=rec.user_id, role="user",
                       tier=await tier_of(services, rec.tenant_id), method="a2a_client",
                       credential_id=rec.id)
    token, ttl = await _tokens(services).issue(acting, ttl_s=ttl, extra={CLIENT_CLAIM: rec.id})
    return {"access_token": token, "token_type": "Bearer", "expires_in": ttl}


async def authenticate(services: Services, token: str, ip: str | None) -> Principal:
    """An A2A client token, else a user's JWT or API key through the shared authenticator."""
    claims = _unverified_claims(token)
    if claims is not None and claims.get("aud") == audience(services):
        return await _client_principal(services, token)
    if services.authenticator is None:
        raise AuthError("authentication is not available")
    return await services.authenticator.authenticate(token, transport="a2a", ip=ip)


async def _client_principal(services: Services, token: str) -> Principal:
    verified = await _tokens(services).verify(token)  # signature, issuer, audience
    claims = _unverified_claims(token) or {}
    client_id = claims.get(CLIENT_CLAIM)
    # No clock leeway for our own short tokens: expired means expired.
    if not isinstance(client_id, str) or float(claims.get("exp", 0)) <= time.time():
        raise AuthError("the access token is invalid or expired")
    rec = await services.db.get_a2a_client(client_id)
    if rec is None or rec.revoked_at is not None or rec.tenant_id != verified.tenant_id:
        raise AuthError("the A2A client has been revoked")
    now = datetime.now(UTC)
    last = rec.last_used_at
    if last is None or (now - (last if last.tzinfo else last.replace(tzinfo=UTC))
                        ) > TOUCH_EVERY:
        await services.db.touch_a2a_client(rec.id, now)
    await _count_use(services, rec.id)
    return Principal(tenant_id=rec.tenant_id, user_id=rec.user_id, role="user",
                     tier=verified.tier, method="a2a_client", credential_id=rec.id)


async def _count_use(services: Services, client_id: str) -> None:
    rl = services.ratelimiter
    if rl is not None:
        try:
            await rl.incr_window(f"a2a:usage:{client_id}", USAGE_WINDOW_S)
        except Exception:  # usage counting must never fail a call
            pass


async def usage(services: Services, rec: Any) -> dict[str, Any]:
    calls = 0
    if services.ratelimiter is not None:
        try:
            calls = await services.ratelimiter.get_window(f"a2a:usage:{rec.id}")
        except Exception:
            calls = 0
    return {"client_id": rec.id, "calls_30d": calls,
            "last_seen": rec.last_used_at.isoformat() if rec.last_used_at else None}
