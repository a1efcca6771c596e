"""Tenant-admin and server-admin pages: users, OAuth apps, tool switches, plans, audit, health.

Tenant admins see and change only their own tenant (every read is scoped by
the principal's tenant id); server admins see every tenant.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from pierre.auth.principal import Principal
from pierre.auth.service import identity
from pierre.dashboard import render, usage
from pierre.dashboard.render import Markup, tag
from pierre.dashboard.routes import (
    DASHBOARD,
    MFA_MISSING,
    _audit,
    _page,
    join_blocks,
    signed_in,
    usage_body,
)
from pierre.dashboard.session import Session
from pierre.dashboard.web import message_page, see_other
from pierre.mcp.bus import announce_tenant_changed
from pierre.services import Services


def _forbidden(request: web.Request, principal: Principal, sess: Session) -> web.Response:
    dash = request.app[DASHBOARD]
    return message_page("Not allowed", "This page is for administrators.", status=403,
                        principal=principal, csrf=dash.csrf(request, sess))


def _denied(request: web.Request, principal: Principal, sess: Session,
            allowed: bool) -> web.Response | None:
    """The refusal page unless `allowed`; an admin who must enrol MFA first (`[security]
    require_admin_mfa`) is refused until enrolled, like on the REST admin routes."""
    if not allowed:
        return _forbidden(request, principal, sess)
    if request.get(MFA_MISSING, False):
        return message_page("Two-step sign-in required",
                            "Administrators on this server must turn on two-step sign-in "
                            "(Security page) before using the admin pages.", status=403,
                            principal=principal, csrf=request.app[DASHBOARD].csrf(request, sess))
    return None


# -- tenant admin -----------------------------------------------------------------------
@signed_in
async def tenant_page(request: web.Request, principal: Principal, sess: Session
                      ) -> web.StreamResponse:
    if (refusal := _denied(request, principal, sess, principal.is_tenant_admin)) is not None:
        return refusal
    services = request.app[DASHBOARD].services
    csrf = request.app[DASHBOARD].csrf(request, sess)
    tid = principal.tenant_id
    tenant = await services.db.get_tenant(tid)
    users = await services.db.list_users(tid)
    apps = await services.db.list_oauth_apps(tid)
    disabled = set((tenant.settings if tenant else {}).get("disabled_tools") or [])
    tool_rows = []
    for spec in sorted(services.tools.all() if hasattr(services.tools, "all") else [],
                       key=lambda s: s.name):
        off = spec.name in disabled
        tool_rows.append((spec.name, tag("span", "disabled" if off else "enabled",
                                         id=f"tool-state-{spec.name}"),
                          render.post_button("/dashboard/tenant/tools",
                                             "Enable" if off else "Disable", csrf,
                                             fields={"tool": spec.name,
                                                     "enabled": "1" if off else "0"},
                                             id_=f"tool-{spec.name}")))
    names = [t.name for t in services.tools.all()]
    summary = await usage.tool_calls(services.ratelimiter, tid, "*", names, days=14,
                                     today=datetime.now(UTC).date())
    app_form = tag("form", [
        render.csrf_field(csrf),
        tag("label", ["Provider", tag("input", name="provider", required=True)]),
        tag("label", ["Client id", tag("input", name="client_id", required=True)]),
        tag("label", ["Client secret", tag("input", name="client_secret", type="password",
                                           required=True, autocomplete="off")]),
        tag("label", ["Redirect URI (optional)", tag("input", name="redirect_uri")]),
        tag("button", "Save OAuth app", type="submit"),
    ], method="post", action="/dashboard/tenant/apps", class_="stack card")
    body = join_blocks(
        tag("p", f"Tenant: {tenant.name if tenant else tid}", class_="muted"),
        tag("h2", "Users"),
        render.table(["Email", "Role", "Status", "Since"],
                     [(u.email, u.role, u.status, u.created_at.strftime("%Y-%m-%d"))
                      for u in users], id_="tenant-users"),
        tag("h2", "Provider OAuth apps"),
        render.table(["Provider", "Client id", "Redirect URI", "Updated"],
                     [(a.provider, a.client_id, a.redirect_uri or "default",
                       a.updated_at.strftime("%Y-%m-%d")) for a in apps], id_="oauth-apps",
                     empty="Using the server's apps."),
        app_form,
        tag("h2", "Tools"),
        render.table(["Tool", "State", ""], tool_rows, id_="tools"),
        tag("h2", "Tenant usage (14 days)"),
        usage_body(summary, []),
    )
    return _page(request, principal, sess, "Tenant", body, "tenant")


@signed_in
async def tenant_tools(request: web.Request, principal: Principal, sess: Session
                       ) -> web.StreamResponse:
    if (refusal := _denied(request, principal, sess, principal.is_tenant_admin)) is not None:
        return refusal
    services = request.app[DASHBOARD].services
    form = await request.post()
    tool = str(form.get("tool") or "")
    if services.tools.get(tool) is None:
        raise see_other("/dashboard/tenant")
    ident = identity(services)
    tenant = await ident.resolve_tenant(principal.tenant_id)
    disabled = set(tenant.settings.get("disabled_tools") or [])
    if form.get("enabled") == "1":
        disabled.discard(tool)
    else:
        disabled.add(tool)
    await ident.set_tenant_tools(tenant, disabled, actor=principal)
    await announce_tenant_changed(services, principal.tenant_id)  # live MCP sessions
    raise see_other("/dashboard/tenant?done=saved")


@signed_in
async def tenant_apps(request: web.Request, principal: Principal, sess: Session
                      ) -> web.StreamResponse:
    if (refusal := _denied(request, principal, sess, principal.is_tenant_admin)) is not None:
        return refusal
    services = request.app[DASHBOARD].services
    form = await request.post()
    provider = str(form.get("provider") or "").strip().lower()
    client_id = str(form.get("client_id") or "").strip()
    secret = str(form.get("client_secret") or "")
    if not provider or not client_id or not secret or services.crypto is None:
        raise see_other("/dashboard/tenant")
    if not provider.isidentifier() or len(provider) > 50:
        raise see_other("/dashboard/tenant")
    # Bound to the tenant row exactly as the REST API and key rotation expect.
    enc = services.crypto.encrypt(secret.encode(), tenant_id=principal.tenant_id, user_id="",
                                  table="oauth_configs", column="client_secret_enc")
    await services.db.upsert_oauth_app(principal.tenant_id, provider, client_id=client_id,
                                       client_secret_enc=enc,
                                       redirect_uri=str(form.get("redirect_uri") or "") or None,
                                       scopes=[])
    await _audit(services, "dashboard.oauth_app_saved", principal, request,
                 {"provider": provider})
    raise see_other("/dashboard/tenant?done=saved")


# -- server admin -----------------------------------------------------------------------
async def _health(services: Services) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name, backend in (("database", services.db), ("cache", services.cache),
                          ("rate limiter", services.ratelimiter)):
        if backend is None:
            out.append((name, "not configured"))
            continue
        try:
            await asyncio.wait_for(backend.health(), timeout=2.0)
            out.append((name, "ok"))
        except Exception as exc:  # a failing backend is shown, not raised
            out.append((name, f"failing: {type(exc).__name__}"))
    return out


def _plugins(services: Services) -> list[tuple[str, str, str, str]]:
    """(kind, name, distribution and version, state with the error if any)."""
    rows: list[tuple[str, str, str, str]] = []
    for info in services.plugins.all():
        d = info.to_dict()
        dist = " ".join(str(x) for x in (d["distribution"], d["version"]) if x)
        state = str(d["status"]) + (f": {d['error']}" if d.get("error") else "")
        rows.append((str(d["group"]).removeprefix("pierre."), str(d["name"]), dist or "—",
                     state))
    return rows


@signed_in
async def admin_page(request: web.Request, principal: Principal, sess: Session
                     ) -> web.StreamResponse:
    if (refusal := _denied(request, principal, sess, principal.is_admin)) is not None:
        return refusal
    services = request.app[DASHBOARD].services
    csrf = request.app[DASHBOARD].csrf(request, sess)
    tiers = sorted(services.config.ratelimit.tiers)
    rows = []
    for t in await services.db.list_tenants():
        plan = str(t.settings.get("tier") or t.settings.get("plan") or "starter")
        select = tag("select", [tag("option", name, value=name, selected=name == plan)
                                for name in tiers], name="tier", id=f"tier-{t.name}")
        form = tag("form", [render.csrf_field(csrf), tag("input", type="hidden",
                                                         name="tenant_id", value=t.id),
                            select, tag("button", "Set plan", type="submit")],
                   method="post", action="/dashboard/admin/plan", class_="inline")
        rows.append((t.name, t.status, plan, form))
    plan_rows = [(name, str(c.capacity), str(c.refill_per_s), str(c.monthly_quota or "∞"))
                 for name, c in sorted(services.config.ratelimit.tiers.items())]
    body = join_blocks(
        tag("h2", "Health"), render.table(["Backend", "State"], await _health(services),
                                          id_="health"),
        tag("h2", "Plugins"), render.table(["Kind", "Name", "Package", "State"], _plugins(services),
                                           id_="plugins", empty="No plugin listing."),
        tag("h2", "Tenants"), render.table(["Tenant", "Status", "Plan", ""], rows,
                                           id_="tenants"),
        tag("h2", "Plans"), render.table(["Plan", "Burst", "Refill/s", "Monthly quota"],
                                         plan_rows, id_="plans"),
    )
    return _page(request, principal, sess, "Server admin", body, "admin")


@signed_in
async def admin_plan(request: web.Request, principal: Principal, sess: Session
                     ) -> web.StreamResponse:
    if (refusal := _denied(request, principal, sess, principal.is_admin)) is not None:
        return refusal
    services = request.app[DASHBOARD].services
    form = await request.post()
    tier = str(form.get("tier") or "")
    tenant = await services.db.get_tenant(str(form.get("tenant_id") or ""))
    if tenant is None or tier not in services.config.ratelimit.tiers:
        raise see_other("/dashboard/admin")
    await identity(services).set_tenant_plan(tenant, tier, actor=principal)
    await announce_tenant_changed(services, tenant.id)  # live MCP sessions follow the plan
    raise see_other("/dashboard/admin?done=saved")


def _parse_day(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        return None


@signed_in
async def audit_page(request: web.Request, principal: Principal, sess: Session
                     ) -> web.StreamResponse:
    if (refusal := _denied(request, principal, sess, principal.is_tenant_admin)) is not None:
        return refusal
    services = request.app[DASHBOARD].services
    q = request.query
    tenant_id: str | None = principal.tenant_id
    if principal.is_admin:
        tenant_id = q.get("tenant") or None
    since, until = _parse_day(q.get("since")), _parse_day(q.get("until"))
    if until is not None:
        until += timedelta(days=1)
    recs = await services.db.list_audit(tenant_id, action=q.get("action") or None,
                                        user_id=q.get("user") or None, since=since,
                                        until=until, limit=200)
    tenants = {t.id: t.name for t in await services.db.list_tenants()} if (
        principal.is_admin) else {}
    filters = tag("form", [
        tag("label", ["Action", tag("input", name="action", id="f-action",
                                    value=q.get("action", ""))]),
        tag("label", ["User id", tag("input", name="user", value=q.get("user", ""))]),
        *([tag("label", ["Tenant id", tag("input", name="tenant",
                                          value=q.get("tenant", ""))])]
          if principal.is_admin else []),
        tag("label", ["From", tag("input", type="date", name="since",
                                  value=q.get("since", ""))]),
        tag("label", ["To", tag("input", type="date", name="until",
                                value=q.get("until", ""))]),
        tag("button", "Filter", type="submit", id="filter"),
    ], method="get", action="/dashboard/admin/audit", class_="stack card")
    rows: list[tuple[Any, ...]] = [
        (r.created_at.strftime("%Y-%m-%d %H:%M:%S"), tenants.get(r.tenant_id or "",
                                                                 r.tenant_id or "—"),
         r.user_id or "—", r.action, r.ip or "", _details(r.details)) for r in recs]
    body = join_blocks(filters, render.table(
        ["When (UTC)", "Tenant", "User", "Action", "IP", "Details"], rows, id_="audit",
        empty="No matching entries."))
    return _page(request, principal, sess, "Audit log", body, "audit")


def _details(details: dict[str, Any]) -> Markup:
    text = ", ".join(f"{k}={v}" for k, v in sorted(details.items()))[:200]
    return render.esc(text)


def setup(app: web.Application, services: Services) -> None:
    r = app.router
    r.add_get("/dashboard/tenant", tenant_page)
    r.add_post("/dashboard/tenant/tools", tenant_tools)
    r.add_post("/dashboard/tenant/apps", tenant_apps)
    r.add_get("/dashboard/admin", admin_page)
    r.add_post("/dashboard/admin/plan", admin_plan)
    r.add_get("/dashboard/admin/audit", audit_page)
