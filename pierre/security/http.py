"""REST routes: security alerts and actions for admins, MFA enrolment for people."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from pierre.auth.principal import Principal
from pierre.errors import AuthError, Forbidden, InvalidArguments, ServiceUnavailable
from pierre.services import Services

SERVICES: web.AppKey[Services] = web.AppKey("security_services", Services)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def _monitor(request: web.Request) -> Any:
    mon = request.app[SERVICES].security
    if mon is None:
        raise ServiceUnavailable("security monitoring is not available on this server")
    return mon


async def _principal(request: web.Request) -> Principal:
    try:
        from pierre.auth.http import require_principal
    except ImportError:
        services = request.app[SERVICES]
        if services.authenticator is None:
            raise ServiceUnavailable("authentication is not available on this server") from None
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("send 'Authorization: Bearer <token>'") from None
        return await services.authenticator.authenticate(
            token.strip(), transport="http", ip=request.remote,
            user_agent=request.headers.get("User-Agent"))
    principal: Principal = await require_principal(request)
    return principal


async def _admin(request: web.Request, *, server: bool = False) -> Principal:
    p = await _principal(request)
    if not (p.is_admin or (not server and p.is_tenant_admin)):
        raise Forbidden("this needs an administrator" if server else
                        "this needs a tenant or server administrator")
    await _monitor(request).mfa.admin_ok(p.tenant_id, p.user_id, p.role)
    return p


async def _person(request: web.Request) -> Principal:
    p = await _principal(request)
    if p.method not in ("jwt", "oauth"):
        raise Forbidden("two-step sign-in is managed with a signed-in session, not an API key")
    return p


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = orjson.loads(await request.read() or b"{}")
    except orjson.JSONDecodeError:
        raise InvalidArguments("the request body must be JSON") from None
    if not isinstance(data, dict):
        raise InvalidArguments("the request body must be a JSON object")
    return data


def _code(data: dict[str, Any]) -> str:
    code = data.get("code")
    if not isinstance(code, str) or not code.strip():
        raise InvalidArguments("send the 6-digit code as `code`", field="code")
    return code


# -- admin ------------------------------------------------------------------------------
async def list_alerts(request: web.Request) -> web.Response:
    p = await _admin(request)
    only_open = request.query.get("unacknowledged") in ("1", "true", "yes")
    alerts = await _monitor(request).list_alerts(None if p.is_admin else p.tenant_id,
                                                 include_acknowledged=not only_open)
    return _json({"alerts": alerts})


async def acknowledge(request: web.Request) -> web.Response:
    p = await _admin(request)
    data = await _body(request)
    note = data.get("note") if isinstance(data.get("note"), str) else None
    alert = await _monitor(request).acknowledge(
        request.match_info["alert_id"], by=p.user_id,
        tenant_id=None if p.is_admin else p.tenant_id, note=note)
    return _json({"alert": alert})


async def list_actions(request: web.Request) -> web.Response:
    await _admin(request, server=True)
    actions = await _monitor(request).list_actions()
    if request.query.get("active") in ("1", "true", "yes"):
        actions = [a for a in actions if a.get("active")]
    return _json({"actions": actions})


async def undo_action(request: web.Request) -> web.Response:
    p = await _admin(request, server=True)
    r = await _monitor(request).undo_by_id(request.match_info["action_id"], by=p.user_id,
                                           ip=request.remote)
    return _json({"lifted": r.to_dict()})


async def lift(request: web.Request) -> web.Response:
    p = await _admin(request, server=True)
    r = await _monitor(request).undo(request.match_info["kind"], request.match_info["target"],
                                     by=p.user_id, ip=request.remote)
    return _json({"lifted": r.to_dict()})


# -- MFA -------------------------------------------------------------------------------
async def mfa_status(request: web.Request) -> web.Response:
    p = await _person(request)
    return _json({"enabled": await _monitor(request).mfa.enabled(p.tenant_id, p.user_id)})


async def mfa_enroll(request: web.Request) -> web.Response:
    p = await _person(request)
    out = await _monitor(request).mfa.enroll(p.tenant_id, p.user_id, p.email or p.user_id)
    return _json(out, status=201)


async def mfa_qr(request: web.Request) -> web.Response:
    """The same enrolment as /enroll, answered as an SVG image for an <img> tag."""
    p = await _person(request)
    out = await _monitor(request).mfa.enroll(p.tenant_id, p.user_id, p.email or p.user_id)
    return web.Response(text=out["qr_svg"], content_type="image/svg+xml",
                        headers={"Cache-Control": "no-store"})


async def mfa_verify(request: web.Request) -> web.Response:
    p = await _person(request)
    code = _code(await _body(request))
    out = await _monitor(request).mfa.verify(p.tenant_id, p.user_id, code, ip=request.remote)
    return _json(out)


async def mfa_recovery_codes(request: web.Request) -> web.Response:
    p = await _person(request)
    code = _code(await _body(request))
    codes = await _monitor(request).mfa.new_recovery_codes(p.tenant_id, p.user_id, code,
                                                           ip=request.remote)
    return _json({"recovery_codes": codes})


def setup(app: web.Application, services: Services) -> None:
    app[SERVICES] = services
    r = app.router
    r.add_get("/api/admin/security/alerts", list_alerts)
    r.add_post("/api/admin/security/alerts/{alert_id}/acknowledge", acknowledge)
    r.add_get("/api/admin/security/actions", list_actions)
    r.add_post("/api/admin/security/actions/{action_id}/undo", undo_action)
    r.add_delete("/api/admin/security/restrictions/{kind}/{target}", lift)
    r.add_get("/api/auth/mfa", mfa_status)
    r.add_post("/api/auth/mfa/enroll", mfa_enroll)
    r.add_post("/api/auth/mfa/enroll.svg", mfa_qr)
    r.add_post("/api/auth/mfa/verify", mfa_verify)
    r.add_post("/api/auth/mfa/recovery-codes", mfa_recovery_codes)
