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
    # Hot path (every call): plain lists and tuples, no per-check helper objects.
    def _level(self, key: str, capacity: int, rate: float, now: float) -> float:
        entry = self._get(key, now)
        if entry is None:
            return float(capacity)
        return refill(entry[0], entry[2], now, capacity, rate)

    def _spend(self, key: str, tokens: float, capacity: int, rate: float, now: float) -> float:
        """Store the new level; return seconds until full. A full bucket is the default
        state, so the entry may expire once it would be full again."""
        full = (capacity - tokens) / rate if rate > 0 else 86_400.0
        entry = self._store.get(key)
        if entry is not None:
            entry[0], entry[1], entry[2] = tokens, now + full + 1.0, now
        else:
            self._put(key, [tokens, now + full + 1.0, now])
        return full

    async def check(self, key: str, capacity: int, refill_per_s: float, cost: int = 1) -> Decision:
        now = self.clock()
        tokens = self._level(key, capacity, refill_per_s, now)
        if tokens >= cost:
            tokens -= cost
            full = self._spend(key, tokens, capacity, refill_per_s, now)
            return Decision(True, capacity, int(tokens), full, 0.0, "key")
        return Decision(False, capacity, max(0, int(tokens)),
                        time_to_full(tokens, capacity, refill_per_s),
                        wait_for(tokens, cost, refill_per_s), "key")

    async def check_many(
        self, buckets: Sequence[Bucket], quotas: Sequence[Quota] = (), cost: int = 1
    ) -> Decision:
        now = self.clock()
        levels = [self._level(b.key, b.capacity, b.refill_per_s, now) for b in buckets]
        used = [self._window(q.key, now) for q in quotas]
        allowed = True
        for t in levels:
            if t < cost:
                allowed = False
        for u, q in zip(used, quotas, strict=True):
            if u + cost > q.limit:
                allowed = False
        if allowed:
            best: Decision | None = None
            for b, tokens in zip(buckets, levels, strict=True):
                tokens -= cost
                full = self._spend(b.key, tokens, b.capacity, b.refill_per_s, now)
                if best is None or int(tokens) < best.remaining:
                    best = Decision(True, b.capacity, int(tokens), full, 0.0, b.scope)
            for q in quotas:
                u = self._add_window(q.key, q.reset_in_s, cost, now)
                if best is None or q.limit - u < best.remaining:
                    best = Decision(True, q.limit, max(0, q.limit - u), q.reset_in_s, 0.0,
                                    q.scope)
            return best if best is not None else Decision(True, 0, 0, 0.0)
        outcomes = [
            Outcome(b.scope, b.capacity, max(0, int(t)),
                    time_to_full(t, b.capacity, b.refill_per_s),
                    wait_for(t, cost, b.refill_per_s))
            for b, t in zip(buckets, levels, strict=True)
        ]
        outcomes += [
            Outcome(q.scope, q.limit, max(0, q.limit - u), q.reset_in_s,
                    q.reset_in_s if u + cost > q.limit else 0.0)
            for q, u in zip(quotas, used, strict=True)
        ]
        return combine(False, outcomes)

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
