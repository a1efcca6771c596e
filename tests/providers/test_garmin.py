"""Garmin against its fake: PKCE connect, backfill, push and ping delivery, reads from
storage, refresh rotation, deregistration and disconnect."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest
from pierre_garmin import parsing
from pierre_garmin.provider import GarminProvider

from pierre.auth.principal import Principal
from pierre.config.schema import ProviderConfig
from pierre.errors import InvalidArguments, NotFound, ReauthorizationRequired
from pierre.models import ActivityQuery
from pierre.services import Services
from tests.fakes import garmin as g
from tests.fakes.garmin import FakeGarmin
from tests.providers.conftest import build_services, close_services, new_user


def garmin_config(fake: FakeGarmin) -> dict[str, Any]:
    return {"client_id": fake.client_id, "client_secret": fake.client_secret,
            "auth_url": f"{fake.url}/oauth2Confirm",
            "token_url": f"{fake.url}/di-oauth2-service/oauth/token",
            "api_base_url": fake.url, "retries": 0}


@pytest.fixture
async def fake() -> AsyncIterator[FakeGarmin]:
    f = await FakeGarmin().start()
    yield f
    await f.stop()


@pytest.fixture
async def svc(tmp_path: Path, fake: FakeGarmin) -> AsyncIterator[Services]:
    cfg = garmin_config(fake)
    known = {k: cfg.pop(k) for k in ("client_id", "client_secret", "auth_url", "token_url",
                                      "api_base_url")}
    s = await build_services(tmp_path, {"garmin": ProviderConfig(**known, extra=cfg)})
    yield s
    await close_services(s)


def plugin(s: Services) -> GarminProvider:
    p = s.providers.get("garmin")
    assert isinstance(p, GarminProvider)
    return p


async def connect(s: Services, who: Principal) -> dict[str, Any]:
    out = await s.providers.connect(who, "garmin", redirect_uri="http://cb.invalid/cb")
    q = dict(parse_qsl(urlsplit(out["authorization_url"]).query))
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43
    async with aiohttp.ClientSession() as http, \
            http.get(out["authorization_url"], allow_redirects=False) as resp:
        assert resp.status == 302
        params = dict(parse_qsl(urlsplit(resp.headers["Location"]).query))
    return await s.providers.complete_authorization("garmin", params)


async def deliver(s: Services, payload: dict[str, Any]) -> dict[str, Any]:
    out = await plugin(s).handle_notification(s.providers, payload)
    await plugin(s).drain()
    return out


async def test_connect_learns_user_id_and_requests_backfill(svc: Services,
                                                            fake: FakeGarmin) -> None:
    who = await new_user(svc)
    done = await connect(svc, who)
    assert "ACTIVITY_EXPORT" in done["scopes"]
    rec = await svc.db.get_connection(who.tenant_id, who.user_id, "garmin")
    assert rec.provider_user_id == g.USER_ID
    kinds = sorted(k for k, _, _ in fake.backfills)
    assert kinds == ["activities", "dailies", "hrv", "sleeps"]
    assert all(b - a == 30 * 86400 for _, a, b in fake.backfills)


async def test_push_is_stored_and_read_back_as_normalized_models(svc: Services,
                                                                 fake: FakeGarmin) -> None:
    who = await new_user(svc)
    await connect(svc, who)
    cl = await svc.providers.client(who, "garmin")
    assert await cl.activities() == []
    out = await deliver(svc, {"activities": [g.activity(i) for i in range(3)],
                              "activityDetails": [g.activity_details(0)]})
    assert out["status"] == "accepted"
    acts = await cl.activities(ActivityQuery(limit=10))  # the cache was invalidated
    assert [a.provider_id for a in acts] == ["7000", "7001", "7002"]
    run, ride = acts[0], acts[1]
    assert run.sport_type == "Run" and ride.sport_type == "Ride"
    assert run.average_cadence_rpm == 86.0  # 172 steps/min = 86 strides/min
    assert ride.average_power_w == 205.0 and ride.distance_m == pytest.approx(3060 * 8.0)
    assert run.start_utc == g.T0 and run.utc_offset_s == 7200
    assert run.start_local == datetime(2025, 6, 1, 8, 0)
    d = await cl.activity("7000", streams=True)
    assert d.streams is not None and len(d.streams.heartrate_bpm or []) == 60
    assert d.streams.time_s[:3] == [0.0, 1.0, 2.0] and d.streams.cadence_rpm[0] == 86.0
    assert (await cl.activity("7000")).streams is None
    # A later summary push must not drop the streams the details brought.
    await deliver(svc, {"activities": [g.activity(0)]})
    assert (await cl.activity("7000", streams=True)).streams is not None
    with pytest.raises(NotFound):
        await cl.activity("9999")
    stats = await cl.stats()
    assert stats.all_run.count == 2 and stats.all_ride.count == 1


async def test_health_summaries_give_sleep_and_daily_heart(svc: Services,
                                                           fake: FakeGarmin) -> None:
    who = await new_user(svc)
    await connect(svc, who)
    await deliver(svc, {"sleeps": [g.sleep("2025-06-01"), g.sleep("2025-06-02", deep=3600)],
                        "dailies": [g.daily("2025-06-01", 48), g.daily("2025-06-02", 51)],
                        "hrv": [g.hrv("2025-06-02", 61)]})
    cl = await svc.providers.client(who, "garmin")
    nights = await cl.sleep(date(2025, 6, 1), date(2025, 6, 2))
    assert [n.date for n in nights] == [date(2025, 6, 1), date(2025, 6, 2)]
    assert nights[0].deep_s == 5400 and nights[1].deep_s == 3600
    assert nights[0].score == 83 and nights[0].stages[0].stage == "deep"
    assert nights[0].asleep_s == 5400 + 14400 + 6000
    heart = await cl.daily_heart(date(2025, 6, 1), date(2025, 6, 2))
    assert [(h.resting_hr_bpm, h.hrv_rmssd_ms) for h in heart] == [(48, None), (51, 61)]


async def test_ping_callback_is_fetched_once_with_a_refreshed_token(svc: Services,
                                                                    fake: FakeGarmin) -> None:
    who = await new_user(svc)
    await connect(svc, who)
    ping = fake.ping("activities", [g.activity(5)])
    fake.expire_access_tokens()  # Garmin revoked the access token early
    await deliver(svc, ping)
    assert fake.callbacks_served == 1 and fake.refresh_count == 1
    cl = await svc.providers.client(who, "garmin")
    assert [a.provider_id for a in await cl.activities()] == ["7005"]
    await deliver(svc, ping)  # the same callback again: Garmin refuses, nothing new
    assert fake.callbacks_served == 1


async def test_unknown_users_and_foreign_callbacks_are_ignored(svc: Services,
                                                               fake: FakeGarmin) -> None:
    who = await new_user(svc)
    await connect(svc, who)
    stranger = {**g.activity(1), "userId": "someone-else"}
    assert await plugin(svc).process(svc.providers, {"activities": [stranger]}) == {}
    forged = {"activities": [{"userId": g.USER_ID,
                              "callbackURL": "http://127.0.0.1:9/steal?token=x"}]}
    assert await plugin(svc).process(svc.providers, forged) == {}
    with pytest.raises(InvalidArguments):
        await plugin(svc).handle_notification(svc.providers, {"nothing": []})
    cl = await svc.providers.client(who, "garmin")
    assert await cl.activities() == []


async def test_two_users_of_one_garmin_account_each_get_the_data(tmp_path: Path,
                                                                svc: Services,
                                                                fake: FakeGarmin) -> None:
    a, b = await new_user(svc, "a@x.org"), await new_user(svc, "b@x.org")
    await connect(svc, a)
    await connect(svc, b)
    await deliver(svc, {"activities": [g.activity(2)]})
    for who in (a, b):
        cl = await svc.providers.client(who, "garmin")
        assert len(await cl.activities()) == 1


async def test_deregistration_marks_reconnect_needed(svc: Services, fake: FakeGarmin) -> None:
    who = await new_user(svc)
    await connect(svc, who)
    await deliver(svc, {"deregistrations": [{"userId": g.USER_ID}]})
    with pytest.raises(ReauthorizationRequired, match="reconnect"):
        await svc.providers.client(who, "garmin")
    st = {x["provider"]: x for x in await svc.providers.status(who)}
    assert st["garmin"]["needs_reauthorization"]


async def test_permission_withdrawn_marks_reconnect_needed(svc: Services,
                                                           fake: FakeGarmin) -> None:
    who = await new_user(svc)
    await connect(svc, who)
    await deliver(svc, {"userPermissionsChange": [{"userId": g.USER_ID,
                                                   "permissions": ["HEALTH_EXPORT"]}]})
    st = {x["provider"]: x for x in await svc.providers.status(who)}
    assert st["garmin"]["needs_reauthorization"]


async def test_revoked_refresh_token_marks_reconnect_needed(svc: Services,
                                                            fake: FakeGarmin) -> None:
    who = await new_user(svc)
    await connect(svc, who)
    fake.expire_access_tokens()
    fake.revoke_refresh_tokens()
    await deliver(svc, fake.ping("activities", [g.activity(1)]))
    st = {x["provider"]: x for x in await svc.providers.status(who)}
    assert st["garmin"]["needs_reauthorization"]


async def test_disconnect_deregisters_upstream_and_drops_stored_data(
        svc: Services, fake: FakeGarmin) -> None:
    who = await new_user(svc)
    await connect(svc, who)
    await deliver(svc, {"activities": [g.activity(1)], "sleeps": [g.sleep("2025-06-01")]})
    out = await svc.providers.disconnect(who, "garmin")
    assert out["revoked_upstream"] and fake.deregistered == [g.USER_ID]
    await connect(svc, who)  # stored summaries went with the connection
    cl = await svc.providers.client(who, "garmin")
    assert await cl.activities() == []
    assert await cl.sleep(date(2025, 6, 1), date(2025, 6, 1)) == []


async def test_backfill_splits_long_ranges_and_tolerates_duplicates(svc: Services,
                                                                    fake: FakeGarmin) -> None:
    who = await new_user(svc)
    await connect(svc, who)
    fake.backfills.clear()
    from pierre.plugins.provider import UserRef

    ctx = await svc.providers.call_context(UserRef(who.tenant_id, who.user_id), plugin(svc))
    end = int(datetime(2025, 6, 1, tzinfo=UTC).timestamp())
    start = end - 100 * 86400
    got = await plugin(svc).backfill(ctx, start, end, ("activities", "sleeps"))
    assert got == {"activities": 4, "sleeps": 2}
    acts = sorted((a, b) for k, a, b in fake.backfills if k == "activities")
    assert acts[0][0] == start and acts[-1][1] == end
    assert all(b - a <= 30 * 86400 for a, b in acts)
    again = await plugin(svc).backfill(ctx, start, end, ("activities",))
    assert again == {"activities": 0}  # 409 duplicates are not errors


@pytest.mark.parametrize(("garmin", "pierre"), [
    ("RUNNING", "Run"), ("TRAIL_RUNNING", "TrailRun"), ("ROAD_BIKING", "Ride"),
    ("MOUNTAIN_BIKING", "MountainBikeRide"), ("LAP_SWIMMING", "Swim"),
    ("BACKCOUNTRY_SKIING", "BackcountrySkiing"), (None, "Workout")])
def test_sport_types_are_normalized(garmin: str | None, pierre: str) -> None:
    assert parsing.sport(garmin) == pierre


def test_backfill_windows_cover_the_range_without_overlap() -> None:
    w = parsing.backfill_windows(0, 65 * 86400, 30)
    assert w == [(0, 30 * 86400), (30 * 86400, 60 * 86400), (60 * 86400, 65 * 86400)]
    assert parsing.backfill_windows(10, 10, 30) == []
