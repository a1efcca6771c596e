"""Glue between aiohttp and the dashboard: who is signed in, cookies, security headers."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING, Any, cast

import structlog
from aiohttp import web

from pierre.auth.principal import Principal, Role
from pierre.dashboard import render
from pierre.dashboard.session import SESSION_COOKIE, SESSION_TTL_S, Session, SessionCodec

if TYPE_CHECKING:
    from pierre.services import Services

log = structlog.get_logger("pierre.dashboard")

LOGIN_NONCE_COOKIE = "pierre_login"
MFA_PENDING_COOKIE = "pierre_mfa"
# Time between a correct password and the second factor.
MFA_PENDING_TTL_S = 300
# No inline script or style anywhere; data for charts travels in JSON blocks.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


class Dashboard:
    """Per-app dashboard state: the session codec and the services."""

    def __init__(self, services: Services, key: bytes) -> None:
        self.services = services
        self.sessions = SessionCodec(key)
        # Its own key: a pending-MFA cookie never verifies as a session cookie.
        self.pending = SessionCodec(hmac.new(key, b"mfa-pending", hashlib.sha256).digest())

    @property
    def secure_cookies(self) -> bool:
        cfg = self.services.config.http
        return bool(cfg.tls_cert) or (cfg.public_url or "").startswith("https://")

    def session(self, request: web.Request) -> Session | None:
        return self.sessions.read(request.cookies.get(SESSION_COOKIE))

    async def principal(self, request: web.Request) -> tuple[Principal | None, Session | None]:
        """The signed-in user, re-read from the database on every request."""
        sess = self.session(request)
        if sess is None or self.services.db is None:
            return None, None
        user = await self.services.db.get_user(sess.tenant_id, sess.user_id)
        if user is None or user.status != "active":
            return None, None
        tenant = await self.services.db.get_tenant(sess.tenant_id)
        if tenant is None or tenant.status != "active":
            return None, None
        tier = str(tenant.settings.get("tier") or tenant.settings.get("plan") or "starter")
        return Principal(tenant_id=user.tenant_id, user_id=user.id,
                         role=cast(Role, user.role), tier=tier, method="jwt",
                         email=user.email), sess

    def csrf(self, request: web.Request, sess: Session | None) -> str:
        return self.sessions.csrf_for(sess, request.cookies.get(LOGIN_NONCE_COOKIE))

    def check_csrf(self, request: web.Request, sess: Session | None, form: Any) -> bool:
        origin = request.headers.get("Origin")
        if origin and origin != "null" and not self._same_origin(request, origin):
            return False
        return self.sessions.check_csrf(sess, form.get("csrf"),
                                        request.cookies.get(LOGIN_NONCE_COOKIE))

    def _same_origin(self, request: web.Request, origin: str) -> bool:
        public = self.services.public_http_url()
        return origin.rstrip("/") in (public, f"{request.scheme}://{request.host}")

    def start_session(self, resp: web.StreamResponse, principal: Principal) -> None:
        cookie, _ = self.sessions.issue(principal.tenant_id, principal.user_id)
        resp.set_cookie(SESSION_COOKIE, cookie, max_age=SESSION_TTL_S, path="/",
                        httponly=True, samesite="Lax", secure=self.secure_cookies)
        resp.del_cookie(LOGIN_NONCE_COOKIE, path="/")

    def end_session(self, resp: web.StreamResponse) -> None:
        resp.del_cookie(SESSION_COOKIE, path="/")

    def start_mfa(self, resp: web.StreamResponse, tenant_id: str, user_id: str) -> None:
        """Remember for a few minutes that this browser passed the password step."""
        cookie, _ = self.pending.issue(tenant_id, user_id, ttl_s=MFA_PENDING_TTL_S)
        resp.set_cookie(MFA_PENDING_COOKIE, cookie, max_age=MFA_PENDING_TTL_S,
                        path="/dashboard/login", httponly=True, samesite="Strict",
                        secure=self.secure_cookies)

    def pending_mfa(self, request: web.Request) -> Session | None:
        return self.pending.read(request.cookies.get(MFA_PENDING_COOKIE))

    def end_mfa(self, resp: web.StreamResponse) -> None:
        resp.del_cookie(MFA_PENDING_COOKIE, path="/dashboard/login")

    def ensure_login_nonce(self, request: web.Request, resp: web.StreamResponse) -> str:
        """Anonymous forms (sign-in) get their CSRF token from a nonce cookie."""
        nonce = request.cookies.get(LOGIN_NONCE_COOKIE)
        if not nonce:
            nonce = secrets.token_urlsafe(16)
            resp.set_cookie(LOGIN_NONCE_COOKIE, nonce, max_age=3600, path="/", httponly=True,
                            samesite="Lax", secure=self.secure_cookies)
        return self.sessions.csrf_for(None, nonce)


def secure(resp: web.StreamResponse, *, csp: str = CSP) -> web.StreamResponse:
    resp.headers["Content-Security-Policy"] = csp
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers.setdefault("Cache-Control", "no-store")
    return resp


def html_response(body: str, *, status: int = 200, csp: str = CSP) -> web.Response:
    resp = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
    secure(resp, csp=csp)
    return resp


def see_other(location: str) -> web.HTTPSeeOther:
    exc = web.HTTPSeeOther(location)
    secure(exc)
    return exc


def message_page(title: str, text: str, *, status: int, principal: Principal | None = None,
                 csrf: str = "") -> web.Response:
    body = render.tag("p", text, class_="card")
    return html_response(render.page(title, body, principal=principal, csrf=csrf,
                                     page_id="message"), status=status)
