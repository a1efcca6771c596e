"""The Security page: turn two-step sign-in (TOTP) on and off, and renew recovery codes.

Everything goes through `MfaService` (the same state and rules as /api/auth/mfa):
enrolment shows the QR code as a `data:` image (allowed by the CSP's img-src) and
the secret for manual entry, then waits for a first code; recovery codes appear
once, on the response that made them. Renewing them needs a current code, and so
does turning MFA off (a recovery code also works there, for a lost phone).
Every wrong code is an `mfa_failed` security event, so guessing here is counted
by the same brute-force rules as the sign-in.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from aiohttp import web

from pierre.auth.principal import Principal
from pierre.dashboard import render
from pierre.dashboard.render import Markup, tag
from pierre.dashboard.routes import DASHBOARD, MFA_MISSING, _page, join_blocks, signed_in
from pierre.dashboard.session import Session
from pierre.dashboard.web import message_page, see_other
from pierre.errors import AuthError, PierreError
from pierre.security.events import account_key

if TYPE_CHECKING:
    from pierre.security.mfa import MfaService
    from pierre.services import Services

TITLE = "Security"


# -- rendering (pure) -------------------------------------------------------------------
def qr_data_uri(svg: str) -> str:
    """The QR code as an image URL the page can show without inline markup or a route."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _code_input(id_: str, label: str = "Code from your authenticator app") -> Markup:
    return tag("label", [label, tag("input", type="text", name="code", id=id_,
                                    autocomplete="one-time-code", inputmode="numeric",
                                    maxlength="32", required=True)])


def status_body(enabled: bool, csrf: str) -> Markup:
    """What the page shows outside enrolment: the state and what can be done next."""
    if not enabled:
        return tag("div", [
            tag("p", ["Two-step sign-in is ", tag("strong", "off", id="mfa-state"), "."]),
            tag("p", "With it on, signing in needs your password and a 6-digit code from an "
                     "authenticator app (Aegis, Google Authenticator, 1Password…).",
                class_="muted"),
            render.post_button("/dashboard/security/enable",
                               "Enable two-factor authentication", csrf, id_="mfa-enable"),
        ], class_="card")
    return join_blocks(
        tag("div", [
            tag("p", ["Two-step sign-in is ", tag("strong", "on", id="mfa-state"), "."]),
            tag("p", "Signing in asks for a code from your authenticator app, or one of your "
                     "recovery codes.", class_="muted")], class_="card"),
        tag("h2", "Recovery codes"),
        tag("form", [
            render.csrf_field(csrf),
            tag("p", "New codes replace all the old ones.", class_="muted"),
            _code_input("regen-code"),
            tag("button", "Regenerate recovery codes", type="submit", id="mfa-regenerate"),
        ], method="post", action="/dashboard/security/recovery-codes", class_="stack card"),
        tag("h2", "Turn off"),
        tag("form", [
            render.csrf_field(csrf),
            _code_input("disable-code", "Current code (or a recovery code)"),
            tag("button", "Disable two-factor authentication", type="submit",
                id="mfa-disable", class_="danger",
                data_confirm="Turn off two-step sign-in for this account?"),
        ], method="post", action="/dashboard/security/disable", class_="stack card"),
    )


def confirm_form(csrf: str) -> Markup:
    return tag("form", [
        render.csrf_field(csrf),
        _code_input("confirm-code", "Code shown by the app"),
        tag("button", "Confirm", type="submit", id="mfa-confirm"),
    ], method="post", action="/dashboard/security/confirm", class_="stack card")


def enrolment_body(enrolment: dict[str, Any], csrf: str) -> Markup:
    """Step 1: the QR code and the secret (this response only), then the confirm form."""
    return join_blocks(
        tag("div", [
            tag("p", "Scan this code with your authenticator app:"),
            tag("img", "", src=qr_data_uri(enrolment["qr_svg"]), alt="QR code for your "
                "authenticator app", class_="qr", id="mfa-qr"),
            tag("p", "Or type this key into the app (time-based, "
                     f"{enrolment['digits']} digits, every {enrolment['period']} s):"),
            tag("code", enrolment["secret"], class_="secret", id="mfa-secret"),
            tag("button", "Copy", type="button", data_copy="mfa-secret", id="copy-secret"),
        ], class_="card"),
        tag("h2", "Confirm"),
        tag("p", "Two-step sign-in is on once you enter the code the app shows now.",
            class_="muted"),
        confirm_form(csrf),
    )


def pending_body(csrf: str) -> Markup:
    """After a wrong first code: retry, or start over with a new key (a new QR code)."""
    return join_blocks(
        confirm_form(csrf),
        tag("p", "Lost the QR code? Start over with a new key:", class_="muted"),
        render.post_button("/dashboard/security/enable", "Start over", csrf,
                           id_="mfa-restart"),
    )


def recovery_body(codes: list[str]) -> Markup:
    """The recovery codes, shown once: each works a single time instead of a code."""
    return tag("div", [
        tag("p", "Save these recovery codes now: they are shown only once. Each one signs "
                 "you in once if you lose your phone."),
        tag("pre", "\n".join(codes), class_="secret", id="recovery-codes"),
        tag("button", "Copy", type="button", data_copy="recovery-codes", id="copy-codes"),
        tag("p", tag("a", "Done", href="/dashboard/security?done=mfa-on")),
    ], class_="card")


# -- handlers ---------------------------------------------------------------------------
def _mfa(services: Services) -> MfaService | None:
    return getattr(services.security, "mfa", None)


