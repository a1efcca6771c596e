"""REST rate-limit headers and 429s through a real aiohttp server on port 0.

The route here stands in for any authenticated REST handler: it calls
`limit_request` exactly as the documented pattern says.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from pierre.auth.principal import Principal
from pierre.config.schema import Config, RateLimitConfig, TierConfig
from pierre.http.app import SERVICES, errors_and_logging
from pierre.plugins.registry import PluginRegistry
from pierre.ratelimit import http as rl_http
from pierre.ratelimit.memory import MemoryRateLimiter
from pierre.ratelimit.service import RateLimitService
from pierre.services import Services
from pierre.tools.base import ToolRegistry

BIG = TierConfig(capacity=10_000, refill_per_s=1_000)


@pytest.fixture
async def client() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    config = Config(ratelimit=RateLimitConfig(
        tiers={"starter": TierConfig(capacity=2, refill_per_s=0.5)}, user=BIG, tenant=BIG))
    services = Services(config=config, plugins=PluginRegistry(), tools=ToolRegistry())
    services.ratelimiter = MemoryRateLimiter()
    services.limits = RateLimitService(services)
    app = web.Application(middlewares=[errors_and_logging])
    app[SERVICES] = services

    async def me(request: web.Request) -> web.Response:
        who = Principal(tenant_id="acme", user_id=request.match_info["user"],
                        credential_id="k1", method="api_key")
        await rl_http.limit_request(request, who)
        return web.json_response({"ok": True})

    async def custom(request: web.Request) -> web.StreamResponse:
        who = Principal(tenant_id="acme", user_id="custom", credential_id="k9")
        decision = await services.limits.check_call(who)
        resp = web.StreamResponse()
        rl_http.apply_headers(resp, decision)
        await resp.prepare(request)
        await resp.write_eof()
        return resp

    async def open_route(_: web.Request) -> web.Response:
        return web.json_response({"public": True})

    rl_http.setup(app, services)
    app.router.add_get("/me/{user}", me)
    app.router.add_get("/custom", custom)
    app.router.add_get("/open", open_route)
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as c:
        yield c


async def test_answers_carry_ratelimit_headers_and_refusal_is_429_with_retry_after(
    client: TestClient[web.Request, web.Application],
) -> None:
    first = await client.get("/me/u1")
    assert first.status == 200
    assert first.headers["X-RateLimit-Limit"] == "2"
    assert first.headers["X-RateLimit-Remaining"] == "1"
    assert first.headers["X-RateLimit-Reset"] == "2"  # 1 token at 0.5/s
    second = await client.get("/me/u1")
    assert second.headers["X-RateLimit-Remaining"] == "0"
    refused = await client.get("/me/u1")
    assert refused.status == 429
    assert refused.headers["Retry-After"] == "2"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.headers["X-RateLimit-Limit"] == "2"
    body = await refused.json()
    assert body["error"] == "rate_limited"
    assert "retry in 2 s" in body["message"]
    assert body["details"]["scope"] == "key"


async def test_unlimited_routes_get_no_headers_and_handlers_may_apply_them_directly(
    client: TestClient[web.Request, web.Application],
) -> None:
    public = await client.get("/open")
    assert "X-RateLimit-Limit" not in public.headers
    custom = await client.get("/custom")
    assert custom.status == 200 and custom.headers["X-RateLimit-Remaining"] == "1"


async def test_status_route_requires_a_bearer_token(
    client: TestClient[web.Request, web.Application],
) -> None:
    resp = await client.get("/api/ratelimit")
    # No authenticator is wired in this app: a clear 503, never a traceback.
    assert resp.status == 503
    assert "authentication is not available" in (await resp.json())["message"]
