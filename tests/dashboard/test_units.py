"""Pure parts of the dashboard: session cookies, CSRF tokens, escaping, usage figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from pierre.dashboard import render, usage
from pierre.dashboard.routes import _safe_next
from pierre.dashboard.session import SessionCodec
from pierre.plugins.database import AuditRecord


def test_session_cookie_round_trips_and_rejects_forgery_and_expiry() -> None:
    codec = SessionCodec(b"s" * 32)
    cookie, sess = codec.issue("t1", "u1", now=1000.0, ttl_s=60)
    assert codec.read(cookie, now=1030.0) == sess
    assert codec.read(cookie, now=1061.0) is None
    body, mac = cookie.split(".")
    assert codec.read(f"{body}x.{mac}", now=1030.0) is None
    assert SessionCodec(b"o" * 32).read(cookie, now=1030.0) is None
    assert codec.read(None) is None and codec.read("garbage") is None


def test_csrf_token_is_bound_to_the_session() -> None:
    codec = SessionCodec(b"s" * 32)
    _, a = codec.issue("t1", "u1")
    _, b = codec.issue("t1", "u1")
    tok = codec.csrf_for(a)
    assert codec.check_csrf(a, tok)
    assert not codec.check_csrf(b, tok)
    assert not codec.check_csrf(a, None)
    assert not codec.check_csrf(None, codec.csrf_for(None, ""), None)
    anon = codec.csrf_for(None, "nonce1")
    assert codec.check_csrf(None, anon, "nonce1") and not codec.check_csrf(None, anon, "n2")


def test_values_are_escaped_and_json_blocks_cannot_close_the_script() -> None:
    html = render.tag("p", '<script>alert("x")</script>', title='"><img>')
    assert "<script>" not in html and "&lt;script&gt;" in html and '"><img>' not in html
    block = render.json_data("d", {"name": "</script><script>alert(1)</script>"})
    assert block.count("</script>") == 1


def test_next_parameter_never_leaves_the_site() -> None:
    for bad in ("https://evil.example/", "//evil.example/x", "/\\evil", "", None):
        assert _safe_next(bad) == "/dashboard/"
    assert _safe_next("/oauth2/authorize?client_id=x") == "/oauth2/authorize?client_id=x"


def _rec(day: int, action: str, tool: str | None = None) -> AuditRecord:
    return AuditRecord(id=str(day), tenant_id="t", user_id="u", action=action, ip=None,
                       user_agent=None, details={"tool": tool} if tool else {},
                       created_at=datetime(2026, 3, day, 12, tzinfo=UTC))


def test_usage_counts_per_day_with_zeros_and_per_tool() -> None:
    recs = [_rec(9, "tool.call", "get_activities"), _rec(9, "tool.call", "get_activities"),
            _rec(10, "dashboard.login"), _rec(1, "too.old")]
    out = usage.summarize(recs, days=3, today=date(2026, 3, 10))
    assert out["per_day"] == [("2026-03-08", 0), ("2026-03-09", 2), ("2026-03-10", 1)]
    assert out["per_tool"] == [("get_activities", 2), ("dashboard.login", 1)]
    assert out["total"] == 3


@dataclass
class _A:
    start_utc: datetime
    distance_m: float | None


def test_weekly_volume_sums_kilometres_per_monday() -> None:
    acts = [_A(datetime(2026, 3, 9, tzinfo=UTC), 10_000), _A(datetime(2026, 3, 15, tzinfo=UTC),
            5_500), _A(datetime(2026, 3, 4, tzinfo=UTC), None)]
    out = usage.weekly_volume(acts, weeks=2, today=date(2026, 3, 15))
    assert out == [("2026-03-02", 0.0, 1), ("2026-03-09", 15.5, 2)]
