"""The OpenAPI 3.1 description of the REST API, served at /api/openapi.json.

Written by hand next to the handlers (a schemathesis run against the live
daemon keeps the two honest) so that clients get precise schemas.
"""

from __future__ import annotations

from typing import Any

S = dict[str, Any]


def _ref(name: str) -> S:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(t: str, **kw: Any) -> S:
    return {"type": [t, "null"], **kw}


_TS = _nullable("string")
_ERR = {"description": "error", "content": {"application/json": {"schema": _ref("Error")}}}


def _ok(schema: S | None, status: str = "200", desc: str = "ok") -> S:
    if schema is None:
        return {status: {"description": desc}}
    return {status: {"description": desc, "content": {"application/json": {"schema": schema}}}}


def _body(schema: S) -> S:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _op(summary: str, responses: S, *, auth: bool = True, body: S | None = None,
        params: list[S] | None = None, errors: tuple[str, ...] = ()) -> S:
    op: S = {"summary": summary, "responses": dict(responses)}
    # 403 on every authenticated call: the security monitor may have locked the
    # address, the account or the API key (pierre.security).
    codes = set(errors) | ({"401", "403"} if auth else set())
    if body is not None:
        op["requestBody"] = _body(body)
        codes.add("400")
    for code in sorted(codes):
        op["responses"][code] = _ERR
    if not auth:
        op["security"] = []
    if params:
        op["parameters"] = params
    return op


def _path_param(name: str) -> S:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name: str, schema: S) -> S:
    return {"name": name, "in": "query", "required": False, "schema": schema}


SCHEMAS: S = {
    "Error": {"type": "object", "required": ["error", "message"],
              "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                             "details": {"type": "object"}, "request_id": {"type": "string"}}},
    "User": {"type": "object", "required": ["id", "tenant_id", "email", "role", "status"],
             "properties": {"id": {"type": "string"}, "tenant_id": {"type": "string"},
                            "email": {"type": "string"},
                            "role": {"enum": ["user", "tenant_admin", "admin"]},
                            "status": {"type": "string"},
                            "display_name": _nullable("string"),
                            "created_at": {"type": "string"}}},
    "Me": {"allOf": [_ref("User"), {"type": "object", "properties": {
        "tier": {"type": "string"}, "auth_method": {"type": "string"},
        "credential_id": _nullable("string")}}]},
    "Tokens": {"type": "object",
               "required": ["access_token", "token_type", "expires_in", "refresh_token"],
               "properties": {"access_token": {"type": "string"},
                              "token_type": {"const": "Bearer"},
                              "expires_in": {"type": "integer"},
                              "refresh_token": {"type": "string"}, "user": _ref("User")}},
    "ApiKey": {"type": "object", "required": ["id", "prefix", "tier", "name"],
               "properties": {"id": {"type": "string"}, "tenant_id": {"type": "string"},
                              "user_id": {"type": "string"}, "name": {"type": "string"},
                              "prefix": {"type": "string"},
                              "tier": {"enum": ["trial", "starter", "professional",
                                                "enterprise"]},
                              "created_at": {"type": "string"}, "expires_at": _TS,
                              "revoked_at": _TS, "last_used_at": _TS}},
    "NewApiKey": {"allOf": [_ref("ApiKey"), {"type": "object", "required": ["key"],
                                             "properties": {"key": {"type": "string"}}}]},
    "Tenant": {"type": "object", "required": ["id", "name"],
               "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                              "status": {"type": "string"}, "settings": {"type": "object"},
                              "created_at": {"type": "string"}}},
    "OAuthApp": {"type": "object", "required": ["provider", "client_id"],
                 "properties": {"provider": {"type": "string"},
                                "client_id": {"type": "string"},
                                "redirect_uri": _nullable("string"),
                                "scopes": {"type": "array", "items": {"type": "string"}},
                                "updated_at": {"type": "string"},
                                "client_secret": {"const": "[set]"}}},
    "AuditEntry": {"type": "object", "required": ["id", "action", "created_at"],
                   "properties": {"id": {"type": "string"}, "tenant_id": _nullable("string"),
                                  "user_id": _nullable("string"), "action": {"type": "string"},
                                  "ip": _nullable("string"), "user_agent": _nullable("string"),
                                  "details": {"type": "object"},
                                  "created_at": {"type": "string"}}},
    "TenantSettings": {"type": "object", "required": ["tier", "disabled_tools"],
                       "properties": {"tier": {"type": "string"},
                                      "disabled_tools": {"type": "array",
                                                         "items": {"type": "string"}}}},
    "Credentials": {"type": "object", "required": ["email", "password"],
                    "properties": {"email": {"type": "string"},
                                   "password": {"type": "string"},
                                   "invite": {"type": "string", "description":
                                              "invite code from a tenant administrator "
                                              "(required when registration is by invite)"}}},
    "Invite": {"type": "object",
               "required": ["id", "tenant_id", "role", "status", "created_at", "expires_at"],
               "properties": {"id": {"type": "string"}, "tenant_id": {"type": "string"},
                              "email": _nullable("string"),
                              "role": {"enum": ["user", "tenant_admin", "admin"]},
                              "status": {"enum": ["pending", "used", "expired"]},
                              "created_by": _nullable("string"),
                              "created_at": {"type": "string"},
                              "expires_at": {"type": "string"}, "used_at": _TS,
                              "used_by": _nullable("string")}},
    "NewInvite": {"allOf": [_ref("Invite"), {"type": "object", "required": ["code"],
                                             "properties": {"code": {"type": "string"}}}]},
    "Login": {"type": "object", "required": ["email", "password"],
              "properties": {"email": {"type": "string"}, "password": {"type": "string"},
                             "mfa_code": {"type": "string", "description":
                                          "TOTP or recovery code, when the account uses MFA"}}},
    "RefreshRequest": {"type": "object", "required": ["refresh_token"],
                       "properties": {"refresh_token": {"type": "string"}}},
}


