"""Browser sessions and CSRF tokens: signed cookies, no server-side session table.

The session cookie carries (tenant, user, expiry, nonce) under an HMAC; every
request still reads the user from the database, so disabling a user or
changing a role takes effect at once. The CSRF token is an HMAC of the session
nonce (the "signed double submit" pattern): a page of another site can neither
read nor forge it, and it changes with every sign-in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import orjson

SESSION_COOKIE = "pierre_session"
SESSION_TTL_S = 12 * 3600


@dataclass(frozen=True, slots=True)
class Session:
    tenant_id: str
    user_id: str
    expires_at: int
    nonce: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionCodec:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, label: str, data: str) -> str:
        return _b64(hmac.new(self._key, f"{label}:{data}".encode(), hashlib.sha256).digest())

    def issue(self, tenant_id: str, user_id: str, *, ttl_s: int = SESSION_TTL_S,
              now: float | None = None) -> tuple[str, Session]:
        expires = int((now if now is not None else time.time()) + ttl_s)
        sess = Session(tenant_id, user_id, expires, secrets.token_urlsafe(16))
        body = _b64(orjson.dumps([sess.tenant_id, sess.user_id, sess.expires_at, sess.nonce]))
        return f"{body}.{self._mac('session', body)}", sess

    def read(self, cookie: str | None, *, now: float | None = None) -> Session | None:
        """The session in `cookie`, or None when absent, forged or expired."""
        if not cookie or cookie.count(".") != 1 or len(cookie) > 1024:
            return None
        body, mac = cookie.split(".")
        if not hmac.compare_digest(mac, self._mac("session", body)):
            return None
        try:
            tid, uid, exp, nonce = orjson.loads(_unb64(body))
        except (ValueError, orjson.JSONDecodeError):
            return None
        if int(exp) < (now if now is not None else time.time()):
            return None
        return Session(str(tid), str(uid), int(exp), str(nonce))

    def csrf_for(self, session: Session | None, anon_nonce: str | None = None) -> str:
        """The CSRF token of a session (or of an anonymous form's nonce cookie)."""
        nonce = session.nonce if session is not None else (anon_nonce or "")
        return self._mac("csrf", nonce)

    def check_csrf(self, session: Session | None, token: str | None,
                   anon_nonce: str | None = None) -> bool:
        if not token:
            return False
        if session is None and not anon_nonce:
            return False
        return hmac.compare_digest(token, self.csrf_for(session, anon_nonce))
