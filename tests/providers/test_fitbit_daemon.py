"""Fitbit and Google Health through the real daemon: MCP connect_provider → consent redirect
→ the daemon's callback page, then tools over the SDK's WebSocket client, then disconnect."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from mcp import ClientSession
from mcp.client.websocket import websocket_client

from tests.fakes.fitbit import FakeFitbit
from tests.fakes.google_health import FakeGoogleHealth
from tests.mcp.support import _find_key
from tests.providers.test_fitbit import fitbit_config
from tests.providers.test_google_health import google_config

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeFitbit, FakeGoogleHealth]]:
    fb = await FakeFitbit(n_activities=150).start()
    gh = await FakeGoogleHealth(n_exercises=30).start()
    yield fb, gh
    await gh.stop()
    await fb.stop()


def _key(d: Any, email: str) -> str:
    d.cli("admin", "create-tenant", "--name", "fit", check=False)
    d.cli_json("admin", "create-user", "--tenant", "fit", "--email", email)
    key = _find_key(d.cli_json("admin", "create-api-key", "--email", email,
                               "--tier", "enterprise"))
    assert key
    return key


def _text(res: Any) -> str:
    return str(res.content[0].text) if res.content else ""


async def _connect(s: ClientSession, provider: str, display: str, base: str) -> None:
    out = await s.call_tool("connect_provider", {"provider": provider})
    assert not out.isError, _text(out)
    url = out.structuredContent["authorization_url"]  # type: ignore[index]
    async with aiohttp.ClientSession() as http, http.get(url) as r:  # fake → daemon callback
        page = await r.text()
        assert r.status == 200 and f"{display} connected" in page, page
        assert str(r.url).startswith(f"{base}/oauth/{provider}/callback")


async def test_fitbit_and_google_health_tools_over_mcp(
        daemon_factory: Callable[..., Any],
        fakes: tuple[FakeFitbit, FakeGoogleHealth]) -> None:
    fb, gh = fakes
    d = daemon_factory({"providers": {"fitbit": fitbit_config(fb),
                                      "google_health": google_config(gh)}})
    key = _key(d, "fit@example.com")
    async with websocket_client(f"{d.ws_url}?token={key}") as (read, write), \
            ClientSession(read, write) as s:
        await s.initialize()
        await _connect(s, "fitbit", "Fitbit", d.http_url)
        listed = await s.call_tool("get_activities", {"provider": "fitbit", "limit": 120})
        assert not listed.isError, _text(listed)
        got = listed.structuredContent["activities"]  # type: ignore[index]
        assert [a["provider_id"] for a in got] == [str(a["logId"]) for a in fb.activities[:120]]
        assert len([c for c in fb.calls if c[1].endswith("/activities/list.json")]) == 2

        sleep = await s.call_tool("analyze_sleep_quality", {"provider": "fitbit", "days": 7})
        assert not sleep.isError, _text(sleep)
        nights = sleep.structuredContent["nights"]  # type: ignore[index]
        assert len(nights) == 7

        fb.expire_access_tokens()
        one = await s.call_tool("get_activity", {"provider": "fitbit",
                                                 "activity_id": got[3]["provider_id"]})
        assert not one.isError, _text(one)
        assert fb.refresh_count == 1

        fb.expire_access_tokens()
        fb.revoke_refresh_tokens()
        gone = await s.call_tool("get_activities", {"provider": "fitbit", "limit": 9})
        assert gone.isError and "reconnect" in _text(gone).lower(), _text(gone)
        await _connect(s, "fitbit", "Fitbit", d.http_url)  # connecting again heals it

        fb.rate_limit_next = True
        limited = await s.call_tool("get_activities", {"provider": "fitbit", "limit": 7})
        assert limited.isError and "resets in" in _text(limited), _text(limited)
        n = len(fb.calls)  # Remaining 0 was recorded: no further call reaches Fitbit
        again = await s.call_tool("get_activities", {"provider": "fitbit", "limit": 8})
        assert again.isError and "quota exhausted until" in _text(again), _text(again)
        assert len(fb.calls) == n

        # Fitbit users move on: one consent on Google Health and the same tools work.
        await _connect(s, "google_health", "Google Health", d.http_url)
        gl = await s.call_tool("get_activities", {"provider": "google_health", "limit": 30})
        assert not gl.isError, _text(gl)
        assert gl.structuredContent["count"] == 30  # type: ignore[index]
        gs = await s.call_tool("analyze_sleep_quality", {"provider": "google_health"})
        assert not gs.isError, _text(gs)

        bye = await s.call_tool("disconnect_provider", {"provider": "fitbit"})
        assert not bye.isError and fb.revoked
