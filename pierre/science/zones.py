"""Training zones: heart rate (Karvonen), running pace (Friel) and max-HR estimates.

Sources
-------
* Karvonen, M. J., Kentala, E. & Mustala, O. (1957) "The effects of training on
  heart rate", *Ann Med Exp Biol Fenn* 35(3):307-315: target HR =
  HRrest + fraction * (HRmax - HRrest). Zones of 50-60-70-80-90-100 % of reserve.
* Friel, J. "Quick Guide to Setting Zones" (TrainingPeaks): run pace zones as %
  of functional threshold pace (time per km; higher % = slower):
  1 > 129 %, 2 114-129 %, 3 106-113 %, 4 99-105 %, 5a 97-100 %, 5b 90-96 %,
  5c < 90 %. The published integer ranges overlap at 99-100 %; here they are
  made contiguous at 129/114/106/100/97/90 %.
* Tanaka, H., Monahan, K. D. & Seals, D. R. (2001) "Age-predicted maximal heart
  rate revisited", *J Am Coll Cardiol* 37(1):153-156: HRmax = 208 - 0.7 * age.
* Fox, S. M., Naughton, J. P. & Haskell, W. L. (1971) *Ann Clin Res* 3:404-432:
  HRmax = 220 - age (kept for comparison; Tanaka is the better estimate).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pierre.science import InsufficientData

KARVONEN_FRACTIONS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)

# (name, fastest, slowest) as multiples of threshold pace (s/km); None = open.
FRIEL_PACE_ZONES: tuple[tuple[str, float | None, float | None], ...] = (
    ("1 Recovery", 1.29, None),
    ("2 Aerobic", 1.14, 1.29),
    ("3 Tempo", 1.06, 1.14),
    ("4 Sub-threshold", 1.00, 1.06),
    ("5a Super-threshold", 0.97, 1.00),
    ("5b Aerobic capacity", 0.90, 0.97),
    ("5c Anaerobic capacity", None, 0.90),
)


@dataclass(frozen=True, slots=True)
class HeartRateZone:
    number: int
    min_bpm: float
    max_bpm: float


@dataclass(frozen=True, slots=True)
class PaceZone:
    """`fastest_s_per_km` None = no lower limit; `slowest_s_per_km` None = open-ended."""

    name: str
    fastest_s_per_km: float | None
    slowest_s_per_km: float | None


def _check_age(age_years: float) -> None:
    if not (math.isfinite(age_years) and 5 <= age_years <= 110):
        raise InsufficientData(f"an age between 5 and 110 years is needed; got {age_years!r}")


def max_hr_tanaka(age_years: float) -> float:
    """Age-predicted maximum heart rate, 208 - 0.7 * age (Tanaka et al. 2001)."""
    _check_age(age_years)
    return 208.0 - 0.7 * age_years


def max_hr_fox(age_years: float) -> float:
    """Age-predicted maximum heart rate, 220 - age (Fox et al. 1971)."""
    _check_age(age_years)
    return 220.0 - age_years


def karvonen_zones(resting_hr_bpm: float, max_hr_bpm: float) -> list[HeartRateZone]:
    """Five heart-rate zones at 50/60/70/80/90/100 % of heart-rate reserve (Karvonen 1957)."""
    if not (math.isfinite(resting_hr_bpm) and math.isfinite(max_hr_bpm)):
        raise InsufficientData("resting and maximum heart rate are needed for Karvonen zones")
    if not 20 <= resting_hr_bpm < max_hr_bpm <= 250:
        raise InsufficientData(
            f"resting HR {resting_hr_bpm:.0f} and max HR {max_hr_bpm:.0f} bpm are not plausible"
        )
    reserve = max_hr_bpm - resting_hr_bpm
    edges = [resting_hr_bpm + f * reserve for f in KARVONEN_FRACTIONS]
    return [
        HeartRateZone(number=i + 1, min_bpm=edges[i], max_bpm=edges[i + 1])
        for i in range(len(edges) - 1)
    ]


def pace_zones(threshold_pace_s_per_km: float) -> list[PaceZone]:
    """Friel's run pace zones from functional threshold pace (s/km)."""
    if not (math.isfinite(threshold_pace_s_per_km) and 120 <= threshold_pace_s_per_km <= 900):
        raise InsufficientData(
            "a threshold pace between 2:00 and 15:00 per km is needed for pace zones"
        )
    t = threshold_pace_s_per_km
    return [
        PaceZone(
            name=name,
            fastest_s_per_km=None if fast is None else fast * t,
            slowest_s_per_km=None if slow is None else slow * t,
        )
        for name, fast, slow in FRIEL_PACE_ZONES
    ]
