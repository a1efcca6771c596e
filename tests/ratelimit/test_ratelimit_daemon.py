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
