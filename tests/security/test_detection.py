"""Rules over an event stream, with the memory counter backend and an injected clock."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pierre.ratelimit.memory import MemoryRateLimiter
from pierre.security import events as ev
from pierre.security.actions import Restrictions
from pierre.security.config import MonitoringConfig
from pierre.security.detection import Detector


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make(clock: Clock, cfg: MonitoringConfig | None = None) -> Detector:
    store = MemoryRateLimiter()
    store.clock = clock
    return Detector(cfg or MonitoringConfig(), store, clock)


async def fired(det: Detector, event: ev.Event) -> list[str]:
    detections, _ = await det.observe(event)
    return [d.rule for d in detections]


async def test_brute_force_on_one_account_fires_once_at_threshold(clock: Clock) -> None:
    det = make(clock)
    rules = []
    for i in range(15):
        e = ev.Event(ev.LOGIN_FAILED, user_id="u1", ip=f"198.51.100.{i}",
                     details={"account": "a@x.org"})
        rules += await fired(det, e)
    assert rules == ["brute_force_account"]


async def test_mfa_failures_count_as_login_failures(clock: Clock) -> None:
    det = make(clock)
    rules = []
    for i in range(10):
        name = ev.MFA_FAILED if i % 2 else ev.LOGIN_FAILED
        rules += await fired(det, ev.Event(name, user_id="u1", ip="203.0.113.9"))
    assert rules == ["brute_force_account"]


async def test_failures_spread_over_windows_do_not_fire(clock: Clock) -> None:
    det = make(clock)
    rules = []
    for _ in range(30):
        rules += await fired(det, ev.Event(ev.LOGIN_FAILED, user_id="u1", ip="203.0.113.9"))
        clock.t += 60  # 5 per 5-minute window, threshold 10
    assert rules == []


async def test_credential_stuffing_counts_distinct_accounts_from_one_address(
        clock: Clock) -> None:
    det = make(clock)
    rules = []
    for i in range(6):
        for _ in range(2):  # repeats on the same account are not new accounts
            rules += await fired(det, ev.Event(ev.LOGIN_FAILED, ip="203.0.113.7",
                                               details={"account": f"user{i}@x.org"}))
    assert rules == ["credential_stuffing"]


async def test_brute_force_from_one_address(clock: Clock) -> None:
    cfg = MonitoringConfig()
    cfg = replace(cfg, credential_stuffing=replace(cfg.credential_stuffing, enabled=False))
    det = make(clock, cfg)
    rules = []
    for i in range(31):
        rules += await fired(det, ev.Event(ev.LOGIN_FAILED, ip="203.0.113.8",
                                           details={"account": f"u{i % 3}@x.org"}))
    assert "brute_force_address" in rules


async def test_trusted_addresses_are_not_counted(clock: Clock) -> None:
    det = make(clock, replace(MonitoringConfig(), trusted_addresses=["10.0.0.0/8"]))
    rules = []
    for i in range(40):
        rules += await fired(det, ev.Event(ev.LOGIN_FAILED, ip="10.1.2.3",
                                           details={"account": f"u{i}@x.org"}))
    assert rules == []


async def test_api_key_from_many_addresses(clock: Clock) -> None:
    det = make(clock)
    rules = []
    new = 0
    for i in range(12):
        for _ in range(3):
            detections, facts = await det.observe(
                ev.Event(ev.API_KEY_USED, credential_id="k1", ip=f"198.51.100.{i}"))
            rules += [d.rule for d in detections]
            new += bool(facts.get("new_address"))
    assert rules == ["api_key_addresses"]
    assert new == 12


async def test_api_key_repeat_use_costs_no_counter_update(clock: Clock) -> None:
    det = make(clock)
    e = ev.Event(ev.API_KEY_USED, credential_id="k1", ip="198.51.100.1")
    await det.observe(e)
    size = len(det.store._store)  # type: ignore[attr-defined]
    for _ in range(50):
        await det.observe(e)
    assert len(det.store._store) == size  # type: ignore[attr-defined]


async def test_cross_tenant_burst_and_refresh_reuse(clock: Clock) -> None:
    det = make(clock)
    rules = []
    for _ in range(12):
        rules += await fired(det, ev.Event(ev.CROSS_TENANT_REFUSED, tenant_id="t", user_id="u"))
    assert rules == ["cross_tenant"]
    detections, _ = await det.observe(ev.Event(ev.REFRESH_REUSE, tenant_id="t", user_id="u",
                                               details={"family_id": "f1"}))
    assert [(d.rule, d.subject["family_id"]) for d in detections] == [("refresh_reuse", "f1")]


async def test_tool_spike_needs_both_threshold_and_jump_over_previous_window(
        clock: Clock) -> None:
    cfg = MonitoringConfig()
    cfg = replace(cfg, tool_spike=replace(cfg.tool_spike, threshold=50, window_s=60, factor=3))
    det = make(clock, cfg)
    clock.t = 6000.0  # start of a window
    rules = []
    for _ in range(40):  # steady: 40 per minute
        rules += await fired(det, ev.Event(ev.TOOL_CALL, tenant_id="t1"))
    clock.t += 60
    for _ in range(100):  # 100 < 3 x 40: busy but not a spike
        rules += await fired(det, ev.Event(ev.TOOL_CALL, tenant_id="t1"))
    assert rules == []
    clock.t += 60
    for _ in range(400):
        rules += await fired(det, ev.Event(ev.TOOL_CALL, tenant_id="t1"))
    assert rules == ["tool_spike"]


async def test_disabled_monitoring_detects_nothing(clock: Clock) -> None:
    det = make(clock, replace(MonitoringConfig(), enabled=False))
    for _ in range(20):
        assert await fired(det, ev.Event(ev.LOGIN_FAILED, user_id="u1")) == []


async def test_restrictions_expire_and_can_be_lifted(clock: Clock) -> None:
    store = MemoryRateLimiter()
    store.clock = clock
    r = Restrictions(store, clock)
    applied = await r.apply("address", "203.0.113.1", 60, rule="x")
    assert (await r.get("address", "203.0.113.1")) == applied
    clock.t += 61
    assert await r.get("address", "203.0.113.1", fresh=True) is None
    await r.apply("account", "u1", 60, rule="x")
    assert (await r.lift("account", "u1")) is not None
    assert await r.get("account", "u1", fresh=True) is None
    assert await r.lift("account", "u1") is None
