"""The `pierre.ratelimiters` contract: token buckets, quotas and shared counters."""

from __future__ import annotations

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
