"""Builds the aiohttp application: middlewares, then each capability's routes."""

from __future__ import annotations

import importlib
import itertools
import os
import time
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from pierre.errors import PierreError, RateLimited
from pierre.ops.tracing import LiveSpan, NullSpan, tracer
from pierre.services import Services

log = structlog.get_logger("pierre.http")

SERVICES: web.AppKey[Services] = web.AppKey("services", Services)

# Each module exposes `setup(app: web.Application, services: Services) -> None`.
ROUTE_MODULES = (
    "pierre.http.health",
    "pierre.auth.http",
    "pierre.transports.streamable_http",
    "pierre.providers.http",
    "pierre.a2a.http",
    "pierre.security.http",
    "pierre.ratelimit.http",
    "pierre.dashboard.routes",
    "pierre.oauth2.routes",
)

# Request ids: a per-process random prefix plus a counter (unique, and no urandom
# syscall per request as uuid4 would cost).
_ID_PREFIX = os.urandom(4).hex()
_ids = itertools.count(1)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_response(exc: PierreError) -> web.Response:
    resp = web.json_response(exc.to_dict(), status=exc.http_status)
    if isinstance(exc, RateLimited):
        resp.headers["Retry-After"] = str(max(1, int(exc.retry_after + 0.999)))
    if exc.http_status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="pierre"'
    return resp


@web.middleware
async def errors_and_logging(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map PierreError to JSON once; log one line per request; never leak a traceback."""
    request_id = request.headers.get("X-Request-Id") or f"{_ID_PREFIX}{next(_ids):08x}"
    structlog.contextvars.bind_contextvars(request_id=request_id, transport="http")
    start = time.perf_counter()
    status = 500
    try:
        try:
            resp = await handler(request)
        except PierreError as exc:
            resp = error_response(exc)
            oauth2 = request.app[SERVICES].extras.get("oauth2")
            if exc.http_status == 401 and oauth2 is not None and (
                    request.path == request.app[SERVICES].config.mcp.path):
                resp.headers["WWW-Authenticate"] = oauth2.www_authenticate()  # RFC 9728
        except web.HTTPException:
            raise
        except Exception:
            log.exception("http_unhandled", path=request.path, method=request.method)
            resp = web.json_response(
                {"error": "internal_error", "message": "internal error", "request_id": request_id},
                status=500,
            )
        status = resp.status
        resp.headers.setdefault("X-Request-Id", request_id)
        return resp
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        elapsed = time.perf_counter() - start
        metrics = request.app[SERVICES].metrics
        if metrics is not None:
            route = request.match_info.route.resource
            label = route.canonical if route is not None else "unmatched"
            metrics.requests.labels("http", f"{request.method} {label}", str(status)).inc()
            metrics.request_seconds.labels("http").observe(elapsed)
        log.info(
            "http_request",
            method=request.method,
            path=request.path,
            status=status,
            ms=round(elapsed * 1000, 2),
        )
        structlog.contextvars.unbind_contextvars("request_id", "transport")


@web.middleware
async def traced(request: web.Request, handler: Handler) -> web.StreamResponse:
    """One SERVER span per request, continuing the caller's W3C traceparent if any.

    Installed only while tracing is on, so the disabled path costs nothing at all.
    """
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    with tracer.server_span(f"{request.method} {route}", request.headers, {
            "http.request.method": request.method, "http.route": route,
            "url.scheme": request.scheme}) as span:
        try:
            resp = await handler(request)
        except web.HTTPException as exc:
            _status(span, exc.status)
            raise
        _status(span, resp.status)
        return resp


def _status(span: NullSpan | LiveSpan, status: int) -> None:
    span.set("http.response.status_code", status)
    if status >= 500:  # a 4xx is the client's doing, not a failed server span
        span.fail(str(status))


def build_app(services: Services) -> web.Application:
    app = web.Application(
        middlewares=[traced, errors_and_logging] if tracer.enabled else [errors_and_logging],
        client_max_size=services.config.http.client_max_size,
    )
    app[SERVICES] = services
    for name in ROUTE_MODULES:
        importlib.import_module(name).setup(app, services)
    return app
