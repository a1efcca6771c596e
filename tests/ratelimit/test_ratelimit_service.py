"""RateLimitService over real backends: tiers, scopes, quotas, headers, reload,
connection limits, provider budgets, and Redis outages (a private redis-server)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pierre_redis.ratelimit import RedisRateLimiter
from structlog.testing import capture_logs

from pierre.auth.principal import Principal
from pierre.config.schema import Config, McpConfig, RateLimitConfig, TierConfig
from pierre.errors import ProviderQuotaExhausted, RateLimited, ServiceUnavailable
from pierre.plugins.registry import PluginRegistry
from pierre.ratelimit.memory import MemoryRateLimiter
from pierre.ratelimit.service import RateLimitService, month_window
from pierre.services import Services
from pierre.tools.base import ToolRegistry
from tests.ratelimit.redis_server import RedisServer

BIG = TierConfig(capacity=10_000, refill_per_s=1_000)


def make_config(**rl: Any) -> Config:
    tiers = rl.pop("tiers", {"starter": TierConfig(3, 0.01, 0), "trial": TierConfig(100, 1, 2)})
    mcp = rl.pop("mcp", McpConfig())
    base = {"user": BIG, "tenant": BIG}
    return Config(ratelimit=RateLimitConfig(tiers=tiers, **{**base, **rl}), mcp=mcp)


def make_service(config: Config, limiter: Any) -> RateLimitService:
    services = Services(config=config, plugins=PluginRegistry(), tools=ToolRegistry())
    services.ratelimiter = limiter
    service = RateLimitService(services)
    services.limits = service
    return service


def principal(user: str = "u1", key: str | None = "k1", tenant: str = "acme",
              tier: str = "starter") -> Principal:
    return Principal(tenant_id=tenant, user_id=user, tier=tier, method="api_key",
                     credential_id=key)


async def test_key_bucket_allows_its_tier_capacity_then_refuses_with_retry() -> None:
    service = make_service(make_config(), MemoryRateLimiter())
    got = [await service.check_call(principal()) for _ in range(3)]
    assert [d.remaining for d in got] == [2, 1, 0]
    with pytest.raises(RateLimited) as err:
        await service.check_call(principal())
    assert err.value.limit == 3 and err.value.scope == "key"
    assert 99 <= err.value.retry_after <= 100  # 1 token at 0.01/s
    assert "rate limit of 3 calls exceeded for this credential" in err.value.message
    # Another key of the same user has its own bucket.
    assert (await service.check_call(principal(key="k2"))).allowed


async def test_user_and_tenant_buckets_span_keys_and_users() -> None:
    config = make_config(user=TierConfig(4, 0.01), tenant=TierConfig(6, 0.01))
    service = make_service(config, MemoryRateLimiter())
    for key in ("a", "b", "c", "d"):
        await service.check_call(principal(key=key, tier="trial"))
    with pytest.raises(RateLimited) as err:
        await service.check_call(principal(key="e", tier="trial"))
    assert err.value.scope == "user" and "this user" in err.value.message
    await service.check_call(principal(user="u2", key="f", tier="trial"))
    await service.check_call(principal(user="u2", key="g", tier="trial"))
    with pytest.raises(RateLimited) as err:
        await service.check_call(principal(user="u3", key="h", tier="trial"))
    assert err.value.scope == "tenant"
    # Another tenant is untouched.
    assert (await service.check_call(principal(tenant="other", tier="trial"))).allowed


async def test_monthly_quota_refuses_until_the_next_utc_month() -> None:
    service = make_service(make_config(), MemoryRateLimiter())
    p = principal(tier="trial")
    await service.check_call(p)
    await service.check_call(p)
    with pytest.raises(RateLimited) as err:
        await service.check_call(p)
    _, reset_in = month_window(time.time())
    assert err.value.scope == "quota" and err.value.limit == 2
    assert abs(err.value.retry_after - reset_in) < 5
    now = datetime.now(UTC)
    first = datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, tzinfo=UTC)
    assert err.value.message.endswith(f"it resets at {first:%Y-%m-%dT00:00:00Z}")


def test_month_window_rolls_over_the_year() -> None:
    dec = datetime(2026, 12, 31, 23, 0, tzinfo=UTC).timestamp()
    assert month_window(dec) == ("202612", 3600.0)
    assert month_window(datetime(2026, 2, 1, tzinfo=UTC).timestamp())[0] == "202602"


async def test_headers_report_the_tightest_limit() -> None:
    service = make_service(make_config(), MemoryRateLimiter())
    d = await service.check_call(principal())
    assert service.headers(d) == {"X-RateLimit-Limit": "3", "X-RateLimit-Remaining": "2",
                                  "X-RateLimit-Reset": "100"}


async def test_reload_changes_tiers_live_and_unknown_tiers_use_starter() -> None:
    limiter = MemoryRateLimiter()
    service = make_service(make_config(), limiter)
    with capture_logs() as logs:
        d = await service.check_call(principal(tier="platinum"))
    assert d.limit == 3
    assert any(e["event"] == "ratelimit_unknown_tier" for e in logs)
    service.reload(make_config(tiers={"starter": TierConfig(3, 0.01), "platinum": BIG}))
    assert (await service.check_call(principal(tier="platinum"))).limit == 10_000


# -- connection limits ------------------------------------------------------------------
async def test_concurrent_connections_per_ip_and_per_key() -> None:
    mcp = McpConfig(max_connections_per_ip=2, max_connections_per_key=1)
    service = make_service(make_config(mcp=mcp), MemoryRateLimiter())
    a = await service.open_connection("10.0.0.1", "t:acme:c:k1")
    with pytest.raises(RateLimited) as err:
        await service.open_connection("10.0.0.1", "t:acme:c:k1")
    assert err.value.scope == "connections_per_key"
    b = await service.open_connection("10.0.0.1", None)
    with pytest.raises(RateLimited) as err:
        await service.open_connection("10.0.0.1", "t:acme:c:k2")
    assert err.value.scope == "connections_per_ip" and err.value.retry_after > 0
    await a.release()
    await a.release()  # idempotent: frees one slot only once
    assert service.open_connections(ip="10.0.0.1") == 1
    c = await service.open_connection("10.0.0.1", "t:acme:c:k1")
    for t in (b, c):
        await t.release()
    assert service.open_connections() == 0


async def test_handshake_rate_per_ip() -> None:
    mcp = McpConfig(handshakes_per_ip_per_minute=3)
    service = make_service(make_config(mcp=mcp), MemoryRateLimiter())
    for _ in range(3):
        await (await service.open_connection("10.0.0.9", None)).release()
    with pytest.raises(RateLimited) as err:
        await service.open_connection("10.0.0.9", None)
    assert err.value.scope == "handshake" and 10 <= err.value.retry_after <= 20
    await (await service.open_connection("10.0.0.10", None)).release()


# -- provider budgets --------------------------------------------------------------------
async def test_provider_quota_from_strava_headers_is_shared_across_instances(
    redis_url: str,
) -> None:
    prefix = f"pierretest:{uuid.uuid4().hex}:"
    one = RedisRateLimiter({"url": redis_url, "prefix": prefix})
    two = RedisRateLimiter({"url": redis_url, "prefix": prefix})
    a, b = make_service(make_config(), one), make_service(make_config(), two)
    try:
        await a.provider_check("strava", "app1")
        await a.provider_record("strava", "app1", {"X-RateLimit-Limit": "200,2000",
                                                   "X-RateLimit-Usage": "120,900"})
        await b.provider_check("strava", "app1")
        await a.provider_record("strava", "app1", {"X-RateLimit-Limit": "200,2000",
                                                   "X-RateLimit-Usage": "200,901"})
        with pytest.raises(ProviderQuotaExhausted) as err:
            await b.provider_check("strava", "app1")
        assert err.value.message.startswith("strava quota exhausted until ")
        assert 0 < err.value.retry_after <= 900
        assert err.value.http_status == 429
        await b.provider_check("strava", "app2")  # another app has its own budget
    finally:
        keys = [k async for k in one.client.scan_iter(match=prefix + "*")]
        if keys:
            await one.client.unlink(*keys)
        await one.close()
        await two.close()


async def test_fitbit_budget_is_per_user_and_reads_only_block_reads() -> None:
    service = make_service(make_config(), MemoryRateLimiter())
    await service.provider_record("fitbit", "app:user1", {
        "Fitbit-Rate-Limit-Limit": "150", "Fitbit-Rate-Limit-Remaining": "0",
        "Fitbit-Rate-Limit-Reset": "600"})
    with pytest.raises(ProviderQuotaExhausted):
        await service.provider_check("fitbit", "app:user1")
    await service.provider_check("fitbit", "app:user2")
    await service.provider_record("strava", "app", {
        "X-ReadRateLimit-Limit": "100,1000", "X-ReadRateLimit-Usage": "100,500"})
    await service.provider_check("strava", "app", read=False)
    with pytest.raises(ProviderQuotaExhausted):
        await service.provider_check("strava", "app")


# -- backend outages (a private redis-server) ----------------------------------------------
@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def redis_limiter(own_redis: RedisServer) -> AsyncIterator[RedisRateLimiter]:
    limiter = RedisRateLimiter({"url": own_redis.url, "socket_timeout_s": 0.5,
                                "connect_timeout_s": 0.5})
    await limiter.start()
    yield limiter
    await limiter.close()


@pytest.mark.parametrize("mode", ["fail_open", "fail_closed"])
async def test_redis_outage_follows_on_backend_error_and_recovers(
    mode: str, own_redis: RedisServer, redis_limiter: RedisRateLimiter
) -> None:
    config = make_config(on_backend_error=mode, backend="redis")
    service = make_service(config, redis_limiter)
    p = principal()
    assert (await service.check_call(p)).remaining == 2
    own_redis.stop()
    with capture_logs() as logs:
        for _ in range(5):  # more calls than the bucket holds
            if mode == "fail_open":
                d = await service.check_call(p)
                assert d.allowed and service.headers(d) == {}
            else:
                with pytest.raises(ServiceUnavailable) as err:
                    await service.check_call(p)
                assert "retry shortly" in err.value.message and err.value.http_status == 503
        with pytest.raises(ServiceUnavailable):
            await service.health()
    down = [e for e in logs if e["event"] == "ratelimit_backend_unavailable"]
    assert len(down) == 1 and down[0]["mode"] == mode  # logged once per outage
    own_redis.start()  # same port, empty (no persistence): a fresh bucket
    with capture_logs() as logs:
        d = await service.check_call(p)
    assert d.allowed and d.remaining == 2
    assert [e["event"] for e in logs] == ["ratelimit_backend_recovered"]
    await service.health()
    await service.check_call(p)
    await service.check_call(p)
    with pytest.raises(RateLimited):
        await service.check_call(p)  # enforcement is back


async def test_config_replace_keeps_working() -> None:
    """A reload that swaps the whole RateLimitConfig (as the daemon does) is taken."""
    service = make_service(make_config(), MemoryRateLimiter())
    new = make_config()
    new = replace(new, ratelimit=replace(new.ratelimit, tiers={"starter": TierConfig(1, 0.01)}))
    service.reload(new)
    await service.check_call(principal())
    with pytest.raises(RateLimited):
        await service.check_call(principal())
