"""JWT access tokens: asymmetric signatures with `kid`, keys kept encrypted in the database.

Verification is pure CPU once keys are loaded. A token verified once is kept
in a small map until it expires: an access token is immutable, so the cached
answer is the answer, and repeat calls on a connection cost a dict lookup.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)
from jwt.algorithms import OKPAlgorithm, RSAAlgorithm

from pierre.auth.principal import Principal
from pierre.errors import AuthError

ROLES = ("user", "tenant_admin", "admin")
_CACHE_MAX = 10_000
# Another process (CLI rotation, a second daemon) may add a key: re-read at most this often.
_RELOAD_S = 5.0
_WHERE = {"tenant_id": "", "user_id": "", "table": "signing_keys", "column": "private_key_enc"}


def _public_jwk(algorithm: str, private: Any, kid: str) -> dict[str, Any]:
    algo = OKPAlgorithm() if algorithm == "EdDSA" else RSAAlgorithm(RSAAlgorithm.SHA256)
    jwk: dict[str, Any] = algo.to_jwk(private.public_key(), as_dict=True)
    jwk.update({"kid": kid, "alg": algorithm, "use": "sig"})
    return jwk


class TokenService:
    def __init__(self, db: Any, crypto: Any, *, issuer: str, audience: str, algorithm: str,
                 ttl_s: int) -> None:
        self.db, self.crypto = db, crypto
        self.issuer, self.audience, self.algorithm, self.ttl_s = issuer, audience, algorithm, ttl_s
        self._public: dict[str, Any] = {}  # kid -> public key object
        self._jwks: list[dict[str, Any]] = []
        self._signing: tuple[str, Any] | None = None
        self._loaded_at = 0.0
        self._cache: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    # -- keys --------------------------------------------------------------------------
    async def load(self, *, create: bool = True) -> None:
        records = [r for r in await self.db.list_signing_keys() if r.algorithm == self.algorithm]
        if not records and create:
            await self.rotate()
            return
        public, jwks, signing = {}, [], None
        for rec in records:
            pem = self.crypto.decrypt(rec.private_key_enc, **_WHERE)
            private = load_pem_private_key(pem, password=None)
            public[rec.kid] = private.public_key()
            jwks.append(rec.public_jwk)
            if rec.retired_at is None:
                signing = (rec.kid, private)  # newest active key signs
        self._public, self._jwks, self._signing = public, jwks, signing
        self._loaded_at = time.monotonic()

    async def rotate(self) -> str:
        """Add a new signing key; older keys keep verifying until their tokens expire."""
        private: Any = (ed25519.Ed25519PrivateKey.generate() if self.algorithm == "EdDSA"
                        else rsa.generate_private_key(public_exponent=65537, key_size=2048))
        kid = secrets.token_hex(8)
        pem = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        await self.db.add_signing_key(kid, self.algorithm, self.crypto.encrypt(pem, **_WHERE),
                                      _public_jwk(self.algorithm, private, kid))
        for rec in await self.db.list_signing_keys():
            if rec.kid != kid and rec.retired_at is None:
                await self.db.retire_signing_key(rec.kid, datetime.now(UTC))
        await self.load(create=False)
        return kid

    async def jwks(self) -> dict[str, Any]:
        if not self._jwks or time.monotonic() - self._loaded_at > _RELOAD_S:
            await self.load()
        return {"keys": list(self._jwks)}

    # -- issue and verify ----------------------------------------------------------------
    async def issue(self, p: Principal, *, ttl_s: int | None = None,
                    extra: dict[str, Any] | None = None) -> tuple[str, int]:
        """Sign an access token; `extra` claims ride along (the standard ones win)."""
        if self._signing is None:
            await self.load()
        assert self._signing is not None
        kid, private = self._signing
        issued = time.time()
        now = int(issued)
        ttl = ttl_s or self.ttl_s
        # `iat` to the millisecond (RFC 7519 NumericDate allows fractions): a forced
        # re-authentication must tell a token from just before it from one just after.
        claims = {"iss": self.issuer, "aud": self.audience, "sub": p.user_id,
                  "tenant": p.tenant_id, "role": p.role, "tier": p.tier,
                  "iat": round(issued, 3), "exp": now + ttl, "jti": secrets.token_hex(8)}
        if p.email:
            claims["email"] = p.email
        if extra:
            claims = {**extra, **claims}
        token = jwt.encode(claims, private, algorithm=self.algorithm, headers={"kid": kid})
        return token, ttl

    async def verify(self, token: str) -> Principal:
        hit = self._cache.get(token)
        if hit is not None and hit[0] > time.time():
            return hit[1]
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError("malformed token") from None
        if header.get("alg") != self.algorithm:
            raise AuthError(f"token algorithm must be {self.algorithm}")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise AuthError("token has no key id (kid)")
        key = self._public.get(kid)
        if key is None and time.monotonic() - self._loaded_at > _RELOAD_S:
            await self.load()
            key = self._public.get(kid)
        if key is None:
            raise AuthError("token signed by an unknown key")
        try:
            claims = jwt.decode(
                token, key, algorithms=[self.algorithm], audience=self.audience,
                issuer=self.issuer, leeway=5,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "tenant"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("token expired") from None
        except jwt.InvalidAudienceError:
            raise AuthError("token audience is not this server") from None
        except jwt.InvalidIssuerError:
            raise AuthError("token issuer is not this server") from None
        except jwt.PyJWTError:
            raise AuthError("invalid token") from None
        role, tenant, sub = claims.get("role", "user"), claims["tenant"], claims["sub"]
        if role not in ROLES or not isinstance(tenant, str) or not isinstance(sub, str):
            raise AuthError("invalid token claims")
        principal = Principal(tenant_id=tenant, user_id=sub, role=role,
                              tier=str(claims.get("tier", "starter")), method="jwt",
                              email=claims.get("email"),
                              issued_at=float(claims["iat"]))
        self._cache[token] = (float(claims["exp"]), principal)
        if len(self._cache) > _CACHE_MAX:
            self._cache.popitem(last=False)
        return principal

    def forget(self, token: str) -> None:
        self._cache.pop(token, None)
