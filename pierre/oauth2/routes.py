"""aiohttp endpoints of the authorization server, and the consent page.

Discovery, registration and token endpoints are plain JSON with CORS open to
any origin (browser-based MCP clients call them; no cookie is involved).
`/oauth2/authorize` is a browser page: it needs a dashboard session and
renders the consent form from the dashboard's renderer.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import quote, unquote

import orjson
import structlog
from aiohttp import web

from pierre.dashboard import render
from pierre.dashboard.render import tag
from pierre.dashboard.routes import DASHBOARD
from pierre.dashboard.web import html_response, message_page, see_other
from pierre.oauth2 import metadata
from pierre.oauth2.errors import OAuthError
from pierre.oauth2.server import AuthorizationServer, load_server_secret
from pierre.services import Services

log = structlog.get_logger("pierre.oauth2")

OAUTH: web.AppKey[AuthorizationServer] = web.AppKey("oauth2", AuthorizationServer)
CORS = {"Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": "Authorization, Content-Type, MCP-Protocol-Version",
        "Access-Control-Max-Age": "600"}
AUTHORIZE_FIELDS = ("client_id", "redirect_uri", "response_type", "code_challenge",
                    "code_challenge_method", "resource", "scope", "state")


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status,
                        content_type="application/json",
                        headers={**CORS, "Cache-Control": "no-store", "Pragma": "no-cache"})


def _oauth_error(exc: OAuthError) -> web.Response:
    resp = _json(exc.to_dict(), exc.status)
    if exc.status == 401:
        resp.headers["WWW-Authenticate"] = 'Basic realm="pierre-oauth2"'
    return resp


async def preflight(_: web.Request) -> web.Response:
    return web.Response(status=204, headers=CORS)


async def as_metadata(request: web.Request) -> web.Response:
    return _json(metadata.authorization_server_metadata(request.app[OAUTH].issuer))


async def pr_metadata(request: web.Request) -> web.Response:
    server = request.app[OAUTH]
    return _json(metadata.protected_resource_metadata(server.resource, server.issuer))


async def register(request: web.Request) -> web.Response:
    server = request.app[OAUTH]
    try:
        body = await request.json(loads=orjson.loads)
    except (ValueError, orjson.JSONDecodeError):
        return _oauth_error(OAuthError("invalid_client_metadata", "the body must be JSON"))
    try:
        out = server.register(body)
    except OAuthError as exc:
        return _oauth_error(exc)
    log.info("oauth2_client_registered", client_name=out["client_name"])
    return _json(out, 201)


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    cid, sep, secret = raw.partition(":")
    return (unquote(cid), unquote(secret)) if sep else None


async def token(request: web.Request) -> web.Response:
    server = request.app[OAUTH]
    form = await request.post()
    params = {k: str(v) for k, v in form.items()}
    try:
        return _json(await server.token(params, _basic(request.headers.get("Authorization"))))
    except OAuthError as exc:
        log.info("oauth2_token_refused", error=exc.error)
        return _oauth_error(exc)


# -- authorize and consent --------------------------------------------------------------
def _consent_body(server: AuthorizationServer, req: Any, params: dict[str, str], csrf: str,
                  who: str) -> render.Markup:
    hidden = [tag("input", type="hidden", name=k, value=params[k])
              for k in AUTHORIZE_FIELDS if params.get(k)]
    redirect_host = req.redirect_uri.split("?")[0]
    return tag("div", [
        tag("p", [tag("strong", req.client.client_name),
                  " wants to use Pierre on your behalf."]),
        tag("p", f"Signed in as {who}. It will be able to call Pierre's tools with your "
                 "connected fitness data until you revoke it.", class_="muted"),
        tag("p", f"After your answer you go back to {redirect_host}", class_="muted"),
        tag("form", [render.csrf_field(csrf), *hidden,
                     tag("button", "Allow", type="submit", name="decision", value="allow",
                         id="allow"), " ",
                     tag("button", "Deny", type="submit", name="decision", value="deny",
                         id="deny", class_="danger")],
            method="post", action="/oauth2/authorize"),
    ], class_="card")


def _error_page(exc: OAuthError, principal: Any = None) -> web.Response:
    return message_page("Authorization failed", f"{exc.error}: {exc.description}",
                        status=400, principal=principal)


async def authorize(request: web.Request) -> web.StreamResponse:
    server = request.app[OAUTH]
    dash = request.app[DASHBOARD]
    if request.method == "POST":
        form = await request.post()
        params = {k: str(form[k]) for k in AUTHORIZE_FIELDS if form.get(k)}
    else:
        form = None
        params = {k: v for k, v in request.query.items() if k in AUTHORIZE_FIELDS}
    try:
        req = server.parse_authorization(params)
    except OAuthError as exc:
        if not exc.redirectable:
            return _error_page(exc)
        # The client and redirect URI are valid here: the error goes back to the client.
        client = server.codec.decode(params.get("client_id"))
        target = params.get("redirect_uri") or client.redirect_uris[0]
        from pierre.oauth2.grants import redirect_with

        raise see_other(redirect_with(target, {**exc.to_dict(), "state": params.get("state"),
                                               "iss": server.issuer})) from None
    principal, sess = await dash.principal(request)
    if principal is None or sess is None:
        if request.method == "POST":
            return message_page("Signed out", "Sign in again to continue.", status=401)
        raise see_other(f"/dashboard/login?next={quote(request.path_qs, safe='')}")
    csrf = dash.csrf(request, sess)
    if form is None:
        body = _consent_body(server, req, params, csrf, principal.email or principal.user_id)
        # form-action is left open: the answer redirects to the client's own URI.
        csp = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
               " object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
        return html_response(render.page("Allow access?", body, principal=principal,
                                         csrf=csrf, page_id="consent"), csp=csp)
    if not dash.check_csrf(request, sess, form):
        return message_page("Refused", "The consent form expired; start again from your "
                            "application.", status=403, principal=principal, csrf=csrf)
    if form.get("decision") == "allow":
        location = await server.approve(req, principal)
    else:
        location = server.deny(req)
    resp = web.HTTPFound(location)
    resp.headers["Cache-Control"] = "no-store"
    raise resp


def setup(app: web.Application, services: Services) -> None:
    server = AuthorizationServer(services, load_server_secret(services))
    app[OAUTH] = server
    services.extras["oauth2"] = server
    r = app.router
    mcp_path = services.config.mcp.path
    for path in (metadata.WELL_KNOWN_AS, f"{metadata.WELL_KNOWN_AS}{mcp_path}"):
        r.add_get(path, as_metadata)
        r.add_options(path, preflight)
    for path in (metadata.WELL_KNOWN_PR, f"{metadata.WELL_KNOWN_PR}{mcp_path}"):
        r.add_get(path, pr_metadata)
        r.add_options(path, preflight)
    r.add_post("/oauth2/register", register)
    r.add_options("/oauth2/register", preflight)
    r.add_post("/oauth2/token", token)
    r.add_options("/oauth2/token", preflight)
    r.add_get("/oauth2/authorize", authorize)
    r.add_post("/oauth2/authorize", authorize)
