"""Banister training impulse (TRIMP) and heart-rate Training Stress Score (hrTSS).

Sources
-------
* Banister, E. W. (1991) "Modeling elite athletic performance", in
  MacDougall, Wenger & Green (eds.) *Physiological Testing of the
  High-Performance Athlete*, pp. 403-424; weighting from Morton, Fitz-Clarke &
  Banister (1990) *J Appl Physiol* 69(3):1171-1177::

      TRIMP = minutes * HRr * k * e^(b * HRr),  HRr = (HRavg - HRrest)/(HRmax - HRrest)
      men: k = 0.64, b = 1.92      women: k = 0.86, b = 1.67

* hrTSS (TrainingPeaks, after Coggan): the TRIMP of the session divided by the
  TRIMP of one hour at lactate-threshold heart rate, times 100. One hour at
  threshold therefore scores 100, as with power-based TSS.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pierre.science import InsufficientData
from pierre.science.series import DEFAULT_MAX_GAP_S, sample_durations

_WEIGHTS = {"M": (0.64, 1.92), "F": (0.86, 1.67)}


def _weights(sex: str) -> tuple[float, float]:
    key = sex.strip().upper()[:1] if sex else ""
    if key not in _WEIGHTS:
        raise InsufficientData(
            f"Banister TRIMP weights exist for sex 'M' or 'F'; got {sex!r}. "
            "Set the athlete's sex to choose the weighting."
        )
    return _WEIGHTS[key]


def _check_hr_bounds(resting_hr_bpm: float, max_hr_bpm: float) -> None:
    if not (math.isfinite(resting_hr_bpm) and math.isfinite(max_hr_bpm)):
        raise InsufficientData("resting and maximum heart rate are needed for TRIMP")
    if not 20 <= resting_hr_bpm < max_hr_bpm <= 250:
        raise InsufficientData(
            f"resting HR {resting_hr_bpm:.0f} and max HR {max_hr_bpm:.0f} bpm are not plausible; "
            "resting must be at least 20 and below max, max at most 250"
        )


def heart_rate_reserve_fraction(hr_bpm: float, resting_hr_bpm: float, max_hr_bpm: float) -> float:
    """HRr = (HR - HRrest)/(HRmax - HRrest), clamped to [0, 1] (Karvonen 1957)."""
    _check_hr_bounds(resting_hr_bpm, max_hr_bpm)
    hrr = (hr_bpm - resting_hr_bpm) / (max_hr_bpm - resting_hr_bpm)
    return min(1.0, max(0.0, hrr))


def _impulse(hrr: float, sex: str) -> float:
    k, b = _weights(sex)
    return hrr * k * math.exp(b * hrr)


def banister_trimp(
    duration_s: float, avg_hr_bpm: float, resting_hr_bpm: float, max_hr_bpm: float, sex: str
) -> float:
    """Banister TRIMP from a session's duration and average heart rate."""
    if not (math.isfinite(duration_s) and duration_s > 0):
        raise InsufficientData("TRIMP needs a duration greater than 0 s")
    if not (math.isfinite(avg_hr_bpm) and avg_hr_bpm > 0):
        raise InsufficientData("TRIMP needs an average heart rate; this activity has none")
    hrr = heart_rate_reserve_fraction(avg_hr_bpm, resting_hr_bpm, max_hr_bpm)
    return duration_s / 60.0 * _impulse(hrr, sex)


def stream_trimp(
    time_s: Sequence[float],
    hr_bpm: Sequence[float | None],
    resting_hr_bpm: float,
    max_hr_bpm: float,
    sex: str,
    *,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
) -> float:
    """Banister TRIMP summed sample by sample: sum(dt_min * HRr_i * k e^(b HRr_i)).

    Each sample counts for the time to the next sample (at most `max_gap_s`);
    samples without heart rate count for nothing.
    """
    if len(time_s) != len(hr_bpm):
        raise InsufficientData("time and heart-rate streams differ in length")
    _check_hr_bounds(resting_hr_bpm, max_hr_bpm)
    _weights(sex)
    durations = sample_durations(time_s, max_gap_s)
    total = 0.0
    counted = 0
    for dt, hr in zip(durations, hr_bpm, strict=True):
        if hr is None or not math.isfinite(hr) or hr <= 0:
            continue
        counted += 1
        hrr = heart_rate_reserve_fraction(hr, resting_hr_bpm, max_hr_bpm)
        total += dt / 60.0 * _impulse(hrr, sex)
    if counted == 0:
        raise InsufficientData("the activity has no heart-rate samples; TRIMP needs heart rate")
    return total


def hr_tss(
    trimp: float, threshold_hr_bpm: float, resting_hr_bpm: float, max_hr_bpm: float, sex: str
) -> float:
    """hrTSS = 100 * TRIMP / TRIMP(60 min at lactate-threshold HR)."""
    if not (math.isfinite(trimp) and trimp >= 0):
        raise InsufficientData("hrTSS needs a finite, non-negative TRIMP")
    hrr_lt = heart_rate_reserve_fraction(threshold_hr_bpm, resting_hr_bpm, max_hr_bpm)
    if hrr_lt <= 0:
        raise InsufficientData("threshold heart rate must be above resting heart rate")
    return 100.0 * trimp / (60.0 * _impulse(hrr_lt, sex))
