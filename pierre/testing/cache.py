"""Contract suite for `pierre.caches` backends (cache and session store).

A plugin's test module subclasses :class:`CacheContract` and implements
`make_cache` (and `cleanup` for shared storage); `make_peer` may return a
second client of the same storage to show that publish fans out across
instances (defaults to the same object).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from pierre.plugins.cache import API_VERSION


class CacheContract:
    async def make_cache(self) -> Any:
        raise NotImplementedError

    async def make_peer(self, cache: Any) -> Any:
        """Another instance over the same storage (a second daemon, in production)."""
        return cache

    async def cleanup(self, cache: Any) -> None:
        return None

    @pytest.fixture
    async def cache(self) -> AsyncIterator[Any]:
        c = await self.make_cache()
        await c.start()
        try:
            yield c
        finally:
            await self.cleanup(c)
            await c.close()

    @staticmethod
    def key(name: str = "k") -> str:
        return f"t:contract:u:{uuid.uuid4().hex[:8]}:{name}"

    async def test_declares_the_api_version(self, cache: Any) -> None:
        assert cache.API_VERSION.split(".")[0] == API_VERSION.split(".")[0]
        await cache.health()

    async def test_set_get_delete_roundtrip_bytes(self, cache: Any) -> None:
        key = self.key()
        assert await cache.get(key) is None
        await cache.set(key, b"\x00\xffpayload", 10)
        assert await cache.get(key) == b"\x00\xffpayload"
        await cache.set(key, b"second", 10)
        assert await cache.get(key) == b"second"
        await cache.delete(key)
        assert await cache.get(key) is None
        await cache.delete(key)  # deleting a missing key is fine

    async def test_values_expire_after_their_ttl(self, cache: Any) -> None:
        key = self.key()
        await cache.set(key, b"v", 0.2)
        assert await cache.get(key) == b"v"
        await asyncio.sleep(0.3)
        assert await cache.get(key) is None

    async def test_delete_prefix_removes_only_that_prefix(self, cache: Any) -> None:
        base = self.key("")
        for i in range(30):
            await cache.set(f"{base}p:{i}", b"x", 30)
        await cache.set(f"{base}q:0", b"keep", 30)
        await cache.set(f"{base}p*:literal", b"glob chars are literal", 30)
        assert await cache.delete_prefix(f"{base}p:") == 30
        assert await cache.get(f"{base}p:3") is None
        assert await cache.get(f"{base}q:0") == b"keep"
        assert await cache.get(f"{base}p*:literal") is not None
        assert await cache.delete_prefix(f"{base}none:") == 0

    async def test_pop_returns_a_value_exactly_once(self, cache: Any) -> None:
        key = self.key("state")
        await cache.set(key, b"oauth-state", 30)
        got = await asyncio.gather(*(cache.pop(key) for _ in range(10)))
        assert [g for g in got if g is not None] == [b"oauth-state"]
        assert await cache.get(key) is None

    async def test_touch_extends_a_live_key_and_reports_a_gone_one(self, cache: Any) -> None:
        key = self.key("session")
        assert await cache.touch(key, 10) is False
        await cache.set(key, b"s", 0.2)
        assert await cache.touch(key, 5) is True
        await asyncio.sleep(0.3)
        assert await cache.get(key) == b"s"
        await cache.set(key, b"s", 0.1)
        await asyncio.sleep(0.2)
        assert await cache.touch(key, 5) is False

    async def test_publish_reaches_every_subscriber_of_the_channel(self, cache: Any) -> None:
        peer = await self.make_peer(cache)
        channel = self.key("chan")
        a, b = cache.subscribe(channel), peer.subscribe(channel)
        other = cache.subscribe(channel + ":other")
        try:
            await asyncio.gather(a.ready(), b.ready(), other.ready())
            await peer.publish(channel, b"one")
            await cache.publish(channel, b"two")
            assert [await a.get(2), await a.get(2)] == [b"one", b"two"]
            assert [await b.get(2), await b.get(2)] == [b"one", b"two"]
            assert await other.get(0.1) is None
        finally:
            for sub in (a, b, other):
                await sub.close()
            if peer is not cache:
                await peer.close()

    async def test_get_times_out_and_closed_subscription_returns_none(self, cache: Any) -> None:
        sub = cache.subscribe(self.key("quiet"))
        assert await sub.get(0.05) is None
        await sub.close()
        assert await sub.get(0.05) is None
