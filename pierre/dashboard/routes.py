"""The dashboard's pages under /dashboard: sign-in, providers, keys, usage, training.

Server-rendered HTML; every POST carries a CSRF token; every response has the
dashboard's security headers. Tenant and server admin pages live in `admin`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote, urlsplit

import structlog
from aiohttp import web

from pierre.auth.principal import Principal, Role
from pierre.dashboard import identity, render, usage
from pierre.dashboard.render import Markup, tag
from pierre.dashboard.session import Session
from pierre.dashboard.web import (
    Dashboard,
    html_response,
    message_page,
    secure,
    see_other,
)
from pierre.errors import AuthError, PierreError, RateLimited
from pierre.security.events import account_key
from pierre.services import Services

log = structlog.get_logger("pierre.dashboard")

DASHBOARD: web.AppKey[Dashboard] = web.AppKey("dashboard", Dashboard)
STATIC = Path(__file__).parent / "static"
Page = Callable[[web.Request, Principal, Session], Awaitable[web.StreamResponse]]


def _safe_next(value: str | None) -> str:
    """Only local paths after sign-in: never an open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/dashboard/"
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else "/dashboard/"


def signed_in(handler: Page) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Run `handler` for a signed-in user; check CSRF on POST; else go to sign-in."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        dash = request.app[DASHBOARD]
        principal, sess = await dash.principal(request)
        if principal is None or sess is None:
            if request.method != "GET":
                return message_page("Signed out", "Your session has ended; sign in again.",
                                    status=401)
            raise see_other(f"/dashboard/login?next={quote(request.path_qs, safe='')}")
        if request.method == "POST":
            form = await request.post()
            if not dash.check_csrf(request, sess, form):
                return message_page("Refused", "The form expired or came from another site; "
                                    "reload the page and try again.", status=403,
                                    principal=principal, csrf=dash.csrf(request, sess))
        request[MFA_MISSING] = await _admin_without_mfa(dash.services, principal)
        return await handler(request, principal, sess)

    return wrapper


# Request key: this admin must enrol MFA (`[security] require_admin_mfa`) and has not.
MFA_MISSING: web.RequestKey[bool] = web.RequestKey("mfa_missing", bool)


async def _admin_without_mfa(services: Services, principal: Principal) -> bool:
    """True for a server admin without MFA while the server requires it (the REST
    admin routes refuse such an admin; the dashboard shows a banner on every page)."""
    mfa = getattr(services.security, "mfa", None)
    if mfa is None or principal.role != "admin" or not services.config.security.require_admin_mfa:
        return False
    return not await mfa.enabled(principal.tenant_id, principal.user_id)


def mfa_banner() -> Markup:
    return tag("p", ["Administrators on this server must use two-step sign-in. ",
                     tag("a", "Turn it on now", href="/dashboard/security"), "."],
               class_="error", role="alert", id="mfa-required")


def _page(request: web.Request, principal: Principal, sess: Session, title: str, body: Any,
          page_id: str, **kw: Any) -> web.Response:
    dash = request.app[DASHBOARD]
    flash_text = kw.pop("flash", None) or FLASH.get(request.query.get("done") or "")
    if request.get(MFA_MISSING, False):
        kw["notice"] = mfa_banner()
    return html_response(render.page(title, body, principal=principal,
                                     csrf=dash.csrf(request, sess), page_id=page_id,
                                     flash=flash_text, **kw))


FLASH = {"revoked": "The API key was revoked.", "disconnected": "Provider disconnected.",
         "connected": "Provider connected.", "saved": "Saved.",
         "mfa-off": "Two-step sign-in is off.", "mfa-on": "Two-step sign-in is on."}


# -- sign-in ----------------------------------------------------------------------------
def _login_form(csrf: str, next_: str, error: str | None = None) -> str:
    body = tag("form", [
        render.csrf_field(csrf),
        tag("input", type="hidden", name="next", value=next_),
        tag("label", ["Email", tag("input", type="email", name="email", id="email",
                                   autocomplete="username", required=True)]),
        tag("label", ["Password", tag("input", type="password", name="password",
                                      id="password", autocomplete="current-password",
                                      required=True)]),
        tag("button", "Sign in", type="submit", id="signin"),
    ], method="post", action="/dashboard/login", class_="stack card")
    return render.page("Sign in", body, principal=None, csrf=csrf, page_id="login",
                       error=error)


