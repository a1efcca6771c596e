"""Fitbit Web API v1 against its fake: PKCE + Basic OAuth, list pagination, TCX streams,
sleep stages, resting HR/HRV, single-use refresh tokens, 429 waits, reauth, disconnect."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest
from pierre_fitbit.fitbit import activity_summary, fitbit_message, sleep_session

from pierre.auth.principal import Principal
from pierre.config.schema import ProviderConfig
from pierre.errors import (
    InvalidArguments,
    ProviderError,
    ProviderQuotaExhausted,
    RateLimited,
    ReauthorizationRequired,
)
from pierre.models import ActivityQuery
from pierre.services import Services
from tests.fakes.fitbit import OFFSET, FakeFitbit
from tests.providers.conftest import build_services, close_services, new_user


def fitbit_config(fake: FakeFitbit) -> dict[str, object]:
    return {"client_id": fake.client_id, "client_secret": fake.client_secret,
            "api_base_url": fake.url, "auth_url": f"{fake.url}/oauth2/authorize",
            "token_url": f"{fake.url}/oauth2/token", "retries": 1, "backoff_s": 0.01}


@pytest.fixture
async def fake() -> AsyncIterator[FakeFitbit]:
    f = await FakeFitbit(n_activities=250).start()
    yield f
    await f.stop()


@pytest.fixture
async def svc(tmp_path: Path, fake: FakeFitbit) -> AsyncIterator[Services]:
    cfg = fitbit_config(fake)
    known = {k: cfg.pop(k) for k in ("client_id", "client_secret", "api_base_url", "auth_url",
                                      "token_url")}
    s = await build_services(tmp_path, {"fitbit": ProviderConfig(**known, extra=cfg)})
    from pierre.ratelimit.service import RateLimitService

    s.limits = RateLimitService(s)
    yield s
    await close_services(s)


async def oauth_dance(s: Services, who: Principal) -> dict[str, object]:
    out = await s.providers.connect(who, "fitbit", redirect_uri="http://cb.invalid/cb")
    assert out["status"] == "authorization_required"
    q = dict(parse_qsl(urlsplit(str(out["authorization_url"])).query))
    assert q["code_challenge_method"] == "S256" and q["scope"] == "activity heartrate sleep profile"
    async with aiohttp.ClientSession() as http, \
            http.get(str(out["authorization_url"]), allow_redirects=False) as resp:
        assert resp.status == 302, await resp.text()
        location = resp.headers["Location"]
    params = dict(parse_qsl(urlsplit(location).query))
    return await s.providers.complete_authorization("fitbit", params)


def test_activity_record_parsing_converts_units_and_offsets() -> None:
    rec = {"logId": 1, "activityName": "Walk", "activityTypeId": 90013,
           "startTime": "2025-03-01T08:00:00.000-05:00", "activeDuration": 3_600_000,
           "duration": 3_900_000, "distance": 3.0, "distanceUnit": "Mile",
           "elevationGain": 100.0, "speed": 3.0, "averageHeartRate": 101, "logType": "manual"}
    s = activity_summary(rec)
    assert s["sport_type"] == "Walk" and s["manual"]
    assert s["start_utc"] == datetime(2025, 3, 1, 13, 0, tzinfo=UTC)
    assert s["utc_offset_s"] == -5 * 3600 and s["start_local"] == datetime(2025, 3, 1, 8)
    assert s["distance_m"] == pytest.approx(4828.03, abs=0.01)
    assert s["elevation_gain_m"] == pytest.approx(30.5, abs=0.1)
    assert s["average_speed_mps"] == pytest.approx(3 * 1609.344 / 3600, abs=1e-3)
    assert (s["moving_time_s"], s["elapsed_time_s"]) == (3600, 3900)
    assert fitbit_message(401, {"errors": [{"errorType": "expired_token", "message": "x"}],
                                "success": False}) == "expired_token: x"


def test_sleep_times_without_offset_use_the_profile_offset() -> None:
    night = FakeFitbit(n_activities=0, n_nights=1).nights[0]
    s = sleep_session(night, OFFSET)
    start_local = datetime.fromisoformat(night["startTime"])
    assert s.start_utc == (start_local - OFFSET).replace(tzinfo=UTC)
    assert s.deep_s == 90 * 60 and s.rem_s == 90 * 60 and s.stages[0].stage == "awake"
    assert s.asleep_s == night["minutesAsleep"] * 60
    assert sum(x.duration_s for x in s.stages) == s.duration_s


async def test_connect_pages_detail_sleep_and_heart(svc: Services, fake: FakeFitbit) -> None:
    who = await new_user(svc)
    done = await oauth_dance(svc, who)
    assert set(done["scopes"]) == {"activity", "heartrate", "sleep", "profile"}  # type: ignore[arg-type]
    cl = await svc.providers.client(who, "fitbit")
    items = await cl.activities(ActivityQuery(limit=220, offset=10))
    assert [a.provider_id for a in items] == [str(a["logId"]) for a in fake.activities[10:230]]
    pages = [c for c in fake.calls if c[1] == "/1/user/-/activities/list.json"]
    assert len(pages) == 3  # 100 per page, following pagination.next
    first = fake.activities[10]
    assert items[0].distance_m == pytest.approx(first["distance"] * 1000)
    assert items[0].moving_time_s == first["activeDuration"] / 1000
    assert items[0].sport_type == "Run" and items[1].sport_type == "Ride"
    cutoff = items[5].start_utc
    newer = await cl.activities(ActivityQuery(after=cutoff, limit=50))
    assert [a.provider_id for a in newer] == [str(a["logId"]) for a in fake.activities[:15]]

    d = await cl.activity(items[1].provider_id, streams=True)
    assert d.streams is not None and len(d.streams.heartrate_bpm or []) == 60
    assert d.streams.latlng and d.streams.latlng[0] == (45.76, 4.84)
    assert d.calories_kcal == fake.activities[11]["calories"]

    nights = await cl.sleep(fake.today - timedelta(days=6), fake.today)
    assert len(nights) == 7 and nights[-1].date == fake.today
    assert nights[-1].efficiency_pct == fake.nights[0]["efficiency"]
    hearts = await cl.daily_heart(fake.today - timedelta(days=40), fake.today)
    assert len(hearts) == 41 and hearts[-1].resting_hr_bpm == 52
    assert hearts[-1].hrv_rmssd_ms == 40.5 and hearts[0].date == fake.today - timedelta(days=40)
    hrv_calls = [c for c in fake.calls if c[1].startswith("/1/user/-/hrv/")]
    assert len(hrv_calls) == 2  # 41 days in ranges of at most 30
    athlete = await cl.athlete()
    assert athlete.provider_id == "7QX4ZB" and athlete.sex == "F"
    assert athlete.birth_date == date(1988, 4, 2)


async def test_single_use_refresh_token_is_rotated(svc: Services, fake: FakeFitbit) -> None:
    who = await new_user(svc)
    await oauth_dance(svc, who)
    cl = await svc.providers.client(who, "fitbit")
    for round_ in (1, 2):  # the second refresh only works if the newest token was stored
        fake.expire_access_tokens()
        await cl.activities(ActivityQuery(limit=1, offset=round_))
        assert fake.refresh_count == round_
    assert len(fake.used_refresh) == 2


async def test_token_rejected_before_expiry_refreshes_once(svc: Services,
                                                           fake: FakeFitbit) -> None:
    who = await new_user(svc)
    await oauth_dance(svc, who)
    cl = await svc.providers.client(who, "fitbit")
    fake.access.clear()  # Fitbit answers 401 invalid_token: refresh, then retry
    assert (await cl.athlete()).firstname == "Ada"
    assert fake.refresh_count == 1


async def test_429_reports_the_hourly_reset_and_quota_blocks(svc: Services,
                                                             fake: FakeFitbit) -> None:
    who = await new_user(svc)
    await oauth_dance(svc, who)
    cl = await svc.providers.client(who, "fitbit")
    fake.rate_limit_next = True
    n = len(fake.calls)
    with pytest.raises(RateLimited) as err:
        await cl.athlete()
    assert len(fake.calls) == n + 1  # never retried inside the call
    assert 0 < err.value.retry_after <= 3600 and "resets in" in err.value.message
    # the headers said Remaining 0: the next call is refused without asking Fitbit
    with pytest.raises(ProviderQuotaExhausted):
        await cl.activities(ActivityQuery(limit=3))
    assert len(fake.calls) == n + 1
    other = await new_user(svc, "b@example.com")  # another user's budget is separate
    fake.remaining = 150
    await oauth_dance(svc, other)
    assert len(await (await svc.providers.client(other, "fitbit")).activities(
        ActivityQuery(limit=3))) == 3


async def test_revoked_refresh_token_marks_reconnect_needed(svc: Services,
                                                            fake: FakeFitbit) -> None:
    who = await new_user(svc)
    await oauth_dance(svc, who)
    cl = await svc.providers.client(who, "fitbit")
    fake.expire_access_tokens()
    fake.revoke_refresh_tokens()
    with pytest.raises(ReauthorizationRequired, match="reconnect"):
        await cl.athlete()
    status = {x["provider"]: x for x in await svc.providers.status(who)}
    assert status["fitbit"]["needs_reauthorization"]


async def test_unticked_activity_scope_is_refused(svc: Services, fake: FakeFitbit) -> None:
    who = await new_user(svc)
    fake.drop_scopes = {"activity"}
    with pytest.raises(InvalidArguments, match="activity"):
        await oauth_dance(svc, who)


async def test_unticked_sleep_scope_says_so(svc: Services, fake: FakeFitbit) -> None:
    who = await new_user(svc)
    fake.drop_scopes = {"sleep"}
    await oauth_dance(svc, who)
    cl = await svc.providers.client(who, "fitbit")
    with pytest.raises(ProviderError, match="'sleep' permission was not granted"):
        await cl.sleep(fake.today - timedelta(days=1), fake.today)


async def test_disconnect_revokes_upstream(svc: Services, fake: FakeFitbit) -> None:
    who = await new_user(svc)
    await oauth_dance(svc, who)
    out = await svc.providers.disconnect(who, "fitbit")
    assert out["revoked_upstream"] and len(fake.revoked) == 1 and not fake.access
    assert not {x["provider"]: x for x in await svc.providers.status(who)}["fitbit"]["connected"]