def _unavailable(request: web.Request, principal: Principal, sess: Session) -> web.Response:
    return message_page("Security", "Two-step sign-in is not available on this server.",
                        status=503, principal=principal,
                        csrf=request.app[DASHBOARD].csrf(request, sess))


async def _status_page(request: web.Request, principal: Principal, sess: Session,
                       mfa: MfaService, *, error: str | None = None,
                       status: int = 200) -> web.Response:
    enabled = await mfa.enabled(principal.tenant_id, principal.user_id)
    if enabled:  # the banner may be stale on the request that just turned MFA on
        request[MFA_MISSING] = False
    resp = _page(request, principal, sess, TITLE,
                 status_body(enabled, request.app[DASHBOARD].csrf(request, sess)), "security",
                 error=error)
    resp.set_status(status)
    return resp


def _refusal_status(exc: PierreError) -> int:
    """A wrong code is a form error on a signed-in page (400), not a lost session (401)."""
    return 400 if type(exc) is AuthError else exc.http_status


async def _guard(request: web.Request, principal: Principal) -> None:
    """Refuse while the account or address is locked (e.g. by the brute-force rules)."""
    security = request.app[DASHBOARD].services.security
    if security is not None:
        await security.check_allowed(ip=request.remote, user_id=principal.user_id,
                                     account=account_key(principal.email or ""))


@signed_in
async def security_page(request: web.Request, principal: Principal, sess: Session
                        ) -> web.StreamResponse:
    mfa = _mfa(request.app[DASHBOARD].services)
    if mfa is None:
        return _unavailable(request, principal, sess)
    return await _status_page(request, principal, sess, mfa)


@signed_in
async def enable(request: web.Request, principal: Principal, sess: Session
                 ) -> web.StreamResponse:
    mfa = _mfa(request.app[DASHBOARD].services)
    if mfa is None:
        return _unavailable(request, principal, sess)
    try:
        enrolment = await mfa.enroll(principal.tenant_id, principal.user_id,
                                     principal.email or principal.user_id)
    except PierreError as exc:
        return await _status_page(request, principal, sess, mfa, error=exc.message,
                                  status=exc.http_status)
    body = enrolment_body(enrolment, request.app[DASHBOARD].csrf(request, sess))
    return _page(request, principal, sess, "Set up two-step sign-in", body, "security-enrol")


@signed_in
async def confirm(request: web.Request, principal: Principal, sess: Session
                  ) -> web.StreamResponse:
    mfa = _mfa(request.app[DASHBOARD].services)
    if mfa is None:
        return _unavailable(request, principal, sess)
    form = await request.post()
    csrf = request.app[DASHBOARD].csrf(request, sess)
    try:
        await _guard(request, principal)
        out = await mfa.verify(principal.tenant_id, principal.user_id,
                               str(form.get("code") or ""), ip=request.remote)
    except AuthError as exc:
        resp = _page(request, principal, sess, "Set up two-step sign-in", pending_body(csrf),
                     "security-enrol", error=exc.message)
        resp.set_status(_refusal_status(exc))
        return resp
    except PierreError as exc:  # no enrolment started (or it was reset meanwhile)
        return await _status_page(request, principal, sess, mfa,
                                  error="Start with “Enable two-factor authentication”.",
                                  status=exc.http_status)
    codes = out.get("recovery_codes")
    if not codes:  # already on: nothing new to show
        raise see_other("/dashboard/security")
    request[MFA_MISSING] = False
    return _page(request, principal, sess, TITLE, recovery_body(list(codes)),
                 "security-codes", flash="Two-step sign-in is on.")


@signed_in
async def regenerate(request: web.Request, principal: Principal, sess: Session
                     ) -> web.StreamResponse:
    mfa = _mfa(request.app[DASHBOARD].services)
    if mfa is None:
        return _unavailable(request, principal, sess)
    form = await request.post()
    try:
        await _guard(request, principal)
        codes = await mfa.new_recovery_codes(principal.tenant_id, principal.user_id,
                                             str(form.get("code") or ""), ip=request.remote)
    except PierreError as exc:
        return await _status_page(request, principal, sess, mfa, error=exc.message,
                                  status=_refusal_status(exc))
    return _page(request, principal, sess, TITLE, recovery_body(codes), "security-codes",
                 flash="New recovery codes: the old ones no longer work.")


@signed_in
async def disable(request: web.Request, principal: Principal, sess: Session
                  ) -> web.StreamResponse:
    mfa = _mfa(request.app[DASHBOARD].services)
    if mfa is None:
        return _unavailable(request, principal, sess)
    form = await request.post()
    code = str(form.get("code") or "").strip()
    try:
        await _guard(request, principal)
        if not code:
            raise AuthError("enter a current code (or a recovery code) to turn this off")
        # The sign-in check: a fresh TOTP step or an unused recovery code, failures
        # counted under the account like a wrong sign-in code.
        checked = await mfa.check_login(principal.tenant_id, principal.user_id,
                                        principal.role, code, ip=request.remote,
                                        account=account_key(principal.email or ""))
        if checked:
            await mfa.disable(principal.tenant_id, principal.user_id, by=principal.user_id)
    except PierreError as exc:
        return await _status_page(request, principal, sess, mfa, error=exc.message,
                                  status=_refusal_status(exc))
    raise see_other("/dashboard/security?done=mfa-off")


def setup(app: web.Application, services: Services) -> None:
    r = app.router
    r.add_get("/dashboard/security", security_page)
    r.add_post("/dashboard/security/enable", enable)
    r.add_post("/dashboard/security/confirm", confirm)
    r.add_post("/dashboard/security/recovery-codes", regenerate)
    r.add_post("/dashboard/security/disable", disable)