def _mfa_form(csrf: str, next_: str, error: str | None = None) -> str:
    body = tag("form", [
        render.csrf_field(csrf),
        tag("input", type="hidden", name="next", value=next_),
        tag("p", "Enter the 6-digit code from your authenticator app, or a recovery code."),
        tag("label", ["Code", tag("input", type="text", name="mfa_code", id="mfa-code",
                                  autocomplete="one-time-code", inputmode="numeric",
                                  maxlength="32", required=True)]),
        tag("button", "Verify", type="submit", id="verify"),
    ], method="post", action="/dashboard/login/mfa", class_="stack card")
    return render.page("Two-step sign-in", body, principal=None, csrf=csrf, page_id="mfa",
                       error=error)


async def login_get(request: web.Request) -> web.StreamResponse:
    dash = request.app[DASHBOARD]
    principal, _ = await dash.principal(request)
    next_ = _safe_next(request.query.get("next"))
    if principal is not None:
        raise see_other(next_)
    resp = html_response("")
    csrf = dash.ensure_login_nonce(request, resp)
    resp.text = _login_form(csrf, next_)
    return resp


async def _refused(request: web.Request, exc: PierreError, form: Any, next_: str, *,
                   mfa_step: bool = False) -> web.Response:
    dash = request.app[DASHBOARD]
    services = dash.services
    if services.security is not None and exc.http_status == 401 and not mfa_step:
        await services.security.emit("login_failed", ip=request.remote,
                                     details={"account": account_key(str(form.get("email") or ""))})
    resp = html_response("", status=exc.http_status if exc.http_status != 500 else 503)
    if isinstance(exc, RateLimited):
        resp.headers["Retry-After"] = str(max(1, int(exc.retry_after + 0.999)))
    csrf = dash.ensure_login_nonce(request, resp)
    resp.text = (_mfa_form if mfa_step else _login_form)(csrf, next_, exc.message)
    return resp


async def _signed_in(request: web.Request, user: Any, next_: str) -> web.StreamResponse:
    dash = request.app[DASHBOARD]
    services = dash.services
    principal = Principal(tenant_id=user.tenant_id, user_id=user.id,
                          role=cast(Role, user.role), email=user.email)
    if services.security is not None:
        await services.security.emit("login_succeeded", tenant_id=user.tenant_id,
                                     user_id=user.id, ip=request.remote)
    resp = see_other(next_)
    dash.start_session(resp, principal)
    return resp


async def login_post(request: web.Request) -> web.StreamResponse:
    dash = request.app[DASHBOARD]
    form = await request.post()
    next_ = _safe_next(str(form.get("next") or ""))
    if not dash.check_csrf(request, None, form):
        resp = html_response("", status=403)
        resp.text = _login_form(dash.ensure_login_nonce(request, resp), next_,
                                "The sign-in form expired; please try again.")
        return resp
    services = dash.services
    email = str(form.get("email") or "")
    try:
        if services.limits is not None and hasattr(services.limits, "check_login"):
            await services.limits.check_login(request.remote or "")
        if services.security is not None:
            await services.security.check_allowed(ip=request.remote, account=account_key(email))
        user = await identity.check_password(
            services, email, str(form.get("password") or ""), ip=request.remote,
            user_agent=request.headers.get("User-Agent", "")[:200])
        if services.security is not None:
            await services.security.check_allowed(user_id=user.id)
    except PierreError as exc:
        return await _refused(request, exc, form, next_)
    if await identity.mfa_enabled(services, user):
        # Password done; the code comes on the next form. The pending cookie only names
        # the user and cannot be used as a session.
        resp = see_other(f"/dashboard/login/mfa?next={quote(next_, safe='')}")
        dash.start_mfa(resp, user.tenant_id, user.id)
        return resp
    return await _signed_in(request, user, next_)


