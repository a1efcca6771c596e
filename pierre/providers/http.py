"""HTTP routes for providers: OAuth callback page, connection REST API, file upload.

The callback is opened by a person's browser, so it answers a small HTML page
in every case (connected, or why not) instead of JSON.
"""

from __future__ import annotations

import html
from typing import Any

import structlog
from aiohttp import BodyPartReader, web

from pierre.errors import InvalidArguments, PierreError, ServiceUnavailable
from pierre.services import Services

log = structlog.get_logger("pierre.providers.http")
MAX_UPLOAD_FILES = 200

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Pierre: {title}</title><meta name="viewport" content="width=device-width">
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem}}
h1{{font-size:1.4rem}}</style></head><body><h1>{title}</h1><p>{body}</p></body></html>"""


def _page(title: str, body: str, status: int) -> web.Response:
    return web.Response(text=_PAGE.format(title=html.escape(title), body=html.escape(body)),
                        status=status, content_type="text/html",
                        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


def _services(request: web.Request) -> Services:
    from pierre.http.app import SERVICES

    return request.app[SERVICES]


def _manager(request: web.Request) -> Any:
    s = _services(request)
    if s.providers is None:
        raise ServiceUnavailable("fitness providers are not available on this server")
    return s.providers


async def _principal(request: web.Request) -> Any:
    from pierre.auth.http import require_principal

    return await require_principal(request)


async def oauth_callback(request: web.Request) -> web.Response:
    provider = request.match_info["provider"]
    try:
        m = _manager(request)
        result = await m.complete_authorization(provider, dict(request.query))
    except PierreError as exc:
        log.info("oauth_callback_failed", provider=provider, error=exc.code)
        return _page("Connection failed", exc.message, 400 if exc.http_status < 500 else 502)
    name = m.get(result["provider"]).display_name
    return _page(f"{name} connected",
                 f"Pierre can now read your {name} data. You can close this window and go back "
                 "to your assistant.", 200)


async def list_providers(request: web.Request) -> web.Response:
    principal = await _principal(request)
    return web.json_response({"providers": await _manager(request).status(principal)})


async def connect(request: web.Request) -> web.Response:
    principal = await _principal(request)
    body: dict[str, Any] = {}
    if request.can_read_body and request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise InvalidArguments("body must be JSON") from None
    redirect = body.get("redirect_uri") if isinstance(body, dict) else None
    out = await _manager(request).connect(principal, request.match_info["name"],
                                          redirect_uri=redirect if isinstance(redirect, str)
                                          else None)
    return web.json_response(out)


async def disconnect(request: web.Request) -> web.Response:
    principal = await _principal(request)
    return web.json_response(await _manager(request).disconnect(principal,
                                                                request.match_info["name"]))


async def import_files(request: web.Request) -> web.Response:
    """multipart/form-data, any number of file parts (GPX, TCX, FIT)."""
    principal = await _principal(request)
    m = _manager(request)
    if not request.content_type.startswith("multipart/"):
        raise InvalidArguments("send the files as multipart/form-data", field="file")
    files: list[tuple[str, bytes]] = []
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or not part.filename:
            continue
        if len(files) >= MAX_UPLOAD_FILES:
            raise InvalidArguments(f"at most {MAX_UPLOAD_FILES} files per upload", field="file")
        files.append((part.filename, bytes(await part.read())))
    if not files:
        raise InvalidArguments("no files in the upload", field="file")
    await ensure_localfiles(m, principal)
    cl = await m.client(principal, "localfiles")
    return web.json_response(await cl.import_files(files))


async def ensure_localfiles(m: Any, principal: Any) -> None:
    """Importing files implies the local-files connection."""
    for s in await m.status(principal):
        if s["provider"] == "localfiles" and s["connected"]:
            return
    await m.connect(principal, "localfiles")


async def garmin_webhook(request: web.Request) -> web.Response:
    """Garmin ping/push notifications; answered 200 quickly, processed by the plugin."""
    m = _manager(request)
    p = m.providers.get("garmin")
    handler = getattr(p, "handle_notification", None)
    if handler is None:
        raise web.HTTPNotFound()
    try:
        payload = await request.json()
    except ValueError:
        raise InvalidArguments("notification body must be JSON") from None
    result = await handler(m, payload)
    return web.json_response(result)


def setup(app: web.Application, services: Services) -> None:
    app.router.add_get("/oauth/{provider}/callback", oauth_callback)
    app.router.add_get("/api/providers", list_providers)
    app.router.add_post("/api/providers/{name}/connect", connect)
    app.router.add_delete("/api/providers/{name}", disconnect)
    app.router.add_post("/api/import", import_files)
    app.router.add_post("/webhooks/garmin", garmin_webhook)
