"""/metrics counts what happened: drive a real daemon through its sockets, then scrape it.

Values are read with prometheus-client's own text parser, so the test also checks that the
exposition is well-formed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes.strava import FakeStrava
from tests.mcp.support import Raw, api_key
from tests.support.daemon import DaemonProcess

PASSWORD = "correct horse battery staple"


@pytest.fixture
async def fake() -> AsyncIterator[FakeStrava]:
    f = await FakeStrava(n_activities=5).start()
    yield f
    await f.stop()


async def scrape(h: httpx.AsyncClient, d: DaemonProcess) -> dict[tuple[str, frozenset[Any]], float]:
    r = await h.get(f"{d.http_url}/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    out: dict[tuple[str, frozenset[Any]], float] = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(m: dict[tuple[str, frozenset[Any]], float], name: str, **labels: str) -> float:
    return m.get((name, frozenset(labels.items())), 0.0)


def labelled(m: dict[tuple[str, frozenset[Any]], float], name: str, key: str) -> set[str]:
    return {dict(lbl)[key] for (n, lbl) in m if n == name and key in dict(lbl)}


async def test_metrics_count_connections_tools_provider_calls_refreshes_cache_and_refusals(
        daemon_factory: Callable[..., DaemonProcess], fake: FakeStrava) -> None:
    d = await asyncio.to_thread(daemon_factory, {
        "providers": {"strava": {
            "client_id": fake.client_id, "client_secret": fake.client_secret,
            "api_base_url": f"{fake.url}/api/v3", "auth_url": f"{fake.url}/oauth/authorize",
            "token_url": f"{fake.url}/oauth/token", "retries": 0, "backoff_s": 0.01}},
        "ratelimit": {"tiers": {"trial": {"capacity": 2, "refill_per_s": 0.001,
                                          "monthly_quota": 0}}},
    })
    tight_key = await asyncio.to_thread(api_key, d, "trial", "tight")
    async with httpx.AsyncClient(timeout=10, follow_redirects=True) as h:
        r = await h.post(f"{d.http_url}/api/auth/register",
                         json={"email": "m@example.com", "password": PASSWORD})
        assert r.status_code == 201, r.text
        r = await h.post(f"{d.http_url}/api/auth/login",
                         json={"email": "m@example.com", "password": PASSWORD})
        token = r.json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        r = await h.post(f"{d.http_url}/api/providers/strava/connect", headers=auth)
        landed = await h.get(r.json()["authorization_url"])  # fake -> daemon callback
        assert landed.status_code == 200, landed.text

        before = await scrape(h, d)
        assert value(before, "pierre_connections_open", transport="websocket") == 0
        c = await Raw.open(d.ws_url, token)
        try:
            await c.initialize()
            during = await scrape(h, d)
            assert value(during, "pierre_connections_open", transport="websocket") == 1
            args: dict[str, Any] = {"provider": "strava", "limit": 3}
            for _ in range(2):  # upstream once, then from the cache
                res = await c.call("tools/call", {"name": "get_activities", "arguments": args})
                assert not res["result"].get("isError"), res
            fake.expire_access_tokens()  # the next upstream call gets a 401, then refreshes
            res = await c.call("tools/call", {"name": "get_activities",
                                              "arguments": {**args, "limit": 4}})
            assert not res["result"].get("isError"), res
            bogus = await c.call("tools/call", {"name": "no_such_tool_x1", "arguments": {}})
            assert "error" in bogus
        finally:
            await c.close()
        for _ in range(3):  # capacity 2: the third is refused
            last = await h.get(f"{d.http_url}/api/ratelimit",
                               headers={"Authorization": f"Bearer {tight_key}"})
        assert last.status_code == 429

        await asyncio.sleep(0.2)  # the server notices the close
        m = await scrape(h, d)
    assert value(m, "pierre_connections_open", transport="websocket") == 0
    assert value(m, "pierre_tool_calls_total", tool="get_activities", outcome="ok") == 3
    assert value(m, "pierre_tool_calls_total", tool="unknown", outcome="unknown_tool") == 1
    assert "no_such_tool_x1" not in labelled(m, "pierre_tool_calls_total", "tool")
    assert value(m, "pierre_tool_seconds_count", tool="get_activities") == 3
    assert value(m, "pierre_requests_total", transport="websocket", method="tools/call",
                 outcome="ok") == 3
    assert value(m, "pierre_cache_lookups_total", result="hit") >= 1
    assert value(m, "pierre_cache_lookups_total", result="miss") >= 2
    assert value(m, "pierre_provider_calls_total", provider="strava", status="ok") >= 2
    assert value(m, "pierre_provider_calls_total", provider="strava",
                 status="401") >= 1
    assert value(m, "pierre_token_refreshes_total", provider="strava", outcome="ok") == 1
    assert value(m, "pierre_ratelimit_refusals_total", scope="key") == 1
    assert value(m, "pierre_requests_total", transport="http", method="GET /api/ratelimit",
                 outcome="429") == 1


@pytest.mark.postgres
async def test_postgres_pool_use_is_exported(pg_dsn: str, tmp_path: Any) -> None:
    pytest.importorskip("pierre_postgres")
    from pierre.config.schema import Config
    from pierre.ops.metrics import Metrics
    from pierre.plugins.base import PluginContext
    from pierre.plugins.registry import PluginRegistry

    cls = PluginRegistry().discover().get("pierre.databases", "postgres")
    db = cls.from_config({"dsn": pg_dsn, "max_size": 2},
                         PluginContext(config=Config(), data_dir=str(tmp_path)))
    await db.start()
    metrics = Metrics()
    metrics.track_db_pool(db.pool_in_use)

    def in_use() -> float:
        fams = {f.name: f for f in text_string_to_metric_families(metrics.render().decode())}
        return float(fams["pierre_db_pool_in_use"].samples[0].value)

    try:
        assert in_use() == 0
        async with db.read():
            assert in_use() == 1
        assert in_use() == 0
    finally:
        await db.close()
