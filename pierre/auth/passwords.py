"""Password hashing with scrypt (N=2^14, r=8, p=1: the scrypt paper's interactive-login
parameters), parameters stored in the hash so they can be raised later."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os

N, R, P, DKLEN = 2**14, 8, 1, 32
_MAXMEM = 64 * 1024 * 1024


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode().rstrip("=")


def _unb64(s: str) -> bytes:
    return base64.b64decode(s + "=" * (-len(s) % 4))


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    dk = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, dklen=DKLEN, maxmem=_MAXMEM)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(dk)}"


def verify_password(password: str, encoded: str | None) -> bool:
    """Constant-time check; a missing or malformed hash never matches."""
    if not encoded:
        hashlib.scrypt(b"x", salt=b"0" * 16, n=N, r=R, p=P, dklen=DKLEN, maxmem=_MAXMEM)
        return False
    try:
        scheme, n, r, p, salt, dk = encoded.split("$")
        if scheme != "scrypt":
            return False
        want = _unb64(dk)
        got = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r),
                             p=int(p), dklen=len(want), maxmem=_MAXMEM)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


async def hash_password_async(password: str) -> str:
    """scrypt takes tens of milliseconds: keep it off the event loop."""
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password: str, encoded: str | None) -> bool:
    return await asyncio.to_thread(verify_password, password, encoded)