async def mfa_get(request: web.Request) -> web.StreamResponse:
    dash = request.app[DASHBOARD]
    next_ = _safe_next(request.query.get("next"))
    if dash.pending_mfa(request) is None:
        raise see_other(f"/dashboard/login?next={quote(next_, safe='')}")
    resp = html_response("")
    resp.text = _mfa_form(dash.ensure_login_nonce(request, resp), next_)
    return resp


async def mfa_post(request: web.Request) -> web.StreamResponse:
    dash = request.app[DASHBOARD]
    services = dash.services
    form = await request.post()
    next_ = _safe_next(str(form.get("next") or ""))
    pending = dash.pending_mfa(request)
    if pending is None or not dash.check_csrf(request, None, form):
        raise see_other(f"/dashboard/login?next={quote(next_, safe='')}")
    user = await services.db.get_user(pending.tenant_id, pending.user_id)
    try:
        if user is None or user.status != "active":
            raise AuthError("This account is disabled")
        if services.security is not None:
            await services.security.check_allowed(ip=request.remote, user_id=user.id,
                                                  account=account_key(user.email))
        await identity.check_second_factor(services, user,
                                           str(form.get("mfa_code") or "").strip() or None,
                                           ip=request.remote)
    except PierreError as exc:
        return await _refused(request, exc, form, next_, mfa_step=True)
    resp = await _signed_in(request, user, next_)
    dash.end_mfa(resp)
    return resp


@signed_in
async def logout(request: web.Request, principal: Principal, sess: Session
                 ) -> web.StreamResponse:
    resp = see_other("/dashboard/login")
    request.app[DASHBOARD].end_session(resp)
    await _audit(request.app[DASHBOARD].services, "dashboard.logout", principal, request, {})
    return resp


async def _audit(services: Services, action: str, principal: Principal | None,
                 request: web.Request, details: dict[str, Any]) -> None:
    try:
        await services.db.add_audit(
            action, tenant_id=principal.tenant_id if principal else None,
            user_id=principal.user_id if principal else None, ip=request.remote,
            user_agent=request.headers.get("User-Agent", "")[:200], details=details)
    except Exception:  # the audit write must not break the page; it is logged
        log.warning("audit_failed", action=action)


# -- overview and providers -------------------------------------------------------------
async def _providers(services: Services, principal: Principal) -> list[dict[str, Any]]:
    if services.providers is None:
        return []
    try:
        return list(await services.providers.status(principal))
    except PierreError:
        return []


@signed_in
async def overview(request: web.Request, principal: Principal, sess: Session
                   ) -> web.StreamResponse:
    services = request.app[DASHBOARD].services
    provs = await _providers(services, principal)
    connected = [p["display_name"] for p in provs if p.get("connected")]
    body = tag("div", [
        tag("div", [tag("h2", "Signed in as"), tag("p", principal.email or principal.user_id),
                     tag("p", f"Role: {principal.role} · plan: {principal.tier}",
                         class_="muted")], class_="card"),
        tag("div", [tag("h2", "Providers"),
                     tag("p", ", ".join(connected) if connected else "None connected yet."),
                     tag("a", "Manage providers", href="/dashboard/providers")],
            class_="card"),
        tag("div", [tag("h2", "Connect an AI assistant"),
                     tag("p", "MCP endpoint:"),
                     tag("code", f"{services.public_http_url()}{services.config.mcp.path}",
                         class_="secret", id="mcp-url"),
                     tag("button", "Copy", type="button", data_copy="mcp-url")],
            class_="card"),
    ], class_="grid")
    return _page(request, principal, sess, "Overview", body, "overview")


@signed_in
async def providers_page(request: web.Request, principal: Principal, sess: Session
                         ) -> web.StreamResponse:
    dash = request.app[DASHBOARD]
    csrf = dash.csrf(request, sess)
    rows = []
    for p in await _providers(dash.services, principal):
        name = p["provider"]
        if p.get("connected"):
            action = render.post_button(f"/dashboard/providers/{name}/disconnect",
                                        "Disconnect", csrf, class_="danger",
                                        id_=f"disconnect-{name}")
        else:
            action = render.post_button(f"/dashboard/providers/{name}/connect", "Connect",
                                        csrf, id_=f"connect-{name}")
        status = p.get("status", "")
        if p.get("needs_reauthorization"):
            status = "reconnect needed"
        rows.append((p.get("display_name", name),
                     tag("span", status, id=f"status-{name}"), action))
    body = render.table(["Provider", "Status", ""], rows, id_="providers",
                        empty="No providers are enabled on this server.")
    return _page(request, principal, sess, "Providers", body, "providers")


