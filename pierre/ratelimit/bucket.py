"""Token-bucket and quota arithmetic, pure and I/O-free.

The memory backend runs exactly this; the Redis Lua script mirrors it line by
line, so both backends decide the same way. Times are seconds as floats.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pierre.plugins.ratelimit import Decision


@dataclass(frozen=True, slots=True)
class Outcome:
    """One limit's state after a combined check: what headers and errors need."""

    scope: str
    limit: int
    remaining: int
    reset_s: float
    retry_after_s: float


def refill(tokens: float, last: float, now: float, capacity: int, rate: float) -> float:
    """Tokens available at `now`; never above capacity (also after a tier shrinks)."""
    return min(float(capacity), tokens + max(0.0, now - last) * rate)


def wait_for(tokens: float, cost: int, rate: float) -> float:
    """Seconds until `cost` tokens are there; inf when refill is zero."""
    if tokens >= cost:
        return 0.0
    return math.inf if rate <= 0 else (cost - tokens) / rate


def time_to_full(tokens: float, capacity: int, rate: float) -> float:
    if tokens >= capacity or rate <= 0:
        return 0.0
    return (capacity - tokens) / rate


def combine(allowed: bool, outcomes: Sequence[Outcome]) -> Decision:
    """The decision a caller sees: on refusal the limit that waits longest, else the
    tightest limit (fewest remaining), so headers warn about what bites first."""
    if not outcomes:
        return Decision(True, 0, 0, 0.0)
    if allowed:
        o = min(outcomes, key=lambda o: o.remaining)
        return Decision(True, o.limit, o.remaining, o.reset_s, 0.0, o.scope)
    o = max(outcomes, key=lambda o: o.retry_after_s)
    return Decision(False, o.limit, o.remaining, o.reset_s, o.retry_after_s, o.scope)
