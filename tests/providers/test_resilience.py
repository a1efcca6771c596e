"""Circuit breaker and Strava's rate-limit window arithmetic (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pierre_strava import strava_reset

from pierre.providers.oauth import challenge_s256
from pierre.providers.resilience import CircuitBreaker


def test_breaker_opens_after_threshold_and_half_opens_after_cooldown() -> None:
    b = CircuitBreaker(threshold=3, cooldown_s=10)
    for _ in range(3):
        assert b.allow(0)
        b.failure(0)
    assert b.state == "open" and not b.allow(5)
    assert b.allow(10) and not b.allow(10)  # one trial call only
    b.failure(10)
    assert not b.allow(15) and b.allow(20)
    b.success()
    assert b.state == "closed" and b.allow(20)


@pytest.mark.parametrize(("now", "usage", "expected"), [
    ("2025-06-01T10:07:30", "12,50", 450.0),
    ("2025-06-01T10:44:59", "200,300", 1.0),
    ("2025-06-01T23:00:00", "5,2000", 3600.0),
])
def test_strava_window_reset(now: str, usage: str, expected: float) -> None:
    t = datetime.fromisoformat(now).replace(tzinfo=UTC).timestamp()
    headers = {"X-RateLimit-Limit": "200,2000", "X-RateLimit-Usage": usage}
    assert strava_reset(429, headers, None, now=t) == pytest.approx(expected)


def test_pkce_s256_is_unpadded_base64url_sha256() -> None:
    import base64
    import hashlib

    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r7wW1gFWFOEjXk"
    got = challenge_s256(verifier)
    assert len(got) == 43 and "=" not in got and "+" not in got and "/" not in got
    assert base64.urlsafe_b64decode(got + "=") == hashlib.sha256(verifier.encode()).digest()
