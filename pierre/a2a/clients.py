"""A2A client credentials: registration, OAuth2 client_credentials tokens, bearer auth.

A client belongs to one tenant and user and acts as that user. The secret is
shown once and stored as an scrypt hash. Tokens are opaque, short-lived
(`[a2a] client_token_ttl_s`) and kept hashed in the shared cache, so any
instance can check them and revoking the client stops them at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from pierre.auth.principal import Principal
from pierre.errors import AuthError, ServiceUnavailable
from pierre.services import Services

TOKEN_PREFIX = "a2at_"
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


def _token_key(token: str) -> str:
    return "a2a:tok:" + hashlib.sha256(token.encode()).hexdigest()


def client_json(rec: Any) -> dict[str, Any]:
    def ts(v: datetime | None) -> str | None:
        return v.isoformat() if v else None

    return {"client_id": rec.id, "name": rec.name, "description": rec.description,
            "tenant_id": rec.tenant_id, "user_id": rec.user_id,
            "created_at": ts(rec.created_at), "revoked_at": ts(rec.revoked_at),
            "last_seen": ts(rec.last_used_at)}


async def _tier_of(services: Services, tenant_id: str) -> str:
    try:
        tenant = await services.db.get_tenant(tenant_id)
    except Exception:
        return "starter"
    settings = getattr(tenant, "settings", None) or {}
    tier = settings.get("tier") if isinstance(settings, dict) else None
    return tier if isinstance(tier, str) else "starter"


async def register(services: Services, owner: Principal, name: str, description: str
                   ) -> dict[str, Any]:
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    hashed = await asyncio.to_thread(hash_secret, secret)
    rec = await services.db.create_a2a_client(owner.tenant_id, owner.user_id, name=name,
                                              description=description, secret_hash=hashed)
    return {**client_json(rec), "client_secret": secret}


async def issue_token(services: Services, client_id: str, client_secret: str) -> dict[str, Any]:
    """OAuth2 client_credentials; raise AuthError for an unknown, revoked or wrong client."""
    if services.cache is None:
        raise ServiceUnavailable("token store is not available")
    rec = await services.db.get_a2a_client(client_id) if client_id else None
    ok = rec is not None and rec.revoked_at is None and await asyncio.to_thread(
        verify_secret, client_secret, rec.secret_hash)
    if not ok or rec is None:
        raise AuthError("invalid client credentials")
    ttl = services.config.a2a.client_token_ttl_s
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    claims = {"client_id": rec.id, "tenant_id": rec.tenant_id, "user_id": rec.user_id,
              "tier": await _tier_of(services, rec.tenant_id)}
    await services.cache.set(_token_key(token), orjson.dumps(claims), ttl)
    return {"access_token": token, "token_type": "Bearer", "expires_in": ttl}


async def authenticate(services: Services, token: str, ip: str | None) -> Principal:
    """An A2A client token, else a user's JWT or API key through the shared authenticator."""
    if token.startswith(TOKEN_PREFIX):
        raw = await services.cache.get(_token_key(token)) if services.cache else None
        if raw is None:
            raise AuthError("the access token is invalid or expired")
        claims = orjson.loads(raw)
        rec = await services.db.get_a2a_client(claims["client_id"])
        if rec is None or rec.revoked_at is not None:
            raise AuthError("the A2A client has been revoked")
        now = datetime.now(UTC)
        last = rec.last_used_at
        if last is None or (now - (last if last.tzinfo else last.replace(tzinfo=UTC))
                            ) > TOUCH_EVERY:
            await services.db.touch_a2a_client(rec.id, now)
        await _count_use(services, rec.id)
        return Principal(tenant_id=rec.tenant_id, user_id=rec.user_id, role="user",
                         tier=claims.get("tier", "starter"), method="a2a_client",
                         credential_id=rec.id)
    if services.authenticator is None:
        raise AuthError("authentication is not available")
    return await services.authenticator.authenticate(token, transport="a2a", ip=ip)


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
