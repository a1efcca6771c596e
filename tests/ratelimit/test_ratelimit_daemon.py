"""Rate limiting and shared state through real daemons and their sockets."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ratelimit.redis_server import RedisServer
from tests.support.daemon import DaemonProcess


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.stop()


def wait_status(url: str, status: int, timeout: float = 10.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        resp = httpx.get(url, timeout=5)
        if resp.status_code == status or time.monotonic() > deadline:
            return resp
        time.sleep(0.1)


def test_ready_turns_503_while_redis_is_down_and_recovers(
    daemon_factory: Callable[..., DaemonProcess], own_redis: RedisServer
) -> None:
    d = daemon_factory({
        "ratelimit": {"backend": "redis", "url": own_redis.url, "prefix": "rl:",
                      "on_backend_error": "fail_open"},
        "cache": {"backend": "redis", "url": own_redis.url, "prefix": "c:"},
    })
    ready = wait_status(f"{d.http_url}/ready", 200)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["ratelimit"] == "ok"
    own_redis.stop()
    down = wait_status(f"{d.http_url}/ready", 503)
    assert down.status_code == 503
    checks: dict[str, Any] = down.json()["checks"]
    assert "redis" in checks["ratelimit"] and "redis" in checks["cache"]
    assert "redis://" not in down.text  # no connection string leaks to clients
    own_redis.start()
    assert wait_status(f"{d.http_url}/ready", 200).status_code == 200


# -- with credentials (the identity capability's admin CLI) ---------------------------------
def _needs_identity(d: DaemonProcess) -> None:
    if d.cli("admin", "--help", check=False).returncode != 0:
        pytest.skip("the identity capability (pierre admin ...) has not landed yet")


def _tight_tier(n: int) -> dict[str, Any]:
    """Tier `starter` allows exactly n calls for the test's duration."""
    return {"tiers": {"starter": {"capacity": n, "refill_per_s": 0.001, "monthly_quota": 0}},
            "user": {"capacity": 10_000, "refill_per_s": 1_000},
            "tenant": {"capacity": 10_000, "refill_per_s": 1_000}}


def test_two_daemons_share_one_budget(
    daemon_factory: Callable[..., DaemonProcess], redis_url: str, tmp_path: Path
) -> None:
    import uuid

    from tests.mcp.support import api_key

    n = 5
    prefix = f"pierretest:{uuid.uuid4().hex}:"
    shared = {
        # One data folder: the same SQLite file and master key (PostgreSQL once it lands).
        "server": {"data_dir": str(tmp_path / "shared")},
        "database": {"backend": "sqlite", "path": str(tmp_path / "shared" / "pierre.db")},
        "ratelimit": {"backend": "redis", "url": redis_url, "prefix": prefix, **_tight_tier(n)},
        "cache": {"backend": "redis", "url": redis_url, "prefix": prefix + "cache:"},
    }
    one = daemon_factory(shared, name="one")
    _needs_identity(one)
    key = api_key(one, tier="starter", tenant="shared")
    two = daemon_factory(shared, name="two")
    auth = {"Authorization": f"Bearer {key}"}
    try:
        remaining = []
        for i in range(n):
            d = (one, two)[i % 2]
            resp = httpx.get(f"{d.http_url}/api/ratelimit", headers=auth, timeout=5)
            assert resp.status_code == 200, resp.text
            remaining.append(int(resp.headers["X-RateLimit-Remaining"]))
        assert remaining == list(range(n - 1, -1, -1))  # one countdown across both
        for d in (one, two):
            refused = httpx.get(f"{d.http_url}/api/ratelimit", headers=auth, timeout=5)
            assert refused.status_code == 429
            assert int(refused.headers["Retry-After"]) >= 1
            assert refused.json()["error"] == "rate_limited"
    finally:
        import redis

        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.unlink(*keys)
        client.close()


async def test_mcp_call_over_the_limit_is_a_jsonrpc_error_with_retry_time(
    daemon_factory: Callable[..., DaemonProcess],
) -> None:
    from tests.mcp.support import Raw, api_key, start

    d = start(daemon_factory, {"ratelimit": _tight_tier(2)})
    _needs_identity(d)
    key = api_key(d, tier="starter")
    c = await Raw.open(d.ws_url, key)
    try:
        await c.initialize()
        for _ in range(2):
            ok = await c.call("tools/call", {"name": "test_echo", "arguments": {"count": 1}})
            assert "result" in ok, ok
        refused = await c.call("tools/call", {"name": "test_echo", "arguments": {"count": 1}})
        err = refused["error"]
        assert err["code"] == -32029
        assert "retry in" in err["message"]
        assert err["data"]["retry_after_s"] > 0 and err["data"]["scope"] == "key"
    finally:
        await c.close()


async def test_websocket_connection_limits_refuse_before_the_upgrade(
    daemon_factory: Callable[..., DaemonProcess],
) -> None:
    import asyncio

    from websockets.exceptions import InvalidStatus

    from tests.mcp.support import Raw, api_key, start

    d = start(daemon_factory, {"mcp": {"max_connections_per_key": 1}})
    _needs_identity(d)
    key = api_key(d)
    first = await Raw.open(d.ws_url, key)
    with pytest.raises(InvalidStatus) as err:
        await Raw.open(d.ws_url, key)
    assert err.value.response.status_code == 429
    assert int(err.value.response.headers["Retry-After"]) >= 1
    await first.close()
    # The slot is free again once the first connection is gone.
    deadline = time.monotonic() + 5
    while True:
        try:
            again = await Raw.open(d.ws_url, key)
            break
        except InvalidStatus:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
    await again.close()


async def test_handshakes_per_ip_per_minute(
    daemon_factory: Callable[..., DaemonProcess],
) -> None:
    from websockets.exceptions import InvalidStatus

    from tests.mcp.support import Raw, api_key, start

    d = start(daemon_factory, {"mcp": {"handshakes_per_ip_per_minute": 3}})
    _needs_identity(d)
    key = api_key(d)
    for _ in range(3):
        await (await Raw.open(d.ws_url, key)).close()
    with pytest.raises(InvalidStatus) as err:
        await Raw.open(d.ws_url, key)
    assert err.value.response.status_code == 429
    assert "connection attempts" in err.value.response.body.decode()
