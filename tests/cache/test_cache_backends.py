"""The cache contract on the memory backend and on the real local Redis."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pierre_redis.cache import RedisCache, glob_escape

from pierre.cache.memory import MemoryCache
from pierre.testing.cache import CacheContract


class TestMemoryCache(CacheContract):
    async def make_cache(self) -> Any:
        return MemoryCache(max_entries=1_000)


class TestRedisCache(CacheContract):
    @pytest.fixture(autouse=True)
    def _redis(self, redis_url: str) -> None:
        self.url = redis_url
        self.prefix = f"pierretest:{uuid.uuid4().hex}:"

    async def make_cache(self) -> Any:
        return RedisCache({"url": self.url, "prefix": self.prefix})

    async def make_peer(self, cache: Any) -> Any:
        peer = RedisCache({"url": self.url, "prefix": self.prefix})
        await peer.start()
        return peer

    async def cleanup(self, cache: Any) -> None:
        keys = [k async for k in cache.client.scan_iter(match=glob_escape(self.prefix) + "*")]
        if keys:
            await cache.client.unlink(*keys)

    async def test_keys_live_under_the_prefix_with_a_ttl(self, cache: Any) -> None:
        await cache.set("t:a:u:b:athlete", b"{}", 60)
        raw = self.prefix + "t:a:u:b:athlete"
        assert await cache.client.get(raw) == b"{}"
        assert 0 < await cache.client.pttl(raw) <= 60_000


async def test_memory_cache_is_an_lru_bounded_by_max_entries() -> None:
    cache = MemoryCache(max_entries=3)
    for k in "abc":
        await cache.set(k, k.encode(), 60)
    assert await cache.get("a") == b"a"  # a is now the most recently used
    await cache.set("d", b"d", 60)
    assert len(cache) == 3
    assert await cache.get("b") is None
    assert [await cache.get(k) for k in "acd"] == [b"a", b"c", b"d"]
