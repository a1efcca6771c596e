"""Training load over time: CTL/ATL/TSB, ramp rate and acute:chronic workload ratio.

Sources
-------
* Performance Manager (Coggan; Allen & Coggan 2010, *Training and Racing with a
  Power Meter*, ch. 8), an exponentially weighted form of Banister's
  fitness-fatigue model (Banister et al. 1975)::

      CTL_t = CTL_{t-1} + (load_t - CTL_{t-1}) / 42     (chronic: "fitness")
      ATL_t = ATL_{t-1} + (load_t - ATL_{t-1}) / 7      (acute: "fatigue")
      TSB_t = CTL_t - ATL_t                             (balance: "form")

* Ramp rate: CTL change over 7 days (Allen & Coggan 2010).
* Acute:chronic workload ratio, rolling-average ("coupled") form: mean load of
  the last 7 days / mean of the last 28 days. Gabbett, T. J. (2016) "The
  training-injury prevention paradox", *Br J Sports Med* 50:273-280: 0.8-1.3
  is the "sweet spot", above 1.5 the "danger zone".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from pierre.science import InsufficientData

CTL_DAYS = 42
ATL_DAYS = 7
MAX_DAILY_LOAD = 10_000.0  # ~10x a hard day's TSS; beyond this the data is wrong


@dataclass(frozen=True, slots=True)
class DailyLoad:
    """One day of the Performance Manager series."""

    date: date
    load: float
    ctl: float
    atl: float
    tsb: float


def _days(start: date, end: date) -> list[date]:
    if end < start:
        raise InsufficientData(f"the date range is empty: {start} is after {end}")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _load(loads: Mapping[date, float], day: date) -> float:
    value = float(loads.get(day, 0.0))
    if not math.isfinite(value) or not 0 <= value <= MAX_DAILY_LOAD:
        raise InsufficientData(
            f"the training load on {day} is {value!r}; loads must be between 0 and "
            f"{MAX_DAILY_LOAD:.0f}"
        )
    return value


def performance_series(
    loads: Mapping[date, float],
    start: date,
    end: date,
    *,
    initial_ctl: float = 0.0,
    initial_atl: float = 0.0,
    ctl_days: int = CTL_DAYS,
    atl_days: int = ATL_DAYS,
) -> list[DailyLoad]:
    """CTL, ATL and TSB for every day from `start` to `end` inclusive.

    Days missing from `loads` count as 0 load (rest). `initial_ctl` and
    `initial_atl` are the values on the day before `start`.
    """
    if ctl_days < 1 or atl_days < 1:
        raise InsufficientData("CTL and ATL time constants must be at least 1 day")
    ctl, atl = initial_ctl, initial_atl
    out: list[DailyLoad] = []
    for day in _days(start, end):
        load = _load(loads, day)
        ctl += (load - ctl) / ctl_days
        atl += (load - atl) / atl_days
        out.append(DailyLoad(date=day, load=load, ctl=ctl, atl=atl, tsb=ctl - atl))
    return out


def ramp_rate(series: list[DailyLoad], on: date | None = None) -> float:
    """CTL change per week: CTL(on) - CTL(on - 7 days). `on` defaults to the last day."""
    by_day = {d.date: d.ctl for d in series}
    if not by_day:
        raise InsufficientData("the ramp rate needs a CTL series")
    day = on or max(by_day)
    week_ago = day - timedelta(days=7)
    if day not in by_day or week_ago not in by_day:
        raise InsufficientData(
            f"the ramp rate on {day} needs CTL on {week_ago} and {day}; extend the date range"
        )
    return by_day[day] - by_day[week_ago]


AcwrZone = Literal["undertraining", "sweet_spot", "caution", "high_risk"]


@dataclass(frozen=True, slots=True)
class WorkloadRatio:
    """Acute (7-day) and chronic (28-day) mean daily load and their ratio (Gabbett 2016)."""

    date: date
    acute: float
    chronic: float
    ratio: float
    zone: AcwrZone


def acwr_zone(ratio: float) -> AcwrZone:
    """Gabbett (2016): < 0.8 under-prepared, 0.8-1.3 sweet spot, 1.3-1.5 caution, > 1.5 danger."""
    if ratio > 1.5:
        return "high_risk"
    if ratio > 1.3:
        return "caution"
    if ratio >= 0.8:
        return "sweet_spot"
    return "undertraining"


def acute_chronic_ratio(
    loads: Mapping[date, float], on: date, *, acute_days: int = 7, chronic_days: int = 28
) -> WorkloadRatio:
    """ACWR on `on` from the `acute_days` and `chronic_days` ending that day (missing = 0)."""
    if not 1 <= acute_days <= chronic_days:
        raise InsufficientData("the acute window must be between 1 day and the chronic window")
    window = [_load(loads, on - timedelta(days=i)) for i in range(chronic_days)]
    acute = math.fsum(window[:acute_days]) / acute_days
    chronic = math.fsum(window) / chronic_days
    if chronic <= 0:
        raise InsufficientData(
            f"no training load in the {chronic_days} days up to {on}; ACWR is undefined"
        )
    ratio = acute / chronic
    return WorkloadRatio(date=on, acute=acute, chronic=chronic, ratio=ratio, zone=acwr_zone(ratio))