@signed_in
async def provider_connect(request: web.Request, principal: Principal, sess: Session
                           ) -> web.StreamResponse:
    services = request.app[DASHBOARD].services
    name = request.match_info["name"]
    try:
        out = await services.providers.connect(principal, name)
    except PierreError as exc:
        return _page(request, principal, sess, "Providers", tag("p", exc.message), "providers",
                     error=f"Could not connect {name}")
    await _audit(services, "dashboard.provider_connect", principal, request, {"provider": name})
    url = out.get("authorization_url")
    raise see_other(url if url else "/dashboard/providers?done=connected")


@signed_in
async def provider_disconnect(request: web.Request, principal: Principal, sess: Session
                              ) -> web.StreamResponse:
    services = request.app[DASHBOARD].services
    name = request.match_info["name"]
    try:
        await services.providers.disconnect(principal, name)
    except PierreError as exc:
        return _page(request, principal, sess, "Providers", tag("p", exc.message), "providers",
                     error=f"Could not disconnect {name}")
    await _audit(services, "dashboard.provider_disconnect", principal, request,
                 {"provider": name})
    raise see_other("/dashboard/providers?done=disconnected")


# -- API keys ---------------------------------------------------------------------------
def _keys_table(keys: list[Any], csrf: str) -> Markup:
    rows = []
    for k in keys:
        state = "revoked" if k.revoked_at else "active"
        action = Markup("") if k.revoked_at else render.post_button(
            f"/dashboard/keys/{k.id}/revoke", "Revoke", csrf, class_="danger",
            id_=f"revoke-{k.id}")
        rows.append((k.name, f"{k.prefix}…", k.tier, k.created_at.strftime("%Y-%m-%d %H:%M"),
                     k.last_used_at.strftime("%Y-%m-%d %H:%M") if k.last_used_at else "never",
                     tag("span", state, class_=f"key-{state}"), action))
    return render.table(["Name", "Key", "Plan", "Created", "Last used", "State", ""], rows,
                        id_="keys", empty="No API keys yet.")


def _create_key_form(csrf: str) -> Markup:
    return tag("form", [
        render.csrf_field(csrf),
        tag("label", ["Name", tag("input", type="text", name="name", id="key-name",
                                  maxlength="100", required=True,
                                  placeholder="e.g. Claude Desktop")]),
        tag("button", "Create API key", type="submit", id="create-key"),
    ], method="post", action="/dashboard/keys", class_="stack card")


@signed_in
async def keys_page(request: web.Request, principal: Principal, sess: Session
                    ) -> web.StreamResponse:
    services = request.app[DASHBOARD].services
    csrf = request.app[DASHBOARD].csrf(request, sess)
    keys = await services.db.list_api_keys(principal.tenant_id, principal.user_id)
    body = join_blocks(_create_key_form(csrf), tag("h2", "Your keys"), _keys_table(keys, csrf))
    return _page(request, principal, sess, "API keys", body, "keys")


def join_blocks(*blocks: Markup) -> Markup:
    return Markup("".join(blocks))


@signed_in
async def keys_create(request: web.Request, principal: Principal, sess: Session
                      ) -> web.StreamResponse:
    services = request.app[DASHBOARD].services
    csrf = request.app[DASHBOARD].csrf(request, sess)
    form = await request.post()
    name = str(form.get("name") or "").strip()[:100] or "API key"
    try:
        key, _record = await identity.create_api_key(services, principal, name)
    except PierreError as exc:
        return _page(request, principal, sess, "API keys", _create_key_form(csrf), "keys",
                     error=exc.message)
    keys = await services.db.list_api_keys(principal.tenant_id, principal.user_id)
    shown = tag("div", [
        tag("p", "Copy this key now: it is shown only once."),
        tag("code", key, class_="secret", id="new-key"),
        tag("button", "Copy", type="button", data_copy="new-key", id="copy-key"),
    ], class_="card")
    body = join_blocks(shown, _create_key_form(csrf), tag("h2", "Your keys"),
                       _keys_table(keys, csrf))
    resp = _page(request, principal, sess, "API keys", body, "keys")
    resp.headers["Cache-Control"] = "no-store"
    return resp


