"""Strava against its fake: OAuth, paging, detail/streams, refresh, 429, reauth, disconnect."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest

from pierre.auth.principal import Principal
from pierre.config.schema import ProviderConfig
from pierre.errors import InvalidArguments, RateLimited, ReauthorizationRequired
from pierre.models import ActivityQuery
from pierre.services import Services
from tests.fakes.strava import FakeStrava
from tests.providers.conftest import build_services, close_services, new_user


def strava_config(fake: FakeStrava) -> dict[str, object]:
    return {"client_id": fake.client_id, "client_secret": fake.client_secret,
            "api_base_url": f"{fake.url}/api/v3", "auth_url": f"{fake.url}/oauth/authorize",
            "token_url": f"{fake.url}/oauth/token", "retries": 1, "backoff_s": 0.01}


@pytest.fixture
async def fake() -> AsyncIterator[FakeStrava]:
    f = await FakeStrava(n_activities=450).start()
    yield f
    await f.stop()


@pytest.fixture
async def svc(tmp_path: Path, fake: FakeStrava) -> AsyncIterator[Services]:
    cfg = strava_config(fake)
    known = {k: cfg.pop(k) for k in ("client_id", "client_secret", "api_base_url", "auth_url",
                                      "token_url")}
    s = await build_services(tmp_path, {"strava": ProviderConfig(**known, extra=cfg)})
    yield s
    await close_services(s)


async def oauth_dance(s: Services, who: Principal) -> dict[str, object]:
    out = await s.providers.connect(who, "strava", redirect_uri="http://cb.invalid/cb")
    assert out["status"] == "authorization_required"
    async with aiohttp.ClientSession() as http, \
            http.get(out["authorization_url"], allow_redirects=False) as resp:
        assert resp.status == 302
        location = resp.headers["Location"]
    assert location.startswith("http://cb.invalid/cb?")
    params = dict(parse_qsl(urlsplit(location).query))
    return await s.providers.complete_authorization("strava", params)


async def test_oauth_connect_pages_detail_and_streams(svc: Services, fake: FakeStrava) -> None:
    who = await new_user(svc)
    done = await oauth_dance(svc, who)
    assert "activity:read_all" in done["scopes"]
    status = {x["provider"]: x for x in await svc.providers.status(who)}
    assert status["strava"]["connected"] and status["strava"]["default"]
    cl = await svc.providers.client(who)
    assert cl.name == "strava"
    items = await cl.activities(ActivityQuery(limit=300, offset=100))
    assert len(items) == 300
    assert [a.provider_id for a in items] == [str(a["id"]) for a in fake.activities[100:400]]
    pages = [c for c in fake.calls if c[1] == "/api/v3/athlete/activities"]
    assert len(pages) == 2  # 200 per page, the maximum
    d = await cl.activity(items[0].provider_id, streams=True, laps=True)
    assert d.streams is not None and len(d.streams.heartrate_bpm or []) == 120
    assert d.streams.latlng and d.streams.latlng[0] == (45.9, 6.12)
    assert len(d.laps) == 2 and d.distance_m == items[0].distance_m
    stats = await cl.stats()
    assert stats.all_run.count == sum(a["sport_type"] == "Run" for a in fake.activities)
    zones = await cl.zones()
    assert zones.heart_rate_bpm and zones.heart_rate_bpm[-1].max is None
    before = len(fake.calls)
    assert await cl.activity(items[0].provider_id, streams=True, laps=True) == d
    assert len(fake.calls) == before  # served from cache


async def test_expired_token_is_refreshed_once(svc: Services, fake: FakeStrava) -> None:
    who = await new_user(svc)
    await oauth_dance(svc, who)
    cl = await svc.providers.client(who)
    fake.expire_access_tokens()
    athlete = await cl.athlete()
    assert athlete.provider_id == "134815" and athlete.weight_kg == 61.5
    assert fake.refresh_count == 1


async def test_429_is_not_retried_and_reports_window(svc: Services, fake: FakeStrava) -> None:
    who = await new_user(svc)
    await oauth_dance(svc, who)
    cl = await svc.providers.client(who)
    fake.rate_limit_next = True
    n = len(fake.calls)
    with pytest.raises(RateLimited) as err:
        await cl.athlete()
    assert len(fake.calls) == n + 1
    assert 0 < err.value.retry_after <= 900
    assert "resets in" in err.value.message


async def test_5xx_is_retried(svc: Services, fake: FakeStrava) -> None:
    who = await new_user(svc)
    await oauth_dance(svc, who)
    fake.fail_next_5xx = 1
    cl = await svc.providers.client(who)
    assert (await cl.athlete()).firstname == "Marianne"


async def test_revoked_refresh_token_marks_reconnect_needed(svc: Services,
                                                            fake: FakeStrava) -> None:
    who = await new_user(svc)
    await oauth_dance(svc, who)
    cl = await svc.providers.client(who)
    fake.expire_access_tokens()
    fake.revoke_refresh_tokens()
    with pytest.raises(ReauthorizationRequired, match="reconnect"):
        await cl.athlete()
    status = {x["provider"]: x for x in await svc.providers.status(who)}
    assert status["strava"]["needs_reauthorization"]
    with pytest.raises(ReauthorizationRequired):
        await svc.providers.client(who, "strava")


async def test_unticked_scope_is_refused(svc: Services, fake: FakeStrava) -> None:
    who = await new_user(svc)
    fake.drop_scopes = {"activity:read_all"}
    with pytest.raises(InvalidArguments, match="activity:read_all"):
        await oauth_dance(svc, who)


async def test_state_is_single_use(svc: Services, fake: FakeStrava) -> None:
    who = await new_user(svc)
    out = await svc.providers.connect(who, "strava", redirect_uri="http://cb.invalid/cb")
    state = dict(parse_qsl(urlsplit(out["authorization_url"]).query))["state"]
    await svc.cache.delete(f"oauth:state:{state}")
    with pytest.raises(InvalidArguments, match="expired or was already used"):
        await svc.providers.complete_authorization("strava", {"state": state, "code": "x"})


async def test_disconnect_deauthorizes_upstream(svc: Services, fake: FakeStrava) -> None:
    who = await new_user(svc)
    await oauth_dance(svc, who)
    out = await svc.providers.disconnect(who, "strava")
    assert out["revoked_upstream"] and len(fake.deauthorized) == 1
    assert not {x["provider"]: x for x in await svc.providers.status(who)}["strava"]["connected"]
