"""Provider rate-limit headers -> "blocked until" snapshots (pure, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pierre.ratelimit.provider_quota import (
    next_midnight,
    next_quarter_hour,
    parse_quota_headers,
)


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(("now", "quarter", "midnight"), [
    ("2026-03-01T10:00:00", "2026-03-01T10:15:00", "2026-03-02T00:00:00"),
    ("2026-03-01T10:14:59", "2026-03-01T10:15:00", "2026-03-02T00:00:00"),
    ("2026-03-01T10:45:10", "2026-03-01T11:00:00", "2026-03-02T00:00:00"),
    ("2026-12-31T23:50:00", "2027-01-01T00:00:00", "2027-01-01T00:00:00"),
])
def test_strava_windows_end_on_quarter_hours_and_utc_midnight(
    now: str, quarter: str, midnight: str
) -> None:
    assert next_quarter_hour(ts(now)) == ts(quarter)
    assert next_midnight(ts(now)) == ts(midnight)


NOW = ts("2026-03-01T10:07:30")


@pytest.mark.parametrize(("usage", "until", "reason"), [
    ("15,150", 0.0, ""),
    ("199,1999", 0.0, ""),
    ("200,1200", ts("2026-03-01T10:15:00"), "15-minute limit 200/200"),
    ("60,2000", ts("2026-03-02T00:00:00"), "daily limit 2000/2000"),
    ("205,2000", ts("2026-03-02T00:00:00"), "daily limit 2000/2000"),
])
def test_strava_overall_usage(usage: str, until: float, reason: str) -> None:
    snap = parse_quota_headers({"X-RateLimit-Limit": "200,2000", "X-RateLimit-Usage": usage}, NOW)
    assert snap is not None
    assert snap.until == until and snap.read_until == 0.0
    assert snap.reason == reason
    assert snap.blocked_until(read=True) == until
    assert snap.ttl_s >= (until - NOW if until else ts("2026-03-01T10:15:00") - NOW)


def test_strava_read_limit_blocks_reads_only() -> None:
    snap = parse_quota_headers({
        "x-ratelimit-limit": "200,2000", "x-ratelimit-usage": "100,900",
        "x-readratelimit-limit": "100,1000", "x-readratelimit-usage": "100,900",
    }, NOW)
    assert snap is not None
    assert snap.blocked_until(read=False) == 0.0
    assert snap.blocked_until(read=True) == ts("2026-03-01T10:15:00")
    assert "read 15-minute" in snap.reason


def test_fitbit_remaining_zero_blocks_until_reset() -> None:
    snap = parse_quota_headers({"Fitbit-Rate-Limit-Limit": "150",
                                "Fitbit-Rate-Limit-Remaining": "0",
                                "Fitbit-Rate-Limit-Reset": "1200"}, NOW)
    assert snap is not None and snap.until == NOW + 1200
    assert snap.reason == "hourly limit 150/150"
    open_ = parse_quota_headers({"Fitbit-Rate-Limit-Limit": "150",
                                 "Fitbit-Rate-Limit-Remaining": "3",
                                 "Fitbit-Rate-Limit-Reset": "1200"}, NOW)
    assert open_ is not None and open_.until == 0.0 and open_.ttl_s == 1200


def test_retry_after_blocks_and_unrelated_headers_say_nothing() -> None:
    snap = parse_quota_headers({"Retry-After": "30"}, NOW)
    assert snap is not None and snap.until == NOW + 30
    assert parse_quota_headers({"Content-Type": "application/json"}, NOW) is None
    assert parse_quota_headers({"X-RateLimit-Limit": "200,2000",
                                "X-RateLimit-Usage": "garbage"}, NOW) is None


@given(st.dictionaries(
    st.sampled_from(["X-RateLimit-Limit", "X-RateLimit-Usage", "X-ReadRateLimit-Limit",
                     "X-ReadRateLimit-Usage", "Fitbit-Rate-Limit-Remaining",
                     "Fitbit-Rate-Limit-Reset", "Fitbit-Rate-Limit-Limit", "Retry-After"]),
    st.text(max_size=20),
))
def test_parser_never_raises_and_never_blocks_in_the_past(headers: dict[str, str]) -> None:
    snap = parse_quota_headers(headers, NOW)
    if snap is not None:
        assert snap.ttl_s >= 1.0
        assert snap.until == 0.0 or snap.until >= NOW