@signed_in
async def keys_revoke(request: web.Request, principal: Principal, sess: Session
                      ) -> web.StreamResponse:
    services = request.app[DASHBOARD].services
    key_id = request.match_info["key_id"]
    try:
        ok = await identity.revoke_api_key(services, principal, key_id)
    except PierreError:  # not the caller's key: same answer as an unknown one
        ok = False
    raise see_other("/dashboard/keys?done=revoked" if ok else "/dashboard/keys")


# -- usage ------------------------------------------------------------------------------
def usage_body(summary: dict[str, Any], limits: list[tuple[str, str]]) -> Markup:
    peak = max([n for _, n in summary["per_day"]] + [1])
    day_rows = [(d, n, tag("span", "", class_="bar",
                           data_w=str(round(100 * n / peak)))) for d, n in summary["per_day"]]
    blocks = [
        tag("p", f"{summary['total']} tool calls in the last {len(summary['per_day'])} days "
                 "(MCP, A2A and this dashboard; UTC days).", class_="muted", id="usage-total"),
        tag("h2", "Per day"), render.table(["Day", "Calls", ""], day_rows, id_="per-day"),
        tag("h2", "Per tool"),
        render.table(["Tool", "Calls"], summary["per_tool"], id_="per-tool",
                     empty="No tool calls yet."),
    ]
    if limits:
        blocks += [tag("h2", "Rate limits"), render.table(["Limit", "Value"], limits,
                                                          id_="limits")]
    return join_blocks(*blocks)


def _limits(services: Services, principal: Principal) -> list[tuple[str, str]]:
    tiers = services.config.ratelimit.tiers
    tier = tiers.get(principal.tier)
    if tier is None:
        return []
    return [("Plan", principal.tier), ("Burst", str(tier.capacity)),
            ("Refill per second", str(tier.refill_per_s)),
            ("Monthly quota", str(tier.monthly_quota or "unlimited"))]


@signed_in
async def usage_page(request: web.Request, principal: Principal, sess: Session
                     ) -> web.StreamResponse:
    services = request.app[DASHBOARD].services
    names = [t.name for t in services.tools.all()]
    summary = await usage.tool_calls(services.ratelimiter, principal.tenant_id,
                                     principal.user_id, names, days=14,
                                     today=datetime.now(UTC).date())
    return _page(request, principal, sess, "Usage", usage_body(summary,
                                                               _limits(services, principal)),
                 "usage")


# -- training ---------------------------------------------------------------------------
@signed_in
async def training_page(request: web.Request, principal: Principal, sess: Session
                        ) -> web.StreamResponse:
    from pierre.tools.invoke import invoke_tool

    services = request.app[DASHBOARD].services
    notes: list[Markup] = []
    chart: dict[str, list[Any]] = {"days": [], "ctl": [], "atl": [], "tsb": []}
    try:
        outcome = await invoke_tool(services, principal, "analyze_training_load",
                                    {"days": 90}, transport="dashboard")
        if outcome.is_error or outcome.structured is None:
            notes.append(tag("p", outcome.text, class_="muted"))
        else:
            for d in outcome.structured.get("daily", []):
                chart["days"].append(d["date"])
                chart["ctl"].append(round(d["ctl"], 1))
                chart["atl"].append(round(d["atl"], 1))
                chart["tsb"].append(round(d["tsb"], 1))
    except PierreError as exc:
        notes.append(tag("p", exc.message, class_="muted"))
    activities: list[Any] = []
    try:
        from pierre.models import ActivityQuery

        client = await services.providers.client(principal)
        # Newest first without a date floor: "recent" means the latest ones, however old.
        activities = list(await client.activities(ActivityQuery(limit=200)))
    except PierreError as exc:
        notes.append(tag("p", exc.message, class_="muted"))
    weeks = usage.weekly_volume(activities, weeks=8, today=datetime.now(UTC).date())
    recent = sorted(activities, key=lambda a: a.start_utc, reverse=True)[:15]
    rows = [(tag("a", a.name or a.sport_type,
                 href=f"/dashboard/activities/{quote(a.provider)}/{quote(a.provider_id)}"),
             a.sport_type, a.start_utc.strftime("%Y-%m-%d"),
             f"{(a.distance_m or 0) / 1000:.1f} km",
             f"{int((a.moving_time_s or 0) // 60)} min") for a in recent]
    body = join_blocks(
        *notes,
        tag("h2", "Fitness, fatigue and form"),
        tag("div", "", id="training-chart", class_="chart card"),
        render.json_data("training-data", chart),
        tag("h2", "Weekly volume"),
        render.table(["Week of", "Distance (km)", "Activities"], weeks, id_="weekly"),
        tag("h2", "Recent activities"),
        render.table(["Activity", "Sport", "Date", "Distance", "Moving time"], rows,
                     id_="recent", empty="No activities yet: connect a provider."),
    )
    return _page(request, principal, sess, "Training", body, "training",
                 scripts=["/dashboard/static/uPlot.iife.min.js"],
                 head='<link rel="stylesheet" href="/dashboard/static/uPlot.min.css">')


