"""Cycling power metrics: Normalized Power, Intensity Factor, TSS, VI and zones.

Source: Allen, H. & Coggan, A. (2010) *Training and Racing with a Power Meter*
(2nd ed., VeloPress), ch. 3 and 7:

* NP: resample to 1 s, take the 30-s rolling average, raise it to the 4th
  power, average, take the 4th root.
* IF = NP / FTP;  TSS = (s * NP * IF) / (FTP * 3600) * 100;  VI = NP / average power.
* Power levels (% FTP): 1 Active recovery < 55, 2 Endurance 56-75, 3 Tempo
  76-90, 4 Lactate threshold 91-105, 5 VO2max 106-120, 6 Anaerobic capacity
  121-150, 7 Neuromuscular > 150. Bounds here are contiguous (55/75/90/105/120/150).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pierre.science import InsufficientData, require_finite
from pierre.science.series import resample_1hz

ROLLING_WINDOW_S = 30

COGGAN_LEVELS: tuple[tuple[str, float, float | None], ...] = (
    ("Active recovery", 0.0, 0.55),
    ("Endurance", 0.55, 0.75),
    ("Tempo", 0.75, 0.90),
    ("Lactate threshold", 0.90, 1.05),
    ("VO2max", 1.05, 1.20),
    ("Anaerobic capacity", 1.20, 1.50),
    ("Neuromuscular power", 1.50, None),
)


def _check_ftp(ftp_w: float) -> None:
    if not (math.isfinite(ftp_w) and ftp_w > 0):
        raise InsufficientData("an FTP greater than 0 W is needed; set the athlete's FTP")


def normalized_power_1hz(power_w: Sequence[float]) -> float:
    """NP of a power series already sampled once per second (Allen & Coggan 2010).

    Values are scaled by the peak before the 4th power so no input overflows.
    """
    n = len(power_w)
    if n < ROLLING_WINDOW_S:
        raise InsufficientData(
            f"Normalized Power needs at least {ROLLING_WINDOW_S} s of power data; got {n} s"
        )
    if not all(math.isfinite(p) and p >= 0 for p in power_w):
        raise InsufficientData("the power stream holds negative or non-finite values")
    peak = max(power_w)
    if peak == 0:
        return 0.0
    scaled = [p / peak for p in power_w]
    window = math.fsum(scaled[:ROLLING_WINDOW_S])
    fourth = [(window / ROLLING_WINDOW_S) ** 4]
    for i in range(ROLLING_WINDOW_S, n):
        window += scaled[i] - scaled[i - ROLLING_WINDOW_S]
        fourth.append(max(0.0, window / ROLLING_WINDOW_S) ** 4)
    return require_finite(peak * (math.fsum(fourth) / len(fourth)) ** 0.25, "Normalized Power")


def normalized_power(
    time_s: Sequence[float], power_w: Sequence[float | None], *, max_gap_s: float = 5.0
) -> float:
    """NP of an irregularly sampled power stream.

    The stream is resampled to 1 s by sample-and-hold; dropouts and pauses
    longer than `max_gap_s` count as 0 W (no work done), as a head unit records
    coasting.
    """
    if len(time_s) != len(power_w):
        raise InsufficientData("time and power streams differ in length")
    if not any(p is not None for p in power_w):
        raise InsufficientData("the activity has no power data")
    series = resample_1hz(time_s, power_w, max_gap_s=max_gap_s, fill=0.0)
    return normalized_power_1hz(series)


def intensity_factor(np_w: float, ftp_w: float) -> float:
    """IF = NP / FTP."""
    _check_ftp(ftp_w)
    return np_w / ftp_w


def training_stress_score(duration_s: float, np_w: float, ftp_w: float) -> float:
    """TSS = s * NP * IF / (FTP * 3600) * 100; one hour at FTP = 100."""
    _check_ftp(ftp_w)
    if not (math.isfinite(duration_s) and duration_s > 0):
        raise InsufficientData("TSS needs a duration greater than 0 s")
    if not (math.isfinite(np_w) and np_w >= 0):
        raise InsufficientData("TSS needs a finite Normalized Power")
    return duration_s * np_w * intensity_factor(np_w, ftp_w) / (ftp_w * 3600.0) * 100.0


def variability_index(np_w: float, average_power_w: float) -> float:
    """VI = NP / average power (1.00 = perfectly steady)."""
    if not (math.isfinite(average_power_w) and average_power_w > 0):
        raise InsufficientData("the variability index needs an average power above 0 W")
    return np_w / average_power_w


@dataclass(frozen=True, slots=True)
class PowerZone:
    """One Coggan power level; `max_w` None = open-ended."""

    number: int
    name: str
    min_w: float
    max_w: float | None


def power_zones(ftp_w: float) -> list[PowerZone]:
    """The seven Coggan power levels in watts for `ftp_w`."""
    _check_ftp(ftp_w)
    return [
        PowerZone(
            number=i,
            name=name,
            min_w=lo * ftp_w,
            max_w=None if hi is None else hi * ftp_w,
        )
        for i, (name, lo, hi) in enumerate(COGGAN_LEVELS, start=1)
    ]
