"""TOTP (RFC 6238 over RFC 4226 HOTP) and single-use recovery codes, pure and I/O-free.

Parameters are the ones every authenticator app defaults to: SHA-1, 30 s steps,
6 digits. Verification accepts the current and the previous step (clock skew,
a code typed just before the boundary) and returns the matched step, so the
caller can refuse a code whose step is not newer than the last one accepted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from urllib.parse import quote, urlencode

STEP_S = 30
DIGITS = 6
SECRET_BYTES = 20  # 160 bits, the RFC 4226 recommended HMAC-SHA-1 key length
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i look-alikes


def new_secret() -> str:
    """A random base32 secret without padding, as authenticator apps expect it."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode().rstrip("=")


def _key(secret_b32: str) -> bytes:
    s = secret_b32.strip().replace(" ", "").upper()
    return base64.b32decode(s + "=" * (-len(s) % 8))


def hotp(key: bytes, counter: int, digits: int = DIGITS, digest: str = "sha1") -> str:
    """RFC 4226 section 5.3: dynamic truncation of HMAC(key, counter)."""
    mac = hmac.new(key, struct.pack(">Q", counter), digest).digest()
    offset = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return str(code).zfill(digits)


def step_at(unix_time: float, step_s: int = STEP_S) -> int:
    return int(unix_time // step_s)


def totp(secret_b32: str, unix_time: float, *, digits: int = DIGITS, step_s: int = STEP_S,
         digest: str = "sha1") -> str:
    return hotp(_key(secret_b32), step_at(unix_time, step_s), digits, digest)


def verify(secret_b32: str, code: str, unix_time: float, *, last_step: int | None = None,
           look_back: int = 1) -> int | None:
    """The step `code` matches (current or up to `look_back` earlier), else None.

    A step at or before `last_step` is refused: a code is good once.
    """
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    key = _key(secret_b32)
    now = step_at(unix_time)
    for step in range(now, now - look_back - 1, -1):
        if last_step is not None and step <= last_step:
            return None
        if hmac.compare_digest(hotp(key, step), code):
            return step
    return None


def otpauth_uri(secret_b32: str, account: str, issuer: str) -> str:
    """Key URI format understood by Google Authenticator, Aegis, 1Password and others."""
    label = quote(f"{issuer}:{account}", safe="@:")
    query = urlencode({"secret": secret_b32, "issuer": issuer, "algorithm": "SHA1",
                       "digits": DIGITS, "period": STEP_S})
    return f"otpauth://totp/{label}?{query}"


def qr_svg(data: str) -> str:
    """An SVG QR code of `data` (segno: pure Python, no image stack needed)."""
    import io

    import segno

    buf = io.BytesIO()
    segno.make(data, error="m").save(buf, kind="svg", scale=4, xmldecl=False)
    return buf.getvalue().decode()


# -- recovery codes ---------------------------------------------------------------
def new_recovery_codes(n: int = RECOVERY_CODES) -> list[str]:
    """Ten codes of 10 random characters (~49 bits each), shown once as xxxxx-xxxxx."""
    out = []
    for _ in range(n):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        out.append(f"{raw[:5]}-{raw[5:]}")
    return out


def normalize_recovery_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def hash_recovery_code(code: str) -> str:
    """SHA-256 is enough: the codes are random with ~49 bits, not user-chosen."""
    return hashlib.sha256(normalize_recovery_code(code).encode()).hexdigest()


def use_recovery_code(hashes: list[str], code: str) -> list[str] | None:
    """The remaining hashes after spending `code`, or None when it is not one of them."""
    digest = hash_recovery_code(code)
    for i, h in enumerate(hashes):
        if hmac.compare_digest(h, digest):
            return hashes[:i] + hashes[i + 1:]
    return None
