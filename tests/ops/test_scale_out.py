"""Two daemons behind one public name share everything a client can notice.

Both instances run against the real local PostgreSQL (a fresh database per run)
and the real local Redis (a fresh key prefix per run), with the same master
key, exactly like config/multi-instance/. A load balancer may send any request
to any instance; the test plays that balancer by choosing the port.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from tests.fakes.strava import FakeStrava
from tests.support.daemon import DaemonProcess

pytest.importorskip("pierre_postgres")
pytest.importorskip("pierre_redis")
asyncpg = pytest.importorskip("asyncpg")
redis_asyncio = pytest.importorskip("redis.asyncio")
pytestmark = [pytest.mark.postgres, pytest.mark.redis]

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "scale-out", "version": "1"}}}
ACCEPT = "application/json, text/event-stream"
PASSWORD = "correct horse battery staple"
TIGHT = 4  # calls the `trial` tier allows during the test


@pytest.fixture
async def fresh_pg(pg_dsn: str) -> AsyncIterator[str]:
    """A database of its own, so concurrent runs never see each other's rows."""
    name = f"pierre_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    parts = urlsplit(pg_dsn)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        admin = await asyncpg.connect(pg_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    prefix = f"pierretest:{uuid.uuid4().hex}:"
    try:
        yield prefix
    finally:
        client = redis_asyncio.Redis.from_url(redis_url)
        try:
            keys = [k async for k in client.scan_iter(match=prefix + "*")]
            if keys:
                await client.unlink(*keys)
        finally:
            await client.aclose()


@pytest.fixture
async def fake() -> AsyncIterator[FakeStrava]:
    f = await FakeStrava(n_activities=3).start()
    yield f
    await f.stop()


@pytest.fixture
async def pair(daemon_factory: Callable[..., DaemonProcess], fresh_pg: str, redis_url: str,
               redis_prefix: str, fake: FakeStrava) -> tuple[DaemonProcess, DaemonProcess]:
    """Instances A and B with one configuration apart from their data folders and ports."""
    master_key = base64.b64encode(secrets.token_bytes(32)).decode()
    shared: dict[str, Any] = {
        "database": {"backend": "postgres", "dsn": fresh_pg, "max_size": 4},
        "ratelimit": {"backend": "redis", "url": redis_url, "prefix": redis_prefix + "rl:",
                      "tiers": {"trial": {"capacity": TIGHT, "refill_per_s": 0.001,
                                          "monthly_quota": 0}}},
        "cache": {"backend": "redis", "url": redis_url, "prefix": redis_prefix + "c:"},
        "security": {"master_key": master_key, "generate_master_key": False,
                     "registration": "open"},
        "providers": {"strava": {
            "client_id": fake.client_id, "client_secret": fake.client_secret,
            "api_base_url": f"{fake.url}/api/v3", "auth_url": f"{fake.url}/oauth/authorize",
            "token_url": f"{fake.url}/oauth/token", "retries": 1, "backoff_s": 0.01}},
    }
    # A migrates the fresh database; B then starts on the migrated schema.
    a = await asyncio.to_thread(daemon_factory, shared, name="a")
    b = await asyncio.to_thread(daemon_factory, shared, name="b")
    return a, b


async def _login(h: httpx.AsyncClient, base: str) -> str:
    r = await h.post(f"{base}/api/auth/login", json={"email": "ann@example.com",
                                                     "password": PASSWORD})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