def _list(name: str) -> S:
    return {"type": "array", "items": _ref(name)}


def paths() -> S:
    key_id, user_id, provider = (_path_param("key_id"), _path_param("user_id"),
                                 _path_param("provider"))
    return {
        "/api/auth/register": {"post": _op(
            "Create an account: in the default tenant when registration is open, or in an "
            "invite's tenant with its role (a wrong, used or expired invite is a 400)",
            _ok(_ref("User"), "201", "created"), auth=False, body=_ref("Credentials"),
            errors=("403", "409"))},
        "/api/auth/login": {"post": _op(
            "Exchange email and password for an access and a refresh token",
            _ok(_ref("Tokens")), auth=False, body=_ref("Login"),
            errors=("401", "403", "429"))},
        "/api/auth/refresh": {"post": _op(
            "Rotate a refresh token (reuse revokes the whole family)", _ok(_ref("Tokens")),
            auth=False, body=_ref("RefreshRequest"), errors=("401", "403"))},
        "/api/auth/logout": {"post": _op(
            "Revoke a refresh token family", _ok(None, "204", "logged out"), auth=False,
            body=_ref("RefreshRequest"), errors=("401", "403"))},
        "/api/me": {"get": _op("The caller's account", _ok(_ref("Me")))},
        "/api/keys": {
            "get": _op("The caller's API keys (prefix and metadata only)", _ok(_list("ApiKey"))),
            "post": _op("Create an API key; the key is in this response only",
                        _ok(_ref("NewApiKey"), "201", "created"), errors=("403",),
                        body={"type": "object", "properties": {
                            "name": {"type": "string"},
                            "tier": {"enum": ["trial", "starter", "professional",
                                              "enterprise"]},
                            "expires_days": _nullable("integer")}}),
        },
        "/api/keys/{key_id}": {
            "delete": _op("Revoke an API key", _ok(None, "204", "revoked"), params=[key_id],
                          errors=("404",)),
            "patch": _op("Change a key's tier (tenant admins up to the tenant's plan, server "
                         "admins any); its live MCP sessions follow at once",
                         _ok(_ref("ApiKey")), params=[key_id], errors=("403", "404", "409"),
                         body={"type": "object", "required": ["tier"], "properties": {
                             "tier": {"enum": ["trial", "starter", "professional",
                                               "enterprise"]}}}),
        },
        "/api/tenant/invites": {
            "get": _op("The tenant's registration invites, without their codes (tenant admin)",
                       _ok(_list("Invite")), errors=("403",)),
            "post": _op("Create a single-use registration invite; the code is in this "
                        "response only (tenant admin)", _ok(_ref("NewInvite"), "201", "created"),
                        errors=("403",),
                        body={"type": "object", "properties": {
                            "email": {"type": "string",
                                      "description": "only this address may redeem it"},
                            "role": {"enum": ["user", "tenant_admin", "admin"]},
                            "expires_days": {"type": ["integer", "null"], "minimum": 1,
                                             "maximum": 90}}}),
        },
        "/api/tenant/invites/{invite_id}": {"delete": _op(
            "Delete an invite (tenant admin)", _ok(None, "204", "deleted"),
            params=[_path_param("invite_id")], errors=("403", "404"))},
        "/api/tenant/users": {
            "get": _op("Users of the caller's tenant (tenant admin)", _ok(_list("User")),
                       errors=("403",)),
            "post": _op("Create a user in the caller's tenant (tenant admin)",
                        _ok(_ref("User"), "201", "created"), errors=("403", "409"),
                        body={"type": "object", "required": ["email"], "properties": {
                            "email": {"type": "string"}, "password": {"type": "string"},
                            "role": {"enum": ["user", "tenant_admin", "admin"]}}}),
        },
        "/api/tenant/users/{user_id}": {"patch": _op(
            "Change a user's role or status (tenant admin)", _ok(_ref("User")),
            params=[user_id], errors=("403", "404"),
            body={"type": "object", "properties": {
                "role": {"enum": ["user", "tenant_admin", "admin"]},
                "status": {"enum": ["active", "disabled"]}}})},
        "/api/tenant/oauth-apps": {"get": _op(
            "The tenant's own provider OAuth apps (tenant admin)", _ok(_list("OAuthApp")),
            errors=("403",))},
        "/api/tenant/oauth-apps/{provider}": {
            "put": _op("Set the tenant's OAuth app for a provider (secret stored encrypted)",
                       _ok(_ref("OAuthApp")), params=[provider], errors=("403", "404"),
                       body={"type": "object", "required": ["client_id", "client_secret"],
                             "properties": {"client_id": {"type": "string"},
                                            "client_secret": {"type": "string"},
                                            "redirect_uri": {"type": "string"},
                                            "scopes": {"type": "array",
                                                       "items": {"type": "string"}}}}),
            "delete": _op("Remove the tenant's OAuth app for a provider",
                          _ok(None, "204", "removed"), params=[provider],
                          errors=("403", "404")),
        },
        "/api/tenant/settings": {
            "get": _op("The tenant's plan and tool switches (tenant admin)",
                       _ok(_ref("TenantSettings")), errors=("403",)),
            "patch": _op("Disable tools for the tenant; live MCP sessions get "
                         "tools/list_changed (tenant admin)", _ok(_ref("TenantSettings")),
                         errors=("403",),
                         body={"type": "object", "required": ["disabled_tools"],
                               "properties": {"disabled_tools": {
                                   "type": "array", "items": {"type": "string"}}}}),
        },
        "/api/admin/tenants/{tenant_id}": {"patch": _op(
            "Change a tenant's plan (server admin); its live sessions follow at once",
            _ok(_ref("Tenant")), params=[_path_param("tenant_id")], errors=("403", "404"),
            body={"type": "object", "required": ["tier"],
                  "properties": {"tier": {"type": "string"}}})},
        "/api/admin/tenants": {
            "get": _op("All tenants (server admin)", _ok(_list("Tenant")), errors=("403",)),
            "post": _op("Create a tenant (server admin)", _ok(_ref("Tenant"), "201", "created"),
                        errors=("403", "409"),
                        body={"type": "object", "required": ["name"],
                              "properties": {"name": {"type": "string"}}}),
        },
        "/api/admin/audit": {"get": _op(
            "Security audit log, newest first (tenant admins see their tenant)",
            _ok(_list("AuditEntry")), errors=("400", "403"),
            params=[_query("tenant_id", {"type": "string"}), _query("action", {"type": "string"}),
                    _query("user_id", {"type": "string"}),
                    _query("since", {"type": "string", "format": "date-time"}),
                    _query("until", {"type": "string", "format": "date-time"}),
                    _query("limit", {"type": "integer", "minimum": 0, "maximum": 1000}),
                    _query("offset", {"type": "integer", "minimum": 0, "maximum": 1000000})])},
        "/.well-known/jwks.json": {"get": _op(
            "Public keys that verify Pierre's access tokens",
            _ok({"type": "object", "required": ["keys"],
                 "properties": {"keys": {"type": "array", "items": {"type": "object"}}}}),
            auth=False)},
    }


def openapi_document(server_url: str) -> S:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Pierre REST API", "version": "1.0",
                 "description": "Identity and administration. Every endpoint accepts "
                                "`Authorization: Bearer` with a JWT or an API key."},
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "paths": paths(),
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "JWT access token or pk_ API key"}},
        },
    }


DOCS_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>Pierre REST API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em}
code{background:#f4f4f4;padding:0 .3em}h2{margin-top:1.5em}.m{font-weight:bold;width:5em;
display:inline-block}</style></head><body>
<h1>Pierre REST API</h1><p>Machine-readable description: <a href="/api/openapi.json">
/api/openapi.json</a> (OpenAPI 3.1). Authenticate with <code>Authorization: Bearer</code> and a
JWT or an API key.</p><div id="ops">Loading…</div>
<script>
fetch('/api/openapi.json').then(r => r.json()).then(doc => {
  const out = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const li = document.createElement('p');
      const m = document.createElement('span'); m.className = 'm';
      m.textContent = method.toUpperCase();
      const c = document.createElement('code'); c.textContent = path;
      li.append(m, c, document.createTextNode(' — ' + (op.summary || '')));
      out.push(li);
    }
  }
  document.getElementById('ops').replaceChildren(...out);
});
</script></body></html>
"""
