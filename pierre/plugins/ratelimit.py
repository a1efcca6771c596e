"""The `pierre.ratelimiters` contract: token buckets, quotas and shared counters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

API_VERSION = "1.0"


@dataclass(frozen=True, slots=True)
class Decision:
    """Outcome of one check; `reset_s` is seconds until the bucket is full again
    (allowed) or until one token is available (refused)."""

    allowed: bool
    limit: int
    remaining: int
    reset_s: float
    retry_after_s: float = 0.0
    # Which limit decided: the refusing one, or the tightest one when allowed.
    scope: str | None = None


@dataclass(frozen=True, slots=True)
class Bucket:
    """One token bucket taking part in a combined check."""

    key: str
    capacity: int
    refill_per_s: float
    scope: str = "key"


@dataclass(frozen=True, slots=True)
class Quota:
    """A fixed-window counter (monthly quota) taking part in a combined check;
    `reset_in_s` is how long until the window ends (the key's TTL)."""

    key: str
    limit: int
    reset_in_s: float
    scope: str = "quota"


@runtime_checkable
class RateLimiter(Protocol):
    """A backend promises: one check is atomic (no two callers spend the same token),
    costs one round trip, and keys expire so storage never grows without bound.
    Keys are namespaced by the caller (`t:{tenant}:k:{key_id}`)."""

    API_VERSION: str

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def health(self) -> None: ...

    async def check(self, key: str, capacity: int, refill_per_s: float, cost: int = 1) -> Decision:
        """Token bucket: refill, then take `cost` tokens if available."""
        ...

    async def incr_window(self, key: str, window_s: int, amount: int = 1) -> int:
        """Add to a fixed-window counter that expires after `window_s`; return the new count."""
        ...

    async def get_window(self, key: str) -> int:
        """Current value of a fixed-window counter (0 when absent or expired)."""
        ...

    async def set_value(self, key: str, value: str, ttl_s: float) -> None:
        """Store a small shared value with expiry (provider quota snapshots)."""
        ...

    async def get_value(self, key: str) -> str | None: ...

    async def acquire_lock(self, key: str, ttl_s: float) -> str | None:
        """Try to take an expiring lock; return a token to release it, or None if held."""
        ...

    async def release_lock(self, key: str, token: str) -> None: ...

    async def check_many(
        self, buckets: Sequence[Bucket], quotas: Sequence[Quota] = (), cost: int = 1
    ) -> Decision:
        """All or nothing across every bucket and quota of one call, in one round trip:
        spend `cost` everywhere only when every limit has room, else spend nothing.
        Optional: :class:`RateLimiterBase` gives a non-atomic default built on `check`."""
        ...


class RateLimiterBase:
    """Defaults for optional contract methods, so older plugins keep working."""

    API_VERSION = API_VERSION

    async def check(self, key: str, capacity: int, refill_per_s: float, cost: int = 1) -> Decision:
        raise NotImplementedError

    async def incr_window(self, key: str, window_s: int, amount: int = 1) -> int:
        raise NotImplementedError

    async def get_window(self, key: str) -> int:
        raise NotImplementedError

    async def check_many(
        self, buckets: Sequence[Bucket], quotas: Sequence[Quota] = (), cost: int = 1
    ) -> Decision:
        """Fallback: one check per limit (not atomic across them; tokens spent on
        earlier buckets are not returned when a later one refuses)."""
        decisions: list[Decision] = []
        for b in buckets:
            d = await self.check(b.key, b.capacity, b.refill_per_s, cost)
            d = Decision(d.allowed, d.limit, d.remaining, d.reset_s, d.retry_after_s, b.scope)
            if not d.allowed:
                return d
            decisions.append(d)
        for q in quotas:
            used = await self.get_window(q.key)
            if used + cost > q.limit:
                return Decision(False, q.limit, max(0, q.limit - used), q.reset_in_s,
                                q.reset_in_s, q.scope)
        for q in quotas:
            used = await self.incr_window(q.key, max(1, int(q.reset_in_s + 0.999)), cost)
            decisions.append(Decision(True, q.limit, max(0, q.limit - used), q.reset_in_s,
                                      0.0, q.scope))
        if not decisions:
            return Decision(True, 0, 0, 0.0)
        return min(decisions, key=lambda d: d.remaining)