async def test_user_registered_on_one_instance_logs_in_on_the_other(
        pair: tuple[DaemonProcess, DaemonProcess]) -> None:
    a, b = pair
    async with httpx.AsyncClient(timeout=10) as h:
        r = await h.post(f"{a.http_url}/api/auth/register",
                         json={"email": "ann@example.com", "password": PASSWORD})
        assert r.status_code == 201, r.text
        token = await _login(h, b.http_url)
        # A token issued by B is accepted by A (shared signing keys).
        me = await h.get(f"{a.http_url}/api/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["email"] == "ann@example.com"
        bad = await h.post(f"{b.http_url}/api/auth/login",
                           json={"email": "ann@example.com", "password": "wrong password!"})
        assert bad.status_code == 401

        # OAuth: started on A, the provider sends the browser back to the public callback,
        # which the balancer hands to B.
        auth = {"Authorization": f"Bearer {token}"}
        r = await h.post(f"{a.http_url}/api/providers/strava/connect", headers=auth)
        assert r.status_code == 200, r.text
        to_fake = await h.get(r.json()["authorization_url"])
        assert to_fake.status_code == 302
        callback = urlsplit(to_fake.headers["Location"])
        assert callback.path == "/oauth/strava/callback"
        landed = await h.get(f"{b.http_url}{callback.path}?{callback.query}")
        assert landed.status_code == 200 and "Strava connected" in landed.text, landed.text
        # The state was single-use across the cluster: replaying it on A fails.
        replay = await h.get(f"{a.http_url}{callback.path}?{callback.query}")
        assert replay.status_code == 400
        for d in (a, b):
            st = await h.get(f"{d.http_url}/api/providers", headers=auth)
            strava = {p["provider"]: p for p in st.json()["providers"]}["strava"]
            assert strava["connected"], st.text


async def test_streamable_http_session_continues_on_the_other_instance(
        pair: tuple[DaemonProcess, DaemonProcess]) -> None:
    from tests.mcp.support import api_key

    a, b = pair
    key = await asyncio.to_thread(api_key, a, "starter", "scale")
    base = {"Authorization": f"Bearer {key}", "Accept": ACCEPT}
    async with httpx.AsyncClient(timeout=10) as h:
        r = await h.post(f"{a.http_url}/mcp", json=INIT, headers=base)
        assert r.status_code == 200, r.text
        sid = r.headers["Mcp-Session-Id"]
        s = {**base, "Mcp-Session-Id": sid}
        note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert (await h.post(f"{a.http_url}/mcp", json=note, headers=s)).status_code == 202
        r = await h.post(f"{b.http_url}/mcp", headers=s,
                         json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
        assert r.status_code == 200, r.text
        names = {t["name"] for t in _rpc(r)["result"]["tools"]}
        assert "get_activities" in names or len(names) > 5, names
        unknown = {**base, "Mcp-Session-Id": uuid.uuid4().hex}
        r = await h.post(f"{b.http_url}/mcp", headers=unknown,
                         json={"jsonrpc": "2.0", "id": 3, "method": "ping"})
        assert r.status_code == 404
        # Ending it on B ends it everywhere.
        assert (await h.delete(f"{b.http_url}/mcp", headers=s)).status_code == 204
        r = await h.post(f"{a.http_url}/mcp", headers=s,
                         json={"jsonrpc": "2.0", "id": 4, "method": "ping"})
        assert r.status_code == 404


async def test_rate_limit_is_one_budget_across_instances(
        pair: tuple[DaemonProcess, DaemonProcess]) -> None:
    from tests.mcp.support import api_key

    a, b = pair
    key = await asyncio.to_thread(api_key, b, "trial", "tight")
    auth = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(timeout=10) as h:
        remaining = []
        for i in range(TIGHT):
            d = (a, b)[i % 2]
            r = await h.get(f"{d.http_url}/api/ratelimit", headers=auth)
            assert r.status_code == 200, r.text
            remaining.append(int(r.headers["X-RateLimit-Remaining"]))
        assert remaining == list(range(TIGHT - 1, -1, -1))
        for d in (a, b):
            r = await h.get(f"{d.http_url}/api/ratelimit", headers=auth)
            assert r.status_code == 429, r.text
            assert int(r.headers["Retry-After"]) >= 1


def _rpc(r: httpx.Response) -> Any:
    """A JSON-RPC reply sent as JSON or as one SSE event."""
    if r.headers.get("content-type", "").startswith("text/event-stream"):
        import json

        for line in r.text.splitlines():
            if line.startswith("data:"):
                return json.loads(line[5:])
        raise AssertionError(f"no data event in {r.text!r}")
    return r.json()
