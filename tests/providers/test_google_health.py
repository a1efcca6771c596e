"""Google Health API v4 against its fake: Google OAuth with PKCE, identity, exercise pages
of 25 with AIP-160 filters, heart-rate streams, sleep stages, daily resting HR/HRV,
protobuf-JSON values, refresh, 429, revoked refresh token, disconnect."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pierre_fitbit.common import parse_duration_s, parse_number
from pierre_fitbit.google_health import exercise_sport, parse_civil, parse_time

from pierre.auth.principal import Principal
from pierre.config.schema import ProviderConfig
from pierre.errors import InvalidArguments, RateLimited, ReauthorizationRequired
from pierre.models import ActivityQuery
from pierre.services import Services
from tests.fakes.google_health import LEGACY_FITBIT_ID, FakeGoogleHealth
from tests.providers.conftest import build_services, close_services, new_user


def google_config(fake: FakeGoogleHealth) -> dict[str, object]:
    return {"client_id": fake.client_id, "client_secret": fake.client_secret,
            "api_base_url": fake.url, "auth_url": f"{fake.url}/o/oauth2/v2/auth",
            "token_url": f"{fake.url}/token", "retries": 1, "backoff_s": 0.01}


@pytest.fixture
async def fake() -> AsyncIterator[FakeGoogleHealth]:
    f = await FakeGoogleHealth(n_exercises=60).start()
    yield f
    await f.stop()


@pytest.fixture
async def svc(tmp_path: Path, fake: FakeGoogleHealth) -> AsyncIterator[Services]:
    cfg = google_config(fake)
    known = {k: cfg.pop(k) for k in ("client_id", "client_secret", "api_base_url", "auth_url",
                                      "token_url")}
    s = await build_services(tmp_path, {"google_health": ProviderConfig(**known, extra=cfg)})
    yield s
    await close_services(s)


async def oauth_dance(s: Services, who: Principal) -> dict[str, object]:
    out = await s.providers.connect(who, "google_health", redirect_uri="http://cb.invalid/cb")
    q = dict(parse_qsl(urlsplit(str(out["authorization_url"])).query))
    assert q["access_type"] == "offline" and q["prompt"] == "consent"
    assert q["code_challenge_method"] == "S256"
    async with aiohttp.ClientSession() as http, \
            http.get(str(out["authorization_url"]), allow_redirects=False) as resp:
        assert resp.status == 302, await resp.text()
        location = resp.headers["Location"]
    params = dict(parse_qsl(urlsplit(location).query))
    return await s.providers.complete_authorization("google_health", params)


@pytest.mark.parametrize(("raw", "want"), [("3633.600s", 3633.6), ("0s", 0.0), ("-1.5s", -1.5),
                                           (12, 12.0), ("12", None), (None, None)])
def test_durations_are_protobuf_strings(raw: object, want: float | None) -> None:
    assert parse_duration_s(raw) == want


@pytest.mark.parametrize(("raw", "want"), [("62", 62.0), ("9007199254740993", 9007199254740993.0),
                                           (61.5, 61.5), ("x", None), (True, None)])
def test_int64_values_arrive_as_strings(raw: object, want: float | None) -> None:
    assert parse_number(raw) == want


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False))
def test_any_protobuf_duration_round_trips(x: float) -> None:
    assert parse_duration_s(f"{x:.9f}s") == pytest.approx(x, abs=1e-6)
    assert parse_number(str(int(x))) == int(x)


def test_times_and_exercise_types() -> None:
    assert parse_time("2026-01-05T07:00:00.123456789Z") == datetime(
        2026, 1, 5, 7, 0, 0, 123456, tzinfo=UTC)
    civil = {"date": {"year": 2026, "month": 1, "day": 5}, "time": {"hours": 8, "minutes": 3}}
    assert parse_civil(civil) == parse_civil("2026-01-05T08:03:00") == datetime(2026, 1, 5, 8, 3)
    assert exercise_sport("RUNNING") == ("Run", False)
    assert exercise_sport("TREADMILL_RUNNING") == ("Run", True)
    assert exercise_sport("BIKING") == ("Ride", False)
    assert exercise_sport("SWIMMING_POOL")[0] == "Swim"
    assert exercise_sport("DANCING") == ("Workout", False)


async def test_connect_list_detail_sleep_and_heart(svc: Services,
                                                   fake: FakeGoogleHealth) -> None:
    who = await new_user(svc)
    await oauth_dance(svc, who)
    rec = await svc.db.get_connection(who.tenant_id, who.user_id, "google_health")
    assert rec.provider_user_id == "3af0c1d2-hu"
    assert rec.meta["extra"]["legacy_fitbit_user_id"] == LEGACY_FITBIT_ID
    cl = await svc.providers.client(who, "google_health")
    items = await cl.activities(ActivityQuery(limit=50, offset=5))
    assert [a.provider_id for a in items] == [
        p["name"].rsplit("/", 1)[-1] for p in fake.exercises[5:55]]
    pages = [c for c in fake.calls if c[1].endswith("/exercise/dataPoints")]
    assert len(pages) == 3  # 25 per page at most
    first, raw = items[0], fake.exercises[5]["exercise"]
    assert first.moving_time_s == pytest.approx(1800 + 45 * 5 + 0.6)
    assert first.distance_m == pytest.approx(int(raw["metricsSummary"]["distanceMillimeters"])
                                             / 1000)
    assert first.average_hr_bpm == float(raw["metricsSummary"]["averageHeartRateBeatsPerMinute"])
    assert first.utc_offset_s == 7200 and first.start_local == (
        first.start_utc + timedelta(hours=2)).replace(tzinfo=None)
    assert first.sport_type == "Ride" and first.elevation_gain_m == 15.5

    window = await cl.activities(ActivityQuery(before=items[10].start_utc,
                                               after=items[20].start_utc, limit=30))
    assert [a.provider_id for a in window] == [a.provider_id for a in items[11:20]]

    d = await cl.activity(items[0].provider_id, streams=True)
    assert d.streams is not None and d.streams.heartrate_bpm
    assert d.streams.time_s[0] == 0 and d.streams.time_s[1] == 30
    assert len(d.streams.time_s) == int((d.elapsed_time_s or 0) // 30) + 1

    nights = await cl.sleep(fake.today - timedelta(days=4), fake.today)
    assert [n.date for n in nights] == [fake.today - timedelta(days=k) for k in range(4, -1, -1)]
    n = nights[-1]
    assert n.deep_s == 5400 and n.rem_s == 4800 and n.light_s == 9000
    assert n.asleep_s == (20100 - 900) and n.stages[0].stage == "awake"
    hearts = await cl.daily_heart(fake.today - timedelta(days=29), fake.today)
    assert len(hearts) == 30 and hearts[-1].resting_hr_bpm == 55.0
    assert hearts[-1].hrv_rmssd_ms == 38.25


async def test_expired_token_is_refreshed(svc: Services, fake: FakeGoogleHealth) -> None:
    who = await new_user(svc)
    await oauth_dance(svc, who)
    cl = await svc.providers.client(who, "google_health")
    for round_ in (1, 2):  # Google keeps the refresh token: the stored one keeps working
        fake.expire_access_tokens()
        await cl.activities(ActivityQuery(limit=1, offset=round_))
        assert fake.refresh_count == round_


async def test_429_is_reported_with_the_minute_window(svc: Services,
                                                      fake: FakeGoogleHealth) -> None:
    who = await new_user(svc)
    await oauth_dance(svc, who)
    cl = await svc.providers.client(who, "google_health")
    fake.rate_limit_next = True
    n = len(fake.calls)
    with pytest.raises(RateLimited) as err:
        await cl.activities(ActivityQuery(limit=2))
    assert len(fake.calls) == n + 1 and 0 < err.value.retry_after <= 60


async def test_revoked_refresh_token_needs_reconnect(svc: Services,
                                                     fake: FakeGoogleHealth) -> None:
    who = await new_user(svc)
    await oauth_dance(svc, who)
    cl = await svc.providers.client(who, "google_health")
    fake.expire_access_tokens()
    fake.revoke_refresh_tokens()
    with pytest.raises(ReauthorizationRequired, match="reconnect"):
        await cl.activities(ActivityQuery(limit=2))
    status = {x["provider"]: x for x in await svc.providers.status(who)}
    assert status["google_health"]["needs_reauthorization"]


async def test_unticked_activity_scope_is_refused(svc: Services,
                                                  fake: FakeGoogleHealth) -> None:
    fake.drop_scopes = {"activity_and_fitness"}
    with pytest.raises(InvalidArguments, match="activity_and_fitness"):
        await oauth_dance(svc, await new_user(svc))


async def test_disconnect_revokes_at_google(svc: Services, fake: FakeGoogleHealth) -> None:
    who = await new_user(svc)
    await oauth_dance(svc, who)
    out = await svc.providers.disconnect(who, "google_health")
    assert out["revoked_upstream"] and fake.revoked and not fake.refresh
