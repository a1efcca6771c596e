"""Alert signing and webhook delivery: retries with backoff, SSRF refusal."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

from pierre.security import alerts
from pierre.security.config import WebhookConfig


def test_signature_round_trip_and_tamper() -> None:
    body = b'{"a":1}'
    ts = str(int(time.time()))
    sig = alerts.sign("s3cret", ts, body)
    assert sig.startswith("sha256=")
    assert alerts.verify("s3cret", ts, body, sig)
    assert not alerts.verify("s3cret", ts, body + b" ", sig)
    assert not alerts.verify("other", ts, body, sig)
    assert not alerts.verify("s3cret", str(int(ts) - 3600), body,
                             alerts.sign("s3cret", str(int(ts) - 3600), body))


@pytest.mark.parametrize("ip", ["127.0.0.1", "10.0.0.1", "192.168.1.1", "169.254.169.254",
                                "::1", "fd00::1", "::ffff:127.0.0.1", "0.0.0.0"])
def test_private_and_loopback_addresses_are_forbidden(ip: str) -> None:
    assert alerts.forbidden_ip(ip)


def test_public_address_is_allowed() -> None:
    assert not alerts.forbidden_ip("93.184.216.34")


async def test_loopback_target_is_refused_unless_allowed() -> None:
    with pytest.raises(alerts.UnsafeTarget):
        await alerts.check_target("http://127.0.0.1:9/x", allow_private=False)
    with pytest.raises(alerts.UnsafeTarget):
        await alerts.check_target("http://localhost:9/x", allow_private=False)
    with pytest.raises(alerts.UnsafeTarget):
        await alerts.check_target("file:///etc/passwd", allow_private=True)
    await alerts.check_target("http://127.0.0.1:9/x", allow_private=True)


@pytest.fixture
async def receiver() -> AsyncIterator[dict[str, Any]]:
    state: dict[str, Any] = {"calls": [], "fail_first": 2}

    async def hook(request: web.Request) -> web.Response:
        state["calls"].append((dict(request.headers), await request.read()))
        if len(state["calls"]) <= state["fail_first"]:
            return web.Response(status=503)
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state["url"] = f"http://127.0.0.1:{port}/hook"
    yield state
    await runner.cleanup()


async def test_delivery_retries_with_backoff_and_signs_every_attempt(
        receiver: dict[str, Any]) -> None:
    sleeps: list[float] = []

    async def fake_sleep(s: float) -> None:
        sleeps.append(s)

    cfg = WebhookConfig(url=receiver["url"], secret="k", allow_private=True, backoff_s=0.5)
    async with aiohttp.ClientSession() as session:
        ok = await alerts.deliver(session, cfg, {"alert": {"id": "a1"}}, sleep=fake_sleep)
    assert ok
    assert sleeps == [0.5, 1.0]
    assert len(receiver["calls"]) == 3
    for headers, body in receiver["calls"]:
        assert alerts.verify("k", headers[alerts.TIMESTAMP_HEADER], body,
                             headers[alerts.SIGNATURE_HEADER])
        assert orjson.loads(body) == {"alert": {"id": "a1"}}


async def test_delivery_gives_up_after_retries(receiver: dict[str, Any]) -> None:
    receiver["fail_first"] = 100

    async def no_sleep(s: float) -> None:
        return None

    cfg = WebhookConfig(url=receiver["url"], secret="k", allow_private=True, retries=2)
    async with aiohttp.ClientSession() as session:
        assert not await alerts.deliver(session, cfg, {"x": 1}, sleep=no_sleep)
    assert len(receiver["calls"]) == 3


async def test_delivery_to_loopback_without_permission_is_not_attempted(
        receiver: dict[str, Any]) -> None:
    cfg = WebhookConfig(url=receiver["url"], secret="k", allow_private=False)
    async with aiohttp.ClientSession() as session:
        assert not await alerts.deliver(session, cfg, {"x": 1})
    assert receiver["calls"] == []
