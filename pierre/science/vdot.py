"""Running performance equivalence: Daniels & Gilbert VDOT and Riegel's power law.

Sources
-------
* Daniels, J. & Gilbert, J. (1979) *Oxygen Power: Performance Tables for
  Distance Runners*. Oxygen cost of running at velocity v (m/min)::

      VO2 = -4.60 + 0.182258 v + 0.000104 v^2          (ml/kg/min)

  and the fraction of VO2max sustainable for a race lasting t minutes::

      %VO2max = 0.8 + 0.1894393 e^(-0.012778 t) + 0.2989558 e^(-0.1932605 t)

  VDOT = VO2 / %VO2max. These are the equations behind the tables of
  Daniels, J. *Daniels' Running Formula* (3rd ed., Human Kinetics, 2014).
* Riegel, P. S. (1981) "Athletic records and human endurance",
  *American Scientist* 69(3):285-290: T2 = T1 (D2/D1)^1.06.

The Daniels equations were fitted to race durations of roughly 3.5 minutes to
4 hours; `race_time_s` and `vdot` work outside that range but the further out,
the less meaningful the number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from pierre.science import InsufficientData

MILE_M: Final = 1609.344
STANDARD_DISTANCES_M: Final[dict[str, float]] = {
    "1500m": 1500.0,
    "mile": MILE_M,
    "5k": 5000.0,
    "10k": 10000.0,
    "half_marathon": 21097.5,
    "marathon": 42195.0,
}
RIEGEL_EXPONENT: Final = 1.06

# Intensities of the training paces as fractions of VO2max (i.e. of VDOT),
# from Daniels' Running Formula (3rd ed., ch. 4): Easy 59-74 %, Threshold
# ~88 %, Interval ~97.5 % (95-100 %, "at or near VO2max"), Repetition
# ~105 % (faster than VO2max pace, roughly 6 s/400 m quicker than I pace).
# Marathon pace is the predicted marathon race pace for the VDOT itself.
EASY_FRACTION_RANGE: Final = (0.59, 0.74)
THRESHOLD_FRACTION: Final = 0.88
INTERVAL_FRACTION: Final = 0.975
REPETITION_FRACTION: Final = 1.05

_A: Final = 0.000104
_B: Final = 0.182258
_C: Final = -4.60


def oxygen_cost(velocity_m_per_min: float) -> float:
    """VO2 (ml/kg/min) of running at `velocity_m_per_min` (Daniels & Gilbert 1979)."""
    v = velocity_m_per_min
    return _C + _B * v + _A * v * v


def velocity_for_oxygen_cost(vo2: float) -> float:
    """Velocity (m/min) whose oxygen cost is `vo2`: the positive root of the quadratic."""
    disc = _B * _B + 4.0 * _A * (vo2 - _C)
    if vo2 <= 0 or disc < 0:
        raise InsufficientData(f"an oxygen cost of {vo2:.1f} ml/kg/min is not a running pace")
    return (-_B + math.sqrt(disc)) / (2.0 * _A)


def fraction_vo2max(duration_min: float) -> float:
    """Fraction of VO2max sustainable for `duration_min` minutes (Daniels & Gilbert 1979)."""
    t = duration_min
    return 0.8 + 0.1894393 * math.exp(-0.012778 * t) + 0.2989558 * math.exp(-0.1932605 * t)


def _check_effort(distance_m: float, time_s: float) -> None:
    if not (math.isfinite(distance_m) and distance_m > 0):
        raise InsufficientData("a race distance greater than 0 m is needed to compute VDOT")
    if not (math.isfinite(time_s) and time_s > 0):
        raise InsufficientData("a race time greater than 0 s is needed to compute VDOT")
    speed = distance_m / time_s
    if speed > 11.0:
        raise InsufficientData(
            f"{distance_m:.0f} m in {time_s:.0f} s is {speed:.1f} m/s, faster than any human "
            "run; check the distance and time of this effort"
        )


def vdot(distance_m: float, time_s: float) -> float:
    """Daniels' VDOT for running `distance_m` in `time_s` (Daniels & Gilbert 1979).

    >>> round(vdot(5000, 20 * 60), 1)
    49.8
    """
    _check_effort(distance_m, time_s)
    minutes = time_s / 60.0
    value = oxygen_cost(distance_m / minutes) / fraction_vo2max(minutes)
    if not (math.isfinite(value) and value > 0):
        raise InsufficientData("this effort is too slow to compute a meaningful VDOT")
    return value


def race_time_s(vdot_value: float, distance_m: float) -> float:
    """Race time (s) over `distance_m` that yields `vdot_value`, by bisection.

    VDOT is strictly decreasing in time for a fixed distance over any realistic
    range, so bisection between 1 s/km-ish and 5 h/km-ish brackets the root.
    """
    if not (math.isfinite(vdot_value) and vdot_value > 0):
        raise InsufficientData("a positive VDOT is needed to predict a race time")
    if not (math.isfinite(distance_m) and distance_m > 0):
        raise InsufficientData("a distance greater than 0 m is needed to predict a race time")

    def excess(t_min: float) -> float:
        return oxygen_cost(distance_m / t_min) / fraction_vo2max(t_min) - vdot_value

    lo = distance_m / 11.0 / 60.0  # faster than a world-record sprint
    hi = distance_m / 1.0 / 60.0  # 1 m/s: walking
    if excess(lo) < 0 or excess(hi) > 0:
        raise InsufficientData(
            f"VDOT {vdot_value:.1f} is outside the range the Daniels equations can map "
            f"to a {distance_m:.0f} m race time"
        )
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if excess(mid) > 0:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-9:
            break
    return 0.5 * (lo + hi) * 60.0


def equivalent_time_s(distance_m: float, time_s: float, target_distance_m: float) -> float:
    """Equivalent race time over `target_distance_m` at the same VDOT (Daniels)."""
    return race_time_s(vdot(distance_m, time_s), target_distance_m)


def riegel(distance_m: float, time_s: float, target_distance_m: float,
           exponent: float = RIEGEL_EXPONENT) -> float:
    """Riegel (1981) prediction T2 = T1 (D2/D1)^exponent, in seconds."""
    _check_effort(distance_m, time_s)
    if not (math.isfinite(target_distance_m) and target_distance_m > 0):
        raise InsufficientData("a target distance greater than 0 m is needed")
    return time_s * (target_distance_m / distance_m) ** exponent


def velocity_at_vo2max(vdot_value: float) -> float:
    """vVO2max (m/min): the velocity whose oxygen cost equals VDOT."""
    return velocity_for_oxygen_cost(vdot_value)


@dataclass(frozen=True, slots=True)
class TrainingPaces:
    """Training paces in seconds per km (Daniels' Running Formula, 3rd ed.).

    `easy_s_per_km` is (fast end, slow end) of the easy range.
    """

    vdot: float
    easy_s_per_km: tuple[float, float]
    marathon_s_per_km: float
    threshold_s_per_km: float
    interval_s_per_km: float
    repetition_s_per_km: float


def _pace_for_fraction(vdot_value: float, fraction: float) -> float:
    return 60_000.0 / velocity_for_oxygen_cost(vdot_value * fraction)


def training_paces(vdot_value: float) -> TrainingPaces:
    """Daniels' E/M/T/I/R paces for `vdot_value` (fractions: see module constants)."""
    if not (math.isfinite(vdot_value) and 20.0 <= vdot_value <= 90.0):
        raise InsufficientData(
            f"training paces need a VDOT between 20 and 90; got {vdot_value!r}"
        )
    easy_fast = _pace_for_fraction(vdot_value, EASY_FRACTION_RANGE[1])
    easy_slow = _pace_for_fraction(vdot_value, EASY_FRACTION_RANGE[0])
    marathon = race_time_s(vdot_value, STANDARD_DISTANCES_M["marathon"]) / 42.195
    return TrainingPaces(
        vdot=vdot_value,
        easy_s_per_km=(easy_fast, easy_slow),
        marathon_s_per_km=marathon,
        threshold_s_per_km=_pace_for_fraction(vdot_value, THRESHOLD_FRACTION),
        interval_s_per_km=_pace_for_fraction(vdot_value, INTERVAL_FRACTION),
        repetition_s_per_km=_pace_for_fraction(vdot_value, REPETITION_FRACTION),
    )
