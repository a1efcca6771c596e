"""CTL/ATL/TSB, ramp rate and ACWR computed by hand."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pierre.science import InsufficientData
from pierre.science.load import acute_chronic_ratio, acwr_zone, performance_series, ramp_rate

D0 = date(2024, 1, 1)


def test_first_days_by_hand() -> None:
    # Day 1: load 100 from 0 -> CTL = 100/42 = 2.381, ATL = 100/7 = 14.286, TSB = -11.905
    # Day 2: rest -> CTL = 2.381 * 41/42 = 2.324, ATL = 14.286 * 6/7 = 12.245
    # Day 3: load 50 -> CTL = 2.324 + (50 - 2.324)/42 = 3.460,
    #                   ATL = 12.245 + (50 - 12.245)/7 = 17.638
    series = performance_series({D0: 100.0, D0 + timedelta(days=2): 50.0}, D0,
                                D0 + timedelta(days=2))
    assert [d.date for d in series] == [D0 + timedelta(days=i) for i in range(3)]
    assert [d.load for d in series] == [100.0, 0.0, 50.0]
    assert series[0].ctl == pytest.approx(2.381, abs=1e-3)
    assert series[0].atl == pytest.approx(14.286, abs=1e-3)
    assert series[0].tsb == pytest.approx(-11.905, abs=1e-3)
    assert series[1].ctl == pytest.approx(2.324, abs=1e-3)
    assert series[1].atl == pytest.approx(12.245, abs=1e-3)
    assert series[2].ctl == pytest.approx(3.460, abs=1e-3)
    assert series[2].atl == pytest.approx(17.638, abs=1e-3)


def test_constant_load_converges() -> None:
    days = 400
    loads = {D0 + timedelta(days=i): 60.0 for i in range(days)}
    series = performance_series(loads, D0, D0 + timedelta(days=days - 1))
    assert series[-1].ctl == pytest.approx(60.0, abs=0.01)
    assert series[-1].tsb == pytest.approx(0.0, abs=0.01)


def test_ramp_rate_is_weekly_ctl_change() -> None:
    loads = {D0 + timedelta(days=i): 100.0 for i in range(14)}
    series = performance_series(loads, D0, D0 + timedelta(days=13))
    assert ramp_rate(series) == pytest.approx(series[13].ctl - series[6].ctl)
    with pytest.raises(InsufficientData):
        ramp_rate(series, on=D0 + timedelta(days=3))


def test_acwr_by_hand() -> None:
    # 28 days at 50, except the last 7 days at 100:
    # acute = 100, chronic = (21 * 50 + 7 * 100) / 28 = 62.5, ratio = 1.6 -> high risk.
    on = D0 + timedelta(days=27)
    loads = {D0 + timedelta(days=i): (100.0 if i >= 21 else 50.0) for i in range(28)}
    acwr = acute_chronic_ratio(loads, on)
    assert (acwr.acute, acwr.chronic, acwr.ratio) == pytest.approx((100.0, 62.5, 1.6))
    assert acwr.zone == "high_risk"


@pytest.mark.parametrize(
    ("ratio", "zone"),
    [(0.5, "undertraining"), (0.8, "sweet_spot"), (1.3, "sweet_spot"), (1.4, "caution"),
     (1.51, "high_risk")],
)
def test_acwr_zones(ratio: float, zone: str) -> None:
    assert acwr_zone(ratio) == zone


def test_errors() -> None:
    with pytest.raises(InsufficientData):
        performance_series({}, D0, D0 - timedelta(days=1))
    with pytest.raises(InsufficientData):
        performance_series({D0: -5.0}, D0, D0)
    with pytest.raises(InsufficientData):
        acute_chronic_ratio({}, D0)


@given(st.lists(st.floats(min_value=0, max_value=500), min_size=1, max_size=120))
def test_ctl_atl_stay_within_load_range(values: list[float]) -> None:
    # Starting from the first load, each update is a convex combination of the
    # previous value and today's load, so CTL/ATL never leave [min, max] load.
    loads = {D0 + timedelta(days=i): v for i, v in enumerate(values)}
    series = performance_series(loads, D0, D0 + timedelta(days=len(values) - 1),
                                initial_ctl=values[0], initial_atl=values[0])
    lo, hi = min(values), max(values)
    for day in series:
        assert lo - 1e-9 <= day.ctl <= hi + 1e-9
        assert lo - 1e-9 <= day.atl <= hi + 1e-9