@signed_in
async def activity_page(request: web.Request, principal: Principal, sess: Session
                        ) -> web.StreamResponse:
    services = request.app[DASHBOARD].services
    provider, aid = request.match_info["provider"], request.match_info["activity_id"]
    try:
        client = await services.providers.client(principal, provider)
        a = await client.activity(aid)
    except PierreError as exc:
        return _page(request, principal, sess, "Activity", tag("p", exc.message), "activity",
                     error="The activity could not be loaded")
    fields = [("Name", a.name), ("Sport", a.sport_type), ("Start (UTC)", a.start_utc),
              ("Distance", f"{(a.distance_m or 0) / 1000:.2f} km"),
              ("Moving time", f"{int((a.moving_time_s or 0) // 60)} min"),
              ("Elevation gain", f"{a.elevation_gain_m or 0:.0f} m"),
              ("Average heart rate", a.average_hr_bpm or "—"),
              ("Average power", a.average_power_w or "—")]
    body = render.table(["", ""], fields, id_="activity")
    return _page(request, principal, sess, a.name or "Activity", body, "activity")


# -- static -----------------------------------------------------------------------------
async def static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    path = STATIC / name
    if "/" in name or name.startswith(".") or not path.is_file():
        raise web.HTTPNotFound()
    resp = web.FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})
    secure(resp)
    resp.headers["Cache-Control"] = "public, max-age=3600"
    return resp


async def root(_: web.Request) -> web.StreamResponse:
    raise see_other("/dashboard/")


def session_key(secret: bytes) -> bytes:
    return hmac.new(secret, b"pierre-dashboard-session", hashlib.sha256).digest()


def setup(app: web.Application, services: Services) -> None:
    from pierre.dashboard import admin, security
    from pierre.oauth2.server import load_server_secret

    app[DASHBOARD] = Dashboard(services, session_key(load_server_secret(services)))
    r = app.router
    r.add_get("/dashboard", root)
    r.add_get("/dashboard/", overview)
    r.add_get("/dashboard/login", login_get)
    r.add_post("/dashboard/login", login_post)
    r.add_get("/dashboard/login/mfa", mfa_get)
    r.add_post("/dashboard/login/mfa", mfa_post)
    r.add_post("/dashboard/logout", logout)
    r.add_get("/dashboard/providers", providers_page)
    r.add_post("/dashboard/providers/{name}/connect", provider_connect)
    r.add_post("/dashboard/providers/{name}/disconnect", provider_disconnect)
    r.add_get("/dashboard/keys", keys_page)
    r.add_post("/dashboard/keys", keys_create)
    r.add_post("/dashboard/keys/{key_id}/revoke", keys_revoke)
    r.add_get("/dashboard/usage", usage_page)
    r.add_get("/dashboard/training", training_page)
    r.add_get("/dashboard/activities/{provider}/{activity_id}", activity_page)
    r.add_get("/dashboard/static/{name}", static)
    admin.setup(app, services)
    security.setup(app, services)
