"""The rate-limiter contract on the memory backend and on the real local Redis."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from pierre_redis.ratelimit import RedisRateLimiter

from pierre.plugins.ratelimit import Bucket
from pierre.ratelimit.memory import MemoryRateLimiter
from pierre.testing.ratelimit import RateLimiterContract
from tests.ratelimit.redis_server import RedisServer


class TestMemoryRateLimiter(RateLimiterContract):
    async def make_limiter(self) -> Any:
        return MemoryRateLimiter(max_entries=1_000)


class TestRedisRateLimiter(RateLimiterContract):
    @pytest.fixture(autouse=True)
    def _redis(self, redis_url: str) -> None:
        self.url = redis_url
        self.prefix = f"pierretest:{uuid.uuid4().hex}:"

    async def make_limiter(self) -> Any:
        return RedisRateLimiter({"url": self.url, "prefix": self.prefix})

    async def cleanup(self, limiter: Any) -> None:
        keys = [k async for k in limiter.client.scan_iter(match=self.prefix + "*")]
        if keys:
            await limiter.client.unlink(*keys)

    async def test_every_key_written_has_a_ttl(self, limiter: Any) -> None:
        from pierre.plugins.ratelimit import Quota

        await limiter.check_many((Bucket("t:a:c:1", 5, 1.0),), (Quota("t:a:q:1", 10, 60),))
        await limiter.incr_window("t:a:w", 30)
        await limiter.set_value("t:a:v", "x", 30)
        await limiter.acquire_lock("t:a:l", 30)
        keys = [k async for k in limiter.client.scan_iter(match=self.prefix + "*")]
        assert len(keys) == 5
        for k in keys:
            assert 0 < await limiter.client.pttl(k) <= 60_000

    async def test_check_survives_script_flush(self, limiter: Any) -> None:
        assert (await limiter.check("t:a:c:flush", 2, 0.01)).remaining == 1
        await limiter.client.script_flush()
        assert (await limiter.check("t:a:c:flush", 2, 0.01)).remaining == 0

    async def test_two_clients_share_one_bucket(self, limiter: Any) -> None:
        other = await self.make_limiter()
        try:
            got = [await (limiter if i % 2 else other).check("t:a:c:shared", 4, 0.001)
                   for i in range(6)]
            assert [d.allowed for d in got] == [True] * 4 + [False] * 2
        finally:
            await other.close()

async def test_one_check_is_one_round_trip(tmp_path: Path) -> None:
    """Three buckets and a quota cost a single EVALSHA, counted by a private Redis that no
    other test touches (the shared one's command stats move under concurrent runs)."""
    from pierre.plugins.ratelimit import Quota

    server = RedisServer(tmp_path / "redis").start()
    limiter = RedisRateLimiter({"url": server.url})
    admin = aioredis.Redis.from_url(server.url)
    try:
        await limiter.start()
        await limiter.check("t:a:c:warm", 1, 1.0)
        await admin.config_resetstat()
        await limiter.check_many(
            (Bucket("t:a:c:x", 5, 1.0), Bucket("t:a:u:x", 5, 1.0), Bucket("t:a:all", 5, 1.0)),
            (Quota("t:a:q:x", 10, 60),),
        )
        stats = await admin.info("commandstats")
    finally:
        await admin.aclose()
        await limiter.close()
        server.stop()

    def calls(name: str) -> int:
        return int(stats.get(f"cmdstat_{name}", {}).get("calls", 0))

    assert calls("evalsha") == 1
    assert calls("hset") == 3  # inside the one script


def test_memory_limiter_evicts_beyond_max_entries() -> None:
    import asyncio

    lim = MemoryRateLimiter(max_entries=100)

    async def flood() -> None:
        for i in range(1_000):
            await lim.check(f"t:x:c:{i}", 5, 1.0)

    asyncio.run(flood())
    assert len(lim) == 100
