"""Contract suite for `pierre.ratelimiters` backends.

A plugin's test module subclasses :class:`RateLimiterContract` and implements
`make_limiter` (and `cleanup` when it keeps state outside the process)::

    class TestMyLimiter(RateLimiterContract):
        async def make_limiter(self):
            return MyLimiter(url=..., prefix=f"test:{uuid4().hex}:")

Timing tests use short windows (tenths of a second) and generous margins, so
they hold on a loaded machine without making the suite slow.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from pierre.plugins.ratelimit import API_VERSION, Bucket, Decision, Quota


class RateLimiterContract:
    async def make_limiter(self) -> Any:
        raise NotImplementedError

    async def cleanup(self, limiter: Any) -> None:
        """Remove whatever the test left in shared storage."""
        return None

    @pytest.fixture
    async def limiter(self) -> AsyncIterator[Any]:
        lim = await self.make_limiter()
        await lim.start()
        try:
            yield lim
        finally:
            await self.cleanup(lim)
            await lim.close()

    @staticmethod
    def key(name: str = "k") -> str:
        return f"t:contract:{name}:{uuid.uuid4().hex[:8]}"

    # -- shape -------------------------------------------------------------------
    async def test_declares_the_api_version(self, limiter: Any) -> None:
        assert limiter.API_VERSION.split(".")[0] == API_VERSION.split(".")[0]
        await limiter.health()

    # -- token bucket --------------------------------------------------------------
    async def test_bucket_allows_capacity_then_refuses_with_retry_time(self, limiter: Any) -> None:
        key = self.key()
        got = [await limiter.check(key, 5, 1.0) for _ in range(6)]
        assert [d.allowed for d in got] == [True] * 5 + [False]
        assert [d.remaining for d in got[:5]] == [4, 3, 2, 1, 0]
        assert all(d.limit == 5 for d in got)
        refused = got[-1]
        assert 0.5 < refused.retry_after_s <= 1.0
        assert 4.0 < refused.reset_s <= 5.0

    async def test_bucket_refills_over_time(self, limiter: Any) -> None:
        key = self.key()
        for _ in range(3):
            assert (await limiter.check(key, 3, 20.0)).allowed
        assert not (await limiter.check(key, 3, 20.0)).allowed
        await asyncio.sleep(0.15)  # 20/s -> ~3 tokens back
        assert (await limiter.check(key, 3, 20.0)).allowed

    async def test_cost_takes_several_tokens_and_refusal_spends_nothing(self, limiter: Any) -> None:
        key = self.key()
        assert (await limiter.check(key, 10, 0.01, cost=7)).remaining == 3
        refused = await limiter.check(key, 10, 0.01, cost=4)
        assert not refused.allowed
        assert refused.remaining == 3
        assert (await limiter.check(key, 10, 0.01, cost=3)).allowed

    async def test_keys_are_independent(self, limiter: Any) -> None:
        a, b = self.key("a"), self.key("b")
        assert (await limiter.check(a, 1, 0.01)).allowed
        assert not (await limiter.check(a, 1, 0.01)).allowed
        assert (await limiter.check(b, 1, 0.01)).allowed

    async def test_concurrent_checks_never_spend_a_token_twice(self, limiter: Any) -> None:
        key = self.key()
        got = await asyncio.gather(*(limiter.check(key, 10, 0.001) for _ in range(40)))
        assert sum(d.allowed for d in got) == 10

    async def test_zero_refill_bucket_waits_forever(self, limiter: Any) -> None:
        key = self.key()
        assert (await limiter.check(key, 1, 0.0)).allowed
        refused = await limiter.check(key, 1, 0.0)
        assert not refused.allowed and math.isinf(refused.retry_after_s)

    async def test_a_shrunk_capacity_applies_at_once(self, limiter: Any) -> None:
        key = self.key()
        assert (await limiter.check(key, 100, 1.0)).remaining == 99
        assert (await limiter.check(key, 3, 1.0)).remaining == 2

    # -- combined checks -----------------------------------------------------------
    async def test_check_many_is_all_or_nothing(self, limiter: Any) -> None:
        wide, narrow = self.key("wide"), self.key("narrow")
        buckets = (Bucket(wide, 10, 0.001, "tenant"), Bucket(narrow, 2, 0.001, "key"))
        first = await limiter.check_many(buckets)
        assert first.allowed and first.scope == "key" and first.remaining == 1
        assert (await limiter.check_many(buckets)).allowed
        refused = await limiter.check_many(buckets)
        assert not refused.allowed and refused.scope == "key" and refused.limit == 2
        # The refused call spent nothing from the wide bucket: 8 left, not 7.
        assert (await limiter.check(wide, 10, 0.001)).remaining == 7

    async def test_quota_counts_calls_and_refuses_until_its_window_ends(self, limiter: Any) -> None:
        bucket = Bucket(self.key("b"), 100, 100.0)
        quota = Quota(self.key("q"), 3, 30.0)
        got: list[Decision] = [await limiter.check_many((bucket,), (quota,)) for _ in range(4)]
        assert [d.allowed for d in got] == [True, True, True, False]
        assert got[2].scope == "quota" and got[2].remaining == 0
        assert got[3].scope == "quota" and 29.0 <= got[3].retry_after_s <= 30.0
        assert await limiter.get_window(quota.key) == 3

    async def test_quota_window_expires(self, limiter: Any) -> None:
        quota = Quota(self.key("q"), 1, 0.2)
        bucket = Bucket(self.key("b"), 100, 100.0)
        assert (await limiter.check_many((bucket,), (quota,))).allowed
        assert not (await limiter.check_many((bucket,), (quota,))).allowed
        await asyncio.sleep(0.3)
        assert (await limiter.check_many((bucket,), (quota,))).allowed

    # -- fixed windows, values, locks --------------------------------------------------
    async def test_window_counter_adds_and_expires(self, limiter: Any) -> None:
        key = self.key()
        assert await limiter.get_window(key) == 0
        assert await limiter.incr_window(key, 1) == 1
        assert await limiter.incr_window(key, 1, 4) == 5
        assert await limiter.get_window(key) == 5
        await asyncio.sleep(1.1)
        assert await limiter.get_window(key) == 0

    async def test_values_are_shared_and_expire(self, limiter: Any) -> None:
        key = self.key()
        assert await limiter.get_value(key) is None
        await limiter.set_value(key, '{"until": 1}', 0.2)
        assert await limiter.get_value(key) == '{"until": 1}'
        await limiter.set_value(key, "two", 0.2)
        assert await limiter.get_value(key) == "two"
        await asyncio.sleep(0.3)
        assert await limiter.get_value(key) is None

    async def test_lock_is_exclusive_released_by_its_token_and_expires(self, limiter: Any) -> None:
        key = self.key()
        token = await limiter.acquire_lock(key, 5.0)
        assert token
        assert await limiter.acquire_lock(key, 5.0) is None
        await limiter.release_lock(key, "not-the-token")
        assert await limiter.acquire_lock(key, 5.0) is None
        await limiter.release_lock(key, token)
        short = await limiter.acquire_lock(key, 0.2)
        assert short and short != token
        await asyncio.sleep(0.3)
        assert await limiter.acquire_lock(key, 1.0) is not None
