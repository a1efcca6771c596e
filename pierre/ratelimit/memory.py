"""The embedded rate-limit backend: one process, no network, bounded memory.

Everything lives in one LRU dict capped at `max_entries` (option, default
100,000): a flood of distinct keys evicts the least recently used ones instead
of growing without bound, and expired entries are dropped when touched.
Operations never await, so each is atomic on the event loop.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from pierre.plugins.base import PluginContext
from pierre.plugins.ratelimit import API_VERSION, Bucket, Decision, Quota, RateLimiterBase
from pierre.ratelimit.bucket import Outcome, combine, refill, time_to_full, wait_for

DEFAULT_MAX_ENTRIES = 100_000


class MemoryRateLimiter(RateLimiterBase):
    API_VERSION = API_VERSION

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.max_entries = max(1, int(max_entries))
        # key -> [payload, expires_at (monotonic), extra]; buckets keep [tokens, expires, last].
        self._store: OrderedDict[str, list[Any]] = OrderedDict()
        self.clock = time.monotonic

    @classmethod
    def from_config(cls, options: dict[str, Any], ctx: PluginContext) -> MemoryRateLimiter:
        return cls(max_entries=int(options.get("max_entries", DEFAULT_MAX_ENTRIES)))

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._store.clear()

    async def health(self) -> None:
        return None

    def __len__(self) -> int:
        return len(self._store)

    # -- storage ---------------------------------------------------------------
    def _get(self, key: str, now: float) -> list[Any] | None:
        entry = self._store.get(key)
        if entry is None:
            return None
        if entry[1] <= now:
            del self._store[key]
            return None
        self._store.move_to_end(key)
        return entry

    def _put(self, key: str, entry: list[Any]) -> None:
        store = self._store
        store[key] = entry
        store.move_to_end(key)
        while len(store) > self.max_entries:
            store.popitem(last=False)

    # -- token buckets -----------------------------------------------------------
    def _bucket(self, b: Bucket, now: float) -> float:
        entry = self._get(b.key, now)
        if entry is None:
            return float(b.capacity)
        return refill(entry[0], entry[2], now, b.capacity, b.refill_per_s)

    def _spend(self, b: Bucket, tokens: float, now: float) -> None:
        # Expire once the bucket would be full again: a full bucket is the default.
        ttl = time_to_full(tokens, b.capacity, b.refill_per_s) if b.refill_per_s > 0 else 86_400.0
        self._put(b.key, [tokens, now + ttl + 1.0, now])

    async def check(self, key: str, capacity: int, refill_per_s: float, cost: int = 1) -> Decision:
        return await self.check_many((Bucket(key, capacity, refill_per_s),), (), cost)

    async def check_many(
        self, buckets: Sequence[Bucket], quotas: Sequence[Quota] = (), cost: int = 1
    ) -> Decision:
        now = self.clock()
        levels = [self._bucket(b, now) for b in buckets]
        used = [self._window(q.key, now) for q in quotas]
        allowed = all(t >= cost for t in levels) and all(
            u + cost <= q.limit for u, q in zip(used, quotas, strict=True)
        )
        outcomes: list[Outcome] = []
        for b, tokens in zip(buckets, levels, strict=True):
            if allowed:
                tokens -= cost
                self._spend(b, tokens, now)
            outcomes.append(Outcome(
                b.scope, b.capacity, max(0, int(tokens)),
                time_to_full(tokens, b.capacity, b.refill_per_s),
                0.0 if allowed else wait_for(tokens, cost, b.refill_per_s),
            ))
        for q, u in zip(quotas, used, strict=True):
            if allowed:
                u = self._add_window(q.key, q.reset_in_s, cost, now)
            over = u + cost > q.limit
            outcomes.append(Outcome(
                q.scope, q.limit, max(0, q.limit - u), q.reset_in_s,
                q.reset_in_s if (over and not allowed) else 0.0,
            ))
        return combine(allowed, outcomes)

    # -- fixed windows -----------------------------------------------------------
    def _window(self, key: str, now: float) -> int:
        entry = self._get(key, now)
        return int(entry[0]) if entry is not None else 0

    def _add_window(self, key: str, window_s: float, amount: int, now: float) -> int:
        entry = self._get(key, now)
        if entry is None:
            entry = [0, now + window_s]
        entry[0] = int(entry[0]) + amount
        self._put(key, entry)
        return int(entry[0])

    async def incr_window(self, key: str, window_s: int, amount: int = 1) -> int:
        return self._add_window(key, float(window_s), amount, self.clock())

    async def get_window(self, key: str) -> int:
        return self._window(key, self.clock())

    # -- shared values and locks ------------------------------------------------
    async def set_value(self, key: str, value: str, ttl_s: float) -> None:
        self._put(key, [value, self.clock() + max(0.001, ttl_s)])

    async def get_value(self, key: str) -> str | None:
        entry = self._get(key, self.clock())
        return None if entry is None else str(entry[0])

    async def acquire_lock(self, key: str, ttl_s: float) -> str | None:
        now = self.clock()
        if self._get(key, now) is not None:
            return None
        token = secrets.token_hex(16)
        self._put(key, [token, now + max(0.001, ttl_s)])
        return token

    async def release_lock(self, key: str, token: str) -> None:
        entry = self._get(key, self.clock())
        if entry is not None and entry[0] == token:
            del self._store[key]
