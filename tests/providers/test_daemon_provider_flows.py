"""Provider flows as a user lives them: a running daemon, an API key from the admin CLI, the
official MCP SDK over WebSocket, the consent page followed in a browser-like client (fake
provider -> daemon callback), then data, refresh, 429, reconnect-needed and disconnect."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import aiohttp
import pytest
from mcp import ClientSession
from mcp.client.websocket import websocket_client
from mcp.types import CallToolResult

from tests.fakes import garmin as g
from tests.fakes.garmin import FakeGarmin
from tests.fakes.strava import FakeStrava
from tests.fakes.weather import FakeOpenWeather, temperature_at
from tests.mcp.support import api_key
from tests.providers.test_garmin import garmin_config
from tests.providers.test_strava import strava_config

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeStrava, FakeGarmin, FakeOpenWeather]]:
    s, gm, w = FakeStrava(n_activities=450), FakeGarmin(), FakeOpenWeather()
    for f in (s, gm, w):
        await f.start()
    yield s, gm, w
    for f in (s, gm, w):
        await f.stop()


def text(res: CallToolResult) -> str:
    return " ".join(getattr(c, "text", "") for c in res.content)


async def ok(s: ClientSession, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    res = await s.call_tool(tool, args)
    assert not res.isError, text(res)
    assert res.structuredContent is not None
    return res.structuredContent


async def consent(url: str, base: str, provider: str) -> None:
    """Open the authorization URL like a browser: the fake redirects to our callback."""
    async with aiohttp.ClientSession() as http, http.get(url) as r:
        page = await r.text()
        assert str(r.url).startswith(f"{base}/oauth/{provider}/callback")
        assert r.status == 200 and "connected" in page, page


async def status_of(s: ClientSession, provider: str) -> dict[str, Any]:
    st = await ok(s, "get_connection_status", {})
    return next(p for p in st["providers"] if p["provider"] == provider)


async def test_strava_and_garmin_over_mcp(daemon_factory: Callable[..., Any],
                                          fakes: tuple[FakeStrava, FakeGarmin,
                                                       FakeOpenWeather]) -> None:
    strava, garmin, weather = fakes
    d = daemon_factory({"providers": {
        "strava": strava_config(strava), "garmin": garmin_config(garmin),
        "weather": {"api_key": weather.api_key, "api_base_url": weather.url, "retries": 0}}})
    key = api_key(d, tier="enterprise")
    async with websocket_client(f"{d.ws_url}?token={key}") as (read, write), \
            ClientSession(read, write) as s:
        await s.initialize()

        # -- Strava: OAuth through the consent redirect --------------------------------
        out = await ok(s, "connect_provider", {"provider": "strava"})
        assert out["status"] == "authorization_required"
        await consent(out["authorization_url"], d.http_url, "strava")
        assert (await status_of(s, "strava"))["connected"]

        # The whole history, in pages beyond Strava's 200 per request.
        seen: list[str] = []
        for offset in (0, 200, 400):
            page = await ok(s, "get_activities", {"provider": "strava", "limit": 200,
                                                  "offset": offset})
            seen += [a["provider_id"] for a in page["activities"]]
        assert seen == [str(a["id"]) for a in strava.activities]

        first = seen[0]
        one = await ok(s, "get_activity", {"provider": "strava", "activity_id": first,
                                           "include_streams": True})
        assert len(one["activity"]["streams"]["heartrate_bpm"]) == 120
        assert one["activity"]["distance_m"] == strava.activities[0]["distance"]

        # Weather enrichment from the OpenWeatherMap fake.
        intel = await ok(s, "get_activity_intelligence", {"provider": "strava",
                                                          "activity_id": first})
        start = datetime.fromisoformat(strava.activities[0]["start_date"].replace("Z", "+00:00"))
        assert intel["weather"]["temperature_c"] == temperature_at(int(start.timestamp()))
        assert len(weather.queries) == 1

        # An access token that dies early is refreshed, once.
        strava.expire_access_tokens()
        await ok(s, "get_activity", {"provider": "strava", "activity_id": seen[1]})
        assert strava.refresh_count == 1

        # A 429 is an isError result that says when to retry; not retried upstream.
        strava.rate_limit_next = True
        calls = len(strava.calls)
        limited = await s.call_tool("get_activity", {"provider": "strava",
                                                     "activity_id": seen[2]})
        assert limited.isError and "resets in" in text(limited), text(limited)
        assert len(strava.calls) == calls + 1

        # A refresh token that stops working: "reconnect needed".
        strava.expire_access_tokens()
        strava.revoke_refresh_tokens()
        dead = await s.call_tool("get_activity", {"provider": "strava",
                                                  "activity_id": seen[3]})
        assert dead.isError and "reconnect" in text(dead), text(dead)
        st = await status_of(s, "strava")
        assert st["needs_reauthorization"] and st["status"] == "reauth_required"

        gone = await ok(s, "disconnect_provider", {"provider": "strava"})
        assert gone["disconnected"] and strava.deauthorized
        assert not (await status_of(s, "strava"))["connected"]

        # -- Garmin: consent, then data arrives by webhook -----------------------------
        out = await ok(s, "connect_provider", {"provider": "garmin"})
        await consent(out["authorization_url"], d.http_url, "garmin")
        assert {k for k, _, _ in garmin.backfills} >= {"activities", "sleeps"}
        empty = await ok(s, "get_activities", {"provider": "garmin"})
        assert empty["count"] == 0
        body = {"activities": [g.activity(i) for i in range(3)],
                "activityDetails": [g.activity_details(0)]}
        async with aiohttp.ClientSession() as http, \
                http.post(f"{d.http_url}/webhooks/garmin", json=body) as r:
            assert r.status == 200, await r.text()
        listed: dict[str, Any] = {}
        for _ in range(100):  # stored in the background after the 200
            listed = await ok(s, "get_activities", {"provider": "garmin", "limit": 10})
            if listed["count"] == 3:
                break
            await asyncio.sleep(0.05)
        assert [a["provider_id"] for a in listed["activities"]] == ["7000", "7001", "7002"]
        assert listed["activities"][0]["sport_type"] == "Run"
        detail = await ok(s, "get_activity", {"provider": "garmin", "activity_id": "7000",
                                              "include_streams": True})
        assert len(detail["activity"]["streams"]["time_s"]) == 60
        gone = await ok(s, "disconnect_provider", {"provider": "garmin"})
        assert gone["revoked_upstream"] and garmin.deregistered == [g.USER_ID]


async def test_garmin_webhook_rejects_what_is_not_a_notification(
        daemon_factory: Callable[..., Any],
        fakes: tuple[FakeStrava, FakeGarmin, FakeOpenWeather]) -> None:
    _, garmin, _ = fakes
    d = daemon_factory({"providers": {"garmin": garmin_config(garmin)}})
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{d.http_url}/webhooks/garmin", data=b"not json",
                             headers={"Content-Type": "application/json"}) as r:
            assert r.status == 400
            assert "Traceback" not in await r.text()
        async with http.post(f"{d.http_url}/webhooks/garmin", json={"nothing": 1}) as r:
            assert r.status == 400
        # A push for a Garmin user nobody connected: accepted (Garmin must not retry), dropped.
        async with http.post(f"{d.http_url}/webhooks/garmin",
                             json={"activities": [g.activity(1)]}) as r:
            assert r.status == 200
