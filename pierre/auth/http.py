"""REST endpoints for identity on the aiohttp listener, and `require_principal` for others.

Every handler authenticates with the same authenticator as MCP and A2A, reads
only rows of the caller's tenant, and answers another tenant's ids with 404.
401 = no or bad credentials; 403 = authenticated but not allowed.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web

from pierre.auth.api_keys import TIERS
from pierre.auth.openapi import DOCS_HTML, openapi_document
from pierre.auth.principal import Principal
from pierre.auth.service import IdentityService, identity, invite_view, key_view, user_view
from pierre.errors import AuthError, Forbidden, InvalidArguments, NotFound
from pierre.http.app import SERVICES
from pierre.mcp.bus import announce_tenant_changed

PRINCIPAL_KEY = "pierre.principal"


def _ident(request: web.Request) -> IdentityService:
    return identity(request.app[SERVICES])


def _client(request: web.Request) -> tuple[str | None, str | None]:
    return request.remote, request.headers.get("User-Agent")


async def require_principal(request: web.Request) -> Principal:
    """Authenticate `Authorization: Bearer <JWT or API key>`; raise AuthError otherwise."""
    cached = request.get(PRINCIPAL_KEY)
    if cached is not None:
        return cached
    header = request.headers.get("Authorization", "")
    if not header[:7].lower() == "bearer " or not header[7:].strip():
        raise AuthError("missing credentials: send Authorization: Bearer <JWT or API key>")
    services = request.app[SERVICES]
    auth = services.authenticator or identity(services)
    ip, ua = _client(request)
    principal = await auth.authenticate(header[7:].strip(), transport="http", ip=ip,
                                        user_agent=ua)
    request[PRINCIPAL_KEY] = principal
    return principal


async def _admin_mfa(request: web.Request, p: Principal) -> None:
    """`[security] require_admin_mfa`: a server admin without MFA is refused here."""
    sec = request.app[SERVICES].security
    if sec is not None:
        await sec.mfa.admin_ok(p.tenant_id, p.user_id, p.role)


async def _tenant_admin(request: web.Request) -> Principal:
    p = await require_principal(request)
    if not p.is_tenant_admin:
        raise Forbidden("tenant administrator role required")
    await _admin_mfa(request, p)
    return p


async def _server_admin(request: web.Request) -> Principal:
    p = await require_principal(request)
    if not p.is_admin:
        raise Forbidden("server administrator role required")
    await _admin_mfa(request, p)
    return p


async def _security_event(request: web.Request, event: str, p: Principal,
                          details: dict[str, Any]) -> None:
    sec = request.app[SERVICES].security
    if sec is not None:
        await sec.emit(event, tenant_id=p.tenant_id, user_id=p.user_id, ip=request.remote,
                       credential_id=p.credential_id, details=details)


async def _admin_action(request: web.Request, p: Principal, action: str,
                        **details: Any) -> None:
    await _security_event(request, "admin_action", p, {"action": action, **details})


def _refused(request: web.Request, resource: str, ref: str) -> dict[str, Any]:
    """Evidence of a refused id, for the caller's own tenant's audit log: the route
    and a hash of the id (an admin can match a known id; the log shows none of B's)."""
    route = request.match_info.route.resource
    return {"resource": resource, "route": route.canonical if route else request.method,
            "id_hash": hashlib.sha256(ref.encode()).hexdigest()[:16]}


async def _other_tenant(request: web.Request, p: Principal, resource: str,
                        ref: str) -> NotFound:
    """Report a refused id (another tenant's or none at all: enumeration either way) and
    return the 404 to raise, which says nothing of whether it exists elsewhere."""
    await _security_event(request, "cross_tenant_refused", p, _refused(request, resource, ref))
    return NotFound(f"no such {resource.replace('_', ' ')}")


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        data = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        raise InvalidArguments("request body must be JSON") from None
    if not isinstance(data, dict):
        raise InvalidArguments("request body must be a JSON object")
    return data


def _str(data: dict[str, Any], name: str, *, required: bool = True,
         default: str | None = None) -> Any:
    v = data.get(name, default)
    if v is None and not required:
        return None
    if not isinstance(v, str) or not v:
        raise InvalidArguments(f"'{name}' must be a non-empty string", field=name)
    return v


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


# -- auth ------------------------------------------------------------------------------
async def register(request: web.Request) -> web.Response:
    data = await _body(request)
    ip, ua = _client(request)
    user = await _ident(request).register(_str(data, "email"), _str(data, "password"),
                                          invite=_str(data, "invite", required=False),
                                          ip=ip, user_agent=ua)
    return _json(user_view(user), 201)


async def login(request: web.Request) -> web.Response:
    data = await _body(request)
    ip, ua = _client(request)
    code = data.get("mfa_code")
    if code is not None and not isinstance(code, str):
        raise InvalidArguments("'mfa_code' must be a string", field="mfa_code")
    return _json(await _ident(request).login(_str(data, "email"), _str(data, "password"),
                                             ip=ip, user_agent=ua, mfa_code=code))


async def refresh(request: web.Request) -> web.Response:
    data = await _body(request)
    ip, ua = _client(request)
    return _json(await _ident(request).refresh(_str(data, "refresh_token"), ip=ip,
                                               user_agent=ua))


async def logout(request: web.Request) -> web.Response:
    data = await _body(request)
    principal = None
    if request.headers.get("Authorization"):
        principal = await require_principal(request)
    await _ident(request).logout(_str(data, "refresh_token"), principal)
    return web.Response(status=204)


async def me(request: web.Request) -> web.Response:
    p = await require_principal(request)
    user = await _ident(request).db.get_user(p.tenant_id, p.user_id)
    if user is None:
        raise AuthError("this account no longer exists")
    return _json({**user_view(user), "tier": p.tier, "auth_method": p.method,
                  "credential_id": p.credential_id})


# -- API keys ----------------------------------------------------------------------------
async def list_keys(request: web.Request) -> web.Response:
    p = await require_principal(request)
    keys = await _ident(request).db.list_api_keys(p.tenant_id, p.user_id)
    return _json([key_view(k) for k in keys])


async def create_key(request: web.Request) -> web.Response:
    p = await require_principal(request)
    data = await _body(request)
    tier = _str(data, "tier", default="starter")
    if tier not in TIERS:
        raise InvalidArguments(f"tier must be one of {', '.join(TIERS)}", field="tier")
    if tier not in ("trial", "starter") and not p.is_tenant_admin:
        raise Forbidden(f"only a tenant administrator can create {tier} keys")
    days = data.get("expires_days")
    if days is not None and (not isinstance(days, int) or isinstance(days, bool)):
        raise InvalidArguments("'expires_days' must be an integer", field="expires_days")
    issued = await _ident(request).create_api_key(
        p.tenant_id, p.user_id, tier=tier, name=_str(data, "name", default="default"),
        expires_days=days, actor=p)
    return _json({**key_view(issued.record), "key": issued.key}, 201)


async def delete_key(request: web.Request) -> web.Response:
    p = await require_principal(request)
    ident = _ident(request)
    rec = await ident.db.get_api_key(p.tenant_id, request.match_info["key_id"])
    if rec is None:
        raise await _other_tenant(request, p, "API_key", request.match_info["key_id"])
    if rec.user_id != p.user_id and not p.is_tenant_admin:
        raise NotFound("no such API key")
    await ident.revoke_api_key(p.tenant_id, rec.id, actor=p)
    if rec.user_id != p.user_id:
        await _admin_action(request, p, "api_key_revoked", key_id=rec.id, owner=rec.user_id)
    return web.Response(status=204)


async def set_key_tier(request: web.Request) -> web.Response:
    """An administrator changes a key's tier (tenant admins up to the tenant's plan);
    the key's live MCP sessions re-read it and get tools/list_changed."""
    p = await _tenant_admin(request)
    data = await _body(request)
    tier = _str(data, "tier")
    ident = _ident(request)
    key_id = request.match_info["key_id"]
    if await ident.db.get_api_key(p.tenant_id, key_id) is None:
        raise await _other_tenant(request, p, "API_key", key_id)
    rec = await ident.set_api_key_tier(p.tenant_id, key_id, tier, actor=p)
    await _admin_action(request, p, "api_key_tier_set", key_id=key_id, tier=tier)
    await announce_tenant_changed(request.app[SERVICES], p.tenant_id)
    return _json(key_view(rec))


# -- tenant admin: invites ------------------------------------------------------------------
async def list_invites(request: web.Request) -> web.Response:
    p = await _tenant_admin(request)
    return _json([invite_view(i) for i in await _ident(request).db.list_invites(p.tenant_id)])


async def create_invite(request: web.Request) -> web.Response:
    """A single-use registration code for the caller's tenant, in this response only."""
    p = await _tenant_admin(request)
    data = await _body(request)
    days = data.get("expires_days")
    if days is not None and (not isinstance(days, int) or isinstance(days, bool)):
        raise InvalidArguments("'expires_days' must be an integer", field="expires_days")
    issued = await _ident(request).create_invite(
        p.tenant_id, email=_str(data, "email", required=False),
        role=_str(data, "role", default="user"), expires_days=days, actor=p)
    await _admin_action(request, p, "invite_created", invite_id=issued.record.id,
                        role=issued.record.role)
    return _json({**invite_view(issued.record), "code": issued.code}, 201)


async def delete_invite(request: web.Request) -> web.Response:
    p = await _tenant_admin(request)
    invite_id = request.match_info["invite_id"]
    if not await _ident(request).delete_invite(p.tenant_id, invite_id, actor=p):
        raise await _other_tenant(request, p, "invite", invite_id)
    await _admin_action(request, p, "invite_deleted", invite_id=invite_id)
    return web.Response(status=204)


# -- tenant admin: users and OAuth apps -------------------------------------------------------
async def tenant_users(request: web.Request) -> web.Response:
    p = await _tenant_admin(request)
    users = await _ident(request).db.list_users(p.tenant_id)
    return _json([user_view(u) for u in users])


async def tenant_create_user(request: web.Request) -> web.Response:
    p = await _tenant_admin(request)
    data = await _body(request)
    role = _str(data, "role", default="user")
    if role == "admin" and not p.is_admin:
        raise Forbidden("only a server administrator can create server administrators")
    user = await _ident(request).create_user(
        p.tenant_id, _str(data, "email"), role=role,
        password=_str(data, "password", required=False), actor=p)
    await _admin_action(request, p, "user_created", target=user.id, role=role)
    return _json(user_view(user), 201)


async def tenant_update_user(request: web.Request) -> web.Response:
    p = await _tenant_admin(request)
    data = await _body(request)
    ident = _ident(request)
    role = _str(data, "role", required=False)
    status = _str(data, "status", required=False)
    if role is not None and role not in ("user", "tenant_admin", "admin"):
        raise InvalidArguments("role must be user, tenant_admin or admin", field="role")
    if role == "admin" and not p.is_admin:
        raise Forbidden("only a server administrator can grant the admin role")
    if status is not None and status not in ("active", "disabled"):
        raise InvalidArguments("status must be active or disabled", field="status")
    user_id = request.match_info["user_id"]
    if await ident.db.get_user(p.tenant_id, user_id) is None:
        raise await _other_tenant(request, p, "user", user_id)
    user = await ident.db.update_user(p.tenant_id, user_id, role=role, status=status)
    if status == "disabled":
        await ident.db.revoke_user_refresh_tokens(p.tenant_id, user_id)
    await ident.audit.record("user_updated", tenant_id=p.tenant_id, user_id=p.user_id,
                             details={"target": user_id, "role": role, "status": status})
    await _admin_action(request, p, "user_updated", target=user_id, role=role, status=status)
    return _json(user_view(user))


async def tenant_settings(request: web.Request) -> web.Response:
    p = await _tenant_admin(request)
    tenant = await _ident(request).db.get_tenant(p.tenant_id)
    settings = tenant.settings if tenant else {}
    return _json({"tier": settings.get("tier", "starter"),
                  "disabled_tools": settings.get("disabled_tools") or []})


async def tenant_update_settings(request: web.Request) -> web.Response:
    """Tool switches for the caller's tenant; live MCP sessions get tools/list_changed."""
    p = await _tenant_admin(request)
    data = await _body(request)
    names = data.get("disabled_tools")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InvalidArguments("'disabled_tools' must be a list of tool names",
                               field="disabled_tools")
    services = request.app[SERVICES]
    unknown = sorted(n for n in names if services.tools.get(n) is None)
    if unknown:
        raise InvalidArguments(f"unknown tool(s): {', '.join(unknown[:5])}",
                               field="disabled_tools")
    ident = _ident(request)
    tenant = await ident.set_tenant_tools(await ident.resolve_tenant(p.tenant_id), set(names),
                                          actor=p)
    await _admin_action(request, p, "tenant_tools_set")
    await announce_tenant_changed(services, p.tenant_id)
    return _json({"tier": tenant.settings.get("tier", "starter"),
                  "disabled_tools": tenant.settings["disabled_tools"]})


def _app_view(a: Any) -> dict[str, Any]:
    return {"provider": a.provider, "client_id": a.client_id, "redirect_uri": a.redirect_uri,
            "scopes": a.scopes, "updated_at": a.updated_at.isoformat(),
            "client_secret": "[set]"}


async def list_oauth_apps(request: web.Request) -> web.Response:
    p = await _tenant_admin(request)
    apps = await _ident(request).db.list_oauth_apps(p.tenant_id)
    return _json([_app_view(a) for a in apps])


async def put_oauth_app(request: web.Request) -> web.Response:
    p = await _tenant_admin(request)
    data = await _body(request)
    provider = request.match_info["provider"]
    if not provider.isidentifier() or len(provider) > 50:
        raise NotFound("no such provider")
    scopes = data.get("scopes", [])
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise InvalidArguments("'scopes' must be a list of strings", field="scopes")
    services = request.app[SERVICES]
    secret = _str(data, "client_secret").encode()
    enc = services.crypto.encrypt(secret, tenant_id=p.tenant_id, user_id="",
                                  table="oauth_configs", column="client_secret_enc")
    db = services.db
    await db.upsert_oauth_app(p.tenant_id, provider, client_id=_str(data, "client_id"),
                              client_secret_enc=enc,
                              redirect_uri=_str(data, "redirect_uri", required=False),
                              scopes=scopes)
    await _ident(request).audit.record("oauth_app_set", tenant_id=p.tenant_id,
                                       user_id=p.user_id, details={"provider": provider})
    await _admin_action(request, p, "oauth_app_set", provider=provider)
    app = await db.get_oauth_app(p.tenant_id, provider)
    return _json(_app_view(app))


async def delete_oauth_app(request: web.Request) -> web.Response:
    p = await _tenant_admin(request)
    provider = request.match_info["provider"]
    if not await _ident(request).db.delete_oauth_app(p.tenant_id, provider):
        raise NotFound("no OAuth app for this provider")
    await _ident(request).audit.record("oauth_app_deleted", tenant_id=p.tenant_id,
                                       user_id=p.user_id, details={"provider": provider})
    await _admin_action(request, p, "oauth_app_deleted", provider=provider)
    return web.Response(status=204)


# -- server admin ------------------------------------------------------------------------
def _tenant_view(t: Any) -> dict[str, Any]:
    return {"id": t.id, "name": t.name, "status": t.status, "settings": t.settings,
            "created_at": t.created_at.isoformat()}


async def admin_tenants(request: web.Request) -> web.Response:
    await _server_admin(request)
    return _json([_tenant_view(t) for t in await _ident(request).db.list_tenants()])


async def admin_create_tenant(request: web.Request) -> web.Response:
    p = await _server_admin(request)
    data = await _body(request)
    tenant = await _ident(request).create_tenant(_str(data, "name"), actor=p)
    await _admin_action(request, p, "tenant_created", target=tenant.id)
    return _json(_tenant_view(tenant), 201)


async def admin_update_tenant(request: web.Request) -> web.Response:
    """A tenant's plan (`tier`); its live MCP sessions follow it at once."""
    p = await _server_admin(request)
    data = await _body(request)
    tier = _str(data, "tier")
    ident = _ident(request)
    if tier not in ident.plan_names():  # checked before the lookup: a bad body is a 400
        raise InvalidArguments(f"tier must be one of {', '.join(ident.plan_names())}",
                               field="tier")
    tenant = await ident.resolve_tenant(request.match_info["tenant_id"])  # id or name
    tenant = await ident.set_tenant_plan(tenant, tier, actor=p)
    await _admin_action(request, p, "tenant_plan_set", target=tenant.id, tier=tier)
    await announce_tenant_changed(request.app[SERVICES], tenant.id)
    return _json(_tenant_view(tenant))


def _when(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        dt = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidArguments(f"'{name}' must be an ISO-8601 timestamp", field=name) from None
    if dt.tzinfo is None:
        raise InvalidArguments(f"'{name}' needs a timezone (e.g. Z)", field=name)
    return dt


def _int(request: web.Request, name: str, default: int, hi: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        v = int(raw)
    except ValueError:
        raise InvalidArguments(f"'{name}' must be an integer", field=name) from None
    if not 0 <= v <= hi:
        raise InvalidArguments(f"'{name}' must be 0..{hi}", field=name)
    return v


async def admin_audit(request: web.Request) -> web.Response:
    p = await _tenant_admin(request)
    tenant = request.query.get("tenant_id")
    if not p.is_admin:
        if tenant is not None and tenant != p.tenant_id:
            await _security_event(request, "cross_tenant_refused", p,
                                  _refused(request, "audit", tenant))
            raise Forbidden("tenant administrators see their own tenant's audit log only")
        tenant = p.tenant_id
    rows = await _ident(request).db.list_audit(
        tenant, action=request.query.get("action"), user_id=request.query.get("user_id"),
        since=_when(request, "since"), until=_when(request, "until"),
        limit=_int(request, "limit", 100, 1000), offset=_int(request, "offset", 0, 1_000_000))
    return _json([{"id": r.id, "tenant_id": r.tenant_id, "user_id": r.user_id,
                   "action": r.action, "ip": r.ip, "user_agent": r.user_agent,
                   "details": r.details, "created_at": r.created_at.isoformat()} for r in rows])


# -- discovery ---------------------------------------------------------------------------
async def jwks(request: web.Request) -> web.Response:
    resp = _json(await _ident(request).tokens.jwks())
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp


async def openapi(request: web.Request) -> web.Response:
    return _json(openapi_document(request.app[SERVICES].public_http_url()))


async def docs(request: web.Request) -> web.Response:
    return web.Response(text=DOCS_HTML, content_type="text/html")


def setup(app: web.Application, services: Any) -> None:
    r = app.router
    r.add_post("/api/auth/register", register)
    r.add_post("/api/auth/login", login)
    r.add_post("/api/auth/refresh", refresh)
    r.add_post("/api/auth/logout", logout)
    r.add_get("/api/me", me, allow_head=False)
    r.add_get("/api/keys", list_keys, allow_head=False)
    r.add_post("/api/keys", create_key)
    r.add_delete("/api/keys/{key_id}", delete_key)
    r.add_patch("/api/keys/{key_id}", set_key_tier)
    r.add_get("/api/tenant/invites", list_invites, allow_head=False)
    r.add_post("/api/tenant/invites", create_invite)
    r.add_delete("/api/tenant/invites/{invite_id}", delete_invite)
    r.add_get("/api/tenant/users", tenant_users, allow_head=False)
    r.add_post("/api/tenant/users", tenant_create_user)
    r.add_patch("/api/tenant/users/{user_id}", tenant_update_user)
    r.add_get("/api/tenant/settings", tenant_settings, allow_head=False)
    r.add_patch("/api/tenant/settings", tenant_update_settings)
    r.add_get("/api/tenant/oauth-apps", list_oauth_apps, allow_head=False)
    r.add_put("/api/tenant/oauth-apps/{provider}", put_oauth_app)
    r.add_delete("/api/tenant/oauth-apps/{provider}", delete_oauth_app)
    r.add_get("/api/admin/tenants", admin_tenants, allow_head=False)
    r.add_post("/api/admin/tenants", admin_create_tenant)
    r.add_patch("/api/admin/tenants/{tenant_id}", admin_update_tenant)
    r.add_get("/api/admin/audit", admin_audit, allow_head=False)
    r.add_get("/.well-known/jwks.json", jwks, allow_head=False)
    r.add_get("/api/openapi.json", openapi, allow_head=False)
    r.add_get("/api/docs", docs, allow_head=False)
