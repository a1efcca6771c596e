"""Reading a provider's own rate-limit headers into a "blocked until" snapshot. Pure.

Strava (documented): `X-RateLimit-Limit: "200,2000"` and `X-RateLimit-Usage:
"15min,daily"` for all requests, the same pair as `X-ReadRateLimit-*` for reads.
The 15-minute windows reset at :00/:15/:30/:45 UTC, the daily one at midnight
UTC; rejected requests count too. Fitbit: `Fitbit-Rate-Limit-Limit`,
`-Remaining`, `-Reset` (seconds until the hourly window resets), per user. Any
provider: `Retry-After` in seconds.

A window counts as spent when usage has reached the limit: the call that took
the last unit succeeded, the next one would be throttled.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

QUARTER_S = 900
DAY_S = 86_400


@dataclass(frozen=True, slots=True)
class QuotaSnapshot:
    """`until` / `read_until`: epoch seconds before which no (read) call may go
    out, 0 when open. `ttl_s` is how long the snapshot stays meaningful."""

    until: float
    read_until: float
    reason: str
    ttl_s: float

    def blocked_until(self, *, read: bool) -> float:
        return max(self.until, self.read_until) if read else self.until


def next_quarter_hour(now: float) -> float:
    return (math.floor(now / QUARTER_S) + 1) * QUARTER_S


def next_midnight(now: float) -> float:
    return (math.floor(now / DAY_S) + 1) * DAY_S


def _ints(value: str | None) -> list[int] | None:
    if value is None:
        return None
    try:
        return [int(part.strip()) for part in value.split(",")]
    except ValueError:
        return None


def _strava(h: Mapping[str, str], prefix: str, now: float) -> tuple[float, str] | None:
    """(blocked until, reason) for one Strava header family; None when absent."""
    limits, usage = _ints(h.get(f"{prefix}-limit")), _ints(h.get(f"{prefix}-usage"))
    if not limits or not usage:
        return None
    until, reason = 0.0, ""
    ends = (next_quarter_hour(now), next_midnight(now))
    names = ("15-minute", "daily")
    for lim, used, end, name in zip(limits, usage, ends, names, strict=False):
        if lim > 0 and used >= lim and end > until:
            until, reason = end, f"{name} limit {used}/{lim}"
    return until, reason


def parse_quota_headers(headers: Mapping[str, str], now: float) -> QuotaSnapshot | None:
    """The snapshot these response headers describe, or None when they say nothing."""
    h = {k.lower(): v for k, v in headers.items()}
    until = read_until = 0.0
    reasons: list[str] = []
    seen = False
    overall = _strava(h, "x-ratelimit", now)
    if overall is not None:
        seen = True
        until = overall[0]
        if overall[1]:
            reasons.append(overall[1])
    read = _strava(h, "x-readratelimit", now)
    if read is not None:
        seen = True
        read_until = read[0]
        if read[1]:
            reasons.append(f"read {read[1]}")
    ttl = next_quarter_hour(now) - now if seen else 0.0
    remaining, reset = h.get("fitbit-rate-limit-remaining"), h.get("fitbit-rate-limit-reset")
    if remaining is not None and reset is not None:
        try:
            left, reset_s = int(remaining), max(0.0, float(reset))
        except ValueError:
            pass
        else:
            seen = True
            ttl = max(ttl, reset_s)
            if left <= 0:
                until = max(until, now + reset_s)
                limit = h.get("fitbit-rate-limit-limit", "?")
                reasons.append(f"hourly limit {limit}/{limit}")
    retry_after = h.get("retry-after")
    if retry_after is not None and retry_after.strip().isdigit():
        seen = True
        until = max(until, now + int(retry_after))
        ttl = max(ttl, float(retry_after))
        reasons.append("provider asked to retry later")
    if not seen:
        return None
    blocked = max(until, read_until)
    if blocked > now:
        ttl = max(ttl, blocked - now)
    return QuotaSnapshot(until, read_until, "; ".join(reasons), max(1.0, ttl))


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
