"""Liveness and readiness: /health says the process runs, /ready that it can serve."""

from __future__ import annotations

import asyncio
import hmac

from aiohttp import web

from pierre import __version__
from pierre.services import Services


def setup(app: web.Application, services: Services) -> None:
    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "version": __version__})

    async def ready(_: web.Request) -> web.Response:
        checks: dict[str, str] = {}
        for name, backend in (
            ("database", services.db),
            ("cache", services.cache),
            ("ratelimit", services.ratelimiter),
        ):
            if backend is None:
                checks[name] = "not configured"
                continue
            try:
                await asyncio.wait_for(backend.health(), timeout=2.0)
                checks[name] = "ok"
            except Exception as exc:  # any failure means not ready; name it
                checks[name] = f"failing: {type(exc).__name__}: {exc}"[:200]
        for name in ("mcp_bound", "http_bound"):
            checks[name.replace("_bound", "_listener")] = (
                "ok" if services.extras.get(name) else "not listening"
            )
        ok = all(v == "ok" for v in checks.values())
        return web.json_response(
            {"status": "ready" if ok else "not ready", "checks": checks},
            status=200 if ok else 503,
        )

    async def metrics(request: web.Request) -> web.Response:
        cfg = services.config.metrics
        if not cfg.enabled or services.metrics is None:
            raise web.HTTPNotFound()
        if cfg.allow_from and request.remote not in cfg.allow_from:
            raise web.HTTPForbidden(text="metrics are not served to this address")
        if cfg.token and not hmac.compare_digest(
            request.headers.get("Authorization", ""), f"Bearer {cfg.token}"
        ):
            raise web.HTTPUnauthorized(headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
        body = services.metrics.render()
        return web.Response(body=body, headers={"Content-Type": services.metrics.content_type})

    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/metrics", metrics)
