"""Upstream quotas: a provider's rate-limit headers, once spent, stop further calls before
they leave, for every ProviderManager sharing the limiter (real Redis here)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pierre.config.schema import ProviderConfig
from pierre.errors import ProviderQuotaExhausted
from pierre.models import ActivityQuery
from pierre.plugins.base import PluginContext
from pierre.ratelimit.service import RateLimitService
from pierre.services import Services
from tests.fakes.strava import FakeStrava
from tests.providers.conftest import build_services, close_services, new_user
from tests.providers.test_strava import oauth_dance


def _strava(fake: FakeStrava) -> ProviderConfig:
    return ProviderConfig(client_id=fake.client_id, client_secret=fake.client_secret,
                          api_base_url=f"{fake.url}/api/v3",
                          auth_url=f"{fake.url}/oauth/authorize",
                          token_url=f"{fake.url}/oauth/token",
                          extra={"retries": 0, "backoff_s": 0.01})


async def _on_redis(tmp: Path, fake: FakeStrava, redis_url: str) -> Services:
    """A ProviderManager whose limiter is the real Redis one (replacing the memory one)."""
    s = await build_services(tmp, {"strava": _strava(fake)})
    await s.ratelimiter.close()
    ctx = PluginContext(config=s.config, data_dir=str(tmp / "var"))
    s.ratelimiter = s.plugins.get("pierre.ratelimiters", "redis").from_config(
        {"url": redis_url}, ctx)
    await s.ratelimiter.start()
    s.limits = RateLimitService(s)
    return s


@pytest.fixture
async def fake() -> AsyncIterator[FakeStrava]:
    # A fresh client id per test: the quota key lives in the shared Redis.
    f = await FakeStrava(client_id=f"q{secrets.token_hex(4)}", n_activities=5).start()
    yield f
    await f.stop()


async def test_spent_window_refuses_next_call_without_calling_upstream_on_any_instance(
        tmp_path: Path, fake: FakeStrava, redis_url: str) -> None:
    a = await _on_redis(tmp_path / "a", fake, redis_url)
    b = await _on_redis(tmp_path / "b", fake, redis_url)
    try:
        ua, ub = await new_user(a, "a@example.com"), await new_user(b, "b@example.com")
        await oauth_dance(a, ua)
        await oauth_dance(b, ub)
        ca, cb = await a.providers.client(ua), await b.providers.client(ub)
        assert (await ca.athlete()).firstname == "Marianne"  # plenty left: goes through
        fake.usage_15 = fake.limit_15 - 1  # this call takes the window's last unit
        assert len(await ca.activities(ActivityQuery(limit=3))) == 3
        sent = len(fake.calls)
        with pytest.raises(ProviderQuotaExhausted) as err:
            await ca.zones()
        assert "strava quota exhausted until" in err.value.message
        assert 0 < err.value.retry_after <= 900  # the next quarter hour
        with pytest.raises(ProviderQuotaExhausted):  # the other instance, same app
            await cb.activities(ActivityQuery(limit=2))
        assert len(fake.calls) == sent
    finally:
        for s in (a, b):
            await close_services(s)


async def test_quota_is_tracked_per_app_id(tmp_path: Path, fake: FakeStrava,
                                           redis_url: str) -> None:
    s = await _on_redis(tmp_path, fake, redis_url)
    try:
        who = await new_user(s)
        await oauth_dance(s, who)
        cl = await s.providers.client(who)
        fake.usage_day = fake.limit_day  # daily window spent
        await cl.athlete()
        with pytest.raises(ProviderQuotaExhausted) as err:
            await cl.zones()
        assert "daily" in err.value.details["reason"]
        # Another app id (another tenant's OAuth app) has its own budget.
        await s.limits.provider_check("strava", "other-app")
    finally:
        await close_services(s)
