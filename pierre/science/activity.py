"""Analysis of one activity from its streams: splits, distributions, zones, EF, decoupling, VAM.

Sources
-------
* Efficiency factor (EF) and aerobic decoupling (Pa:HR / Pw:HR): Friel, J.
  *The Cyclist's Training Bible* (5th ed., 2018) and "Aerobic Endurance and
  Decoupling" (TrainingPeaks): EF = NP / average HR (rides) or speed / average HR
  (runs, here in m/min); decoupling = (EF first half - EF second half) / EF
  first half * 100 %; under 5 % indicates good aerobic endurance.
* VAM (velocita ascensionale media, Ferrari): metres climbed per hour of
  climbing, gain * 3600 / seconds spent climbing.
* Normalized Power: see `pierre.science.power`.

Samples are time-weighted (see `pierre.science.series`): a sample stands for
the time to the next sample, capped so that pauses do not count. Grade-adjusted
pace is deliberately not computed.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from pierre.models import ActivityDetail, ActivitySummary, Streams, Zone
from pierre.science import InsufficientData
from pierre.science.power import normalized_power
from pierre.science.series import DEFAULT_MAX_GAP_S, check_time, sample_durations
from pierre.science.zones import HeartRateZone

RUN_SPORTS = frozenset({"Run", "TrailRun", "VirtualRun", "Walk", "Hike"})
MIN_MOVING_SPEED_MPS = 0.3
VAM_SMOOTHING_SAMPLES = 5
MIN_HALF_S = 300.0

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Split:
    """One distance split; `partial` marks a last split shorter than the split length."""

    index: int
    distance_m: float
    time_s: float
    pace_s_per_km: float
    avg_hr_bpm: float | None
    elevation_change_m: float | None
    partial: bool


@dataclass(frozen=True, slots=True)
class Distribution:
    """Time-weighted summary of a stream's valid samples."""

    n: int
    min: float
    mean: float
    max: float
    p10: float
    p25: float
    p50: float
    p75: float
    p90: float


@dataclass(frozen=True, slots=True)
class ZoneTime:
    zone: int
    min: float
    max: float | None
    seconds: float
    share: float


@dataclass(frozen=True, slots=True)
class TimeInZones:
    """Seconds per zone; `unzoned_s` is time with a value below or above every zone."""

    zones: list[ZoneTime]
    unzoned_s: float


@dataclass(frozen=True, slots=True)
class Decoupling:
    basis: Literal["power", "speed"]
    first_half_ef: float
    second_half_ef: float
    decoupling_pct: float


@dataclass(frozen=True, slots=True)
class ActivityAnalysis:
    """Everything that could be computed; a None field comes with a line in `notes`."""

    duration_s: float
    distance_m: float | None
    splits: list[Split]
    pace_s_per_km: Distribution | None
    heart_rate_bpm: Distribution | None
    power_w: Distribution | None
    normalized_power_w: float | None
    time_in_hr_zones: TimeInZones | None
    efficiency_factor: float | None
    decoupling: Decoupling | None
    vam_m_per_h: float | None
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# -- validation -------------------------------------------------------------------------


def plausibility_flags(activity: ActivitySummary) -> list[str]:
    """Values no human produces: each flag names the field, its value and the limit."""
    flags: list[str] = []
    is_run = activity.sport_type in RUN_SPORTS
    max_distance_m = 500_000.0 if is_run else 1_500_000.0
    max_speed_mps = 10.5 if is_run else 30.0  # 100 m world record / ~108 km/h average
    if activity.distance_m is not None and activity.distance_m > max_distance_m:
        flags.append(
            f"distance {activity.distance_m / 1000:.0f} km exceeds {max_distance_m / 1000:.0f} km "
            f"for a {activity.sport_type}; the distance is probably wrong"
        )
    time_s = activity.moving_time_s or activity.elapsed_time_s
    if activity.distance_m and time_s and time_s > 0:
        speed = activity.distance_m / time_s
        if speed > max_speed_mps:
            flags.append(
                f"average speed {speed:.1f} m/s exceeds {max_speed_mps} m/s for a "
                f"{activity.sport_type}; check the distance, time or sport type"
            )
    if time_s is not None and time_s > 7 * 86400:
        flags.append(f"duration {time_s / 3600:.0f} h is longer than a week")
    hr = activity.average_hr_bpm
    if hr is not None and not 25 <= hr <= 230:
        flags.append(f"average heart rate {hr:.0f} bpm is outside 25-230 bpm")
    power = activity.average_power_w
    if power is not None and power > 2000:
        flags.append(f"average power {power:.0f} W exceeds 2000 W")
    return flags


def activity_duration_s(activity: ActivityDetail) -> float:
    """Moving time, else elapsed time, else the span of the time stream; must be > 0."""
    for value in (activity.moving_time_s, activity.elapsed_time_s):
        if value is not None and math.isfinite(value) and value > 0:
            return value
    streams = activity.streams
    if streams is not None and len(streams.time_s) > 1:
        span = streams.time_s[-1] - streams.time_s[0]
        if math.isfinite(span) and span > 0:
            return span
    raise InsufficientData(
        f"activity {activity.provider_id} has a duration of 0 s; nothing can be analysed"
    )


def _check_streams(streams: Streams) -> None:
    check_time(streams.time_s)
    n = len(streams.time_s)
    for name in ("distance_m", "latlng", "altitude_m", "heartrate_bpm", "cadence_rpm",
                 "power_w", "velocity_mps", "temperature_c"):
        series = getattr(streams, name)
        if series is not None and len(series) != n:
            raise InsufficientData(
                f"the {name} stream has {len(series)} samples but time has {n}; "
                "re-import the activity"
            )


def _require_streams(activity: ActivityDetail) -> Streams:
    if activity.streams is None or not activity.streams.time_s:
        raise InsufficientData(
            f"activity {activity.provider_id} has no streams; fetch it with its streams "
            "(sample data) to analyse it"
        )
    _check_streams(activity.streams)
    return activity.streams


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


# -- distributions and zones -------------------------------------------------------------


def distribution(values: Sequence[float | None], weights: Sequence[float] | None = None) -> (
    Distribution
):
    """Min/mean/max and weighted nearest-rank percentiles of the finite values."""
    if weights is None:
        weights = [1.0] * len(values)
    pairs = sorted(
        (float(v), w)
        for v, w in zip(values, weights, strict=True)
        if v is not None and math.isfinite(v) and w > 0
    )
    if not pairs:
        raise InsufficientData("no valid samples to summarise")
    total = math.fsum(w for _, w in pairs)
    cumulative: list[float] = []
    running = 0.0
    for _, w in pairs:
        running += w
        cumulative.append(running)

    def pct(p: float) -> float:
        idx = bisect.bisect_left(cumulative, p * total - 1e-9 * total)
        return pairs[min(idx, len(pairs) - 1)][0]

    if not (math.isfinite(total) and all(math.isfinite(v * w) for v, w in pairs)):
        raise InsufficientData("sample values are too large to summarise; check the stream")
    return Distribution(
        n=len(pairs),
        min=pairs[0][0],
        mean=math.fsum(v * w for v, w in pairs) / total,
        max=pairs[-1][0],
        p10=pct(0.10),
        p25=pct(0.25),
        p50=pct(0.50),
        p75=pct(0.75),
        p90=pct(0.90),
    )


ZoneBounds = tuple[float, float | None] | Zone | HeartRateZone


def _bounds(zone: ZoneBounds) -> tuple[float, float | None]:
    if isinstance(zone, Zone):
        return zone.min, zone.max
    if isinstance(zone, HeartRateZone):
        return zone.min_bpm, zone.max_bpm
    return zone


def time_in_zones(
    time_s: Sequence[float],
    values: Sequence[float | None],
    zones: Sequence[ZoneBounds],
    *,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
) -> TimeInZones:
    """Seconds spent in each zone [min, max); the top zone also includes its max."""
    if not zones:
        raise InsufficientData("no zones given; set heart-rate zones first")
    if len(time_s) != len(values):
        raise InsufficientData("time and value streams differ in length")
    bounds = [_bounds(z) for z in zones]
    seconds = [0.0] * len(bounds)
    unzoned = 0.0
    counted = False
    for dt, v in zip(sample_durations(time_s, max_gap_s), values, strict=True):
        if v is None or not math.isfinite(v):
            continue
        counted = True
        for i, (lo, hi) in enumerate(bounds):
            last = i == len(bounds) - 1
            if v >= lo and (hi is None or v < hi or (last and v <= hi)):
                seconds[i] += dt
                break
        else:
            unzoned += dt
    if not counted:
        raise InsufficientData("the stream has no valid samples to place in zones")
    total = math.fsum(seconds) + unzoned
    return TimeInZones(
        zones=[
            ZoneTime(zone=i + 1, min=lo, max=hi, seconds=s, share=s / total if total else 0.0)
            for i, ((lo, hi), s) in enumerate(zip(bounds, seconds, strict=True))
        ],
        unzoned_s=unzoned,
    )


# -- speed, splits ---------------------------------------------------------------------------


def _monotone_distance(streams: Streams) -> list[tuple[float, float]]:
    """(time, distance) samples with the distance present and never decreasing."""
    if streams.distance_m is None:
        return []
    out: list[tuple[float, float]] = []
    for t, d in zip(streams.time_s, streams.distance_m, strict=True):
        if d is None or not math.isfinite(d) or (out and d < out[-1][1]):
            continue
        out.append((t, float(d)))
    return out


def speed_series(streams: Streams, max_gap_s: float = DEFAULT_MAX_GAP_S) -> list[float | None]:
    """Speed (m/s) per sample: the velocity stream, else derived from distance/time."""
    if streams.velocity_mps is not None and any(v is not None for v in streams.velocity_mps):
        return [v if v is not None and math.isfinite(v) and v >= 0 else None
                for v in streams.velocity_mps]
    speeds: list[float | None] = [None] * len(streams.time_s)
    if streams.distance_m is None:
        return speeds
    dist = streams.distance_m
    for i in range(len(dist) - 1):
        d0, d1 = dist[i], dist[i + 1]
        dt = streams.time_s[i + 1] - streams.time_s[i]
        if d0 is None or d1 is None or not 0 < dt <= max_gap_s or d1 < d0:
            continue
        speeds[i] = (d1 - d0) / dt
    return speeds


def _interp(points: Sequence[tuple[float, float]], x: float) -> float:
    """Linear interpolation of y at x over points sorted by x."""
    xs = [p[0] for p in points]
    i = bisect.bisect_left(xs, x)
    if i <= 0:
        return points[0][1]
    if i >= len(points):
        return points[-1][1]
    (x0, y0), (x1, y1) = points[i - 1], points[i]
    return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)


def _mean_between(
    time_s: Sequence[float], values: Sequence[float | None] | None, t0: float, t1: float,
    durations: Sequence[float],
) -> float | None:
    if values is None:
        return None
    num = den = 0.0
    lo = bisect.bisect_left(time_s, t0)
    hi = bisect.bisect_left(time_s, t1)
    for i in range(lo, hi):
        v = values[i]
        if v is not None and math.isfinite(v):
            num += v * durations[i]
            den += durations[i]
    return num / den if den > 0 else None


def splits(activity: ActivityDetail, split_m: float = 1000.0) -> list[Split]:
    """Splits every `split_m` metres (1609.344 for miles) from the distance stream.

    Boundary times are interpolated linearly between samples; split time is
    elapsed time (pauses included). A last partial split of at least 1 m is kept.
    """
    if not (math.isfinite(split_m) and split_m > 0):
        raise InsufficientData("the split length must be greater than 0 m")
    streams = _require_streams(activity)
    points = _monotone_distance(streams)
    if len(points) < 2 or points[-1][1] - points[0][1] <= 0:
        raise InsufficientData(
            "splits need a distance stream; this activity has none (indoor or no GPS/footpod)"
        )
    by_distance = [(d, t) for t, d in points]
    # keep the first time for each distance so plateaus (stops) do not confuse interpolation
    dedup: list[tuple[float, float]] = []
    for d, t in by_distance:
        if dedup and d == dedup[-1][0]:
            continue
        dedup.append((d, t))
    altitude = [
        (t, float(a)) for t, a in zip(streams.time_s, streams.altitude_m or [], strict=False)
        if a is not None and math.isfinite(a)
    ]
    durations = sample_durations(streams.time_s)
    start_d, end_d = dedup[0][0], dedup[-1][0]
    out: list[Split] = []
    boundary_d, boundary_t = start_d, dedup[0][1]
    index = 1
    while boundary_d < end_d - 1.0:
        next_d = min(boundary_d + split_m, end_d)
        next_t = _interp(dedup, next_d) if next_d < end_d else dedup[-1][1]
        dist = next_d - boundary_d
        elapsed = next_t - boundary_t
        if elapsed > 0:
            elev = (_interp(altitude, next_t) - _interp(altitude, boundary_t)
                    if len(altitude) >= 2 else None)
            out.append(Split(
                index=index,
                distance_m=dist,
                time_s=elapsed,
                pace_s_per_km=elapsed / dist * 1000.0,
                avg_hr_bpm=_finite(_mean_between(streams.time_s, streams.heartrate_bpm,
                                                 boundary_t, next_t, durations)),
                elevation_change_m=elev,
                partial=dist < split_m - 1e-6,
            ))
            index += 1
        boundary_d, boundary_t = next_d, next_t
    return out


# -- efficiency -----------------------------------------------------------------------------


def _weighted_mean(values: Sequence[float | None], weights: Sequence[float]) -> float | None:
    num = den = 0.0
    for v, w in zip(values, weights, strict=True):
        if v is not None and math.isfinite(v) and w > 0:
            num += v * w
            den += w
    return num / den if den > 0 else None


def _ef_parts(
    streams: Streams, lo: int, hi: int, durations: Sequence[float], use_power: bool
) -> tuple[float, float, float]:
    """(output, mean HR, seconds with both) over samples lo..hi-1."""
    hr = streams.heartrate_bpm or []
    output_series: Sequence[float | None]
    output_series = (streams.power_w or []) if use_power else speed_series(streams)
    both = [
        i for i in range(lo, hi)
        if hr[i] is not None and output_series[i] is not None
        and (use_power or (output_series[i] or 0.0) >= MIN_MOVING_SPEED_MPS)
    ]
    seconds = math.fsum(durations[i] for i in both)
    mean_hr = _weighted_mean([hr[i] for i in both], [durations[i] for i in both])
    if mean_hr is None or mean_hr <= 0 or seconds <= 0:
        raise InsufficientData("no samples with both heart rate and speed/power")
    if use_power:
        output = normalized_power([streams.time_s[i] for i in both],
                                  [output_series[i] for i in both])
    else:
        speed = _weighted_mean([output_series[i] for i in both], [durations[i] for i in both])
        output = (speed or 0.0) * 60.0  # m/min
    return output, mean_hr, seconds


def _basis(activity: ActivityDetail, streams: Streams) -> bool:
    """True to use power (rides with a power stream), False to use speed."""
    if streams.heartrate_bpm is None or not any(h is not None for h in streams.heartrate_bpm):
        raise InsufficientData(
            "this activity has no heart-rate data; efficiency needs a heart-rate monitor"
        )
    has_power = streams.power_w is not None and any(p is not None for p in streams.power_w)
    return has_power and activity.sport_type not in RUN_SPORTS


def efficiency_factor(activity: ActivityDetail) -> float:
    """EF = NP / mean HR (power) or mean moving speed in m/min / mean HR (Friel)."""
    streams = _require_streams(activity)
    use_power = _basis(activity, streams)
    durations = sample_durations(streams.time_s)
    output, mean_hr, _ = _ef_parts(streams, 0, len(streams.time_s), durations, use_power)
    if output <= 0:
        raise InsufficientData("no movement recorded; efficiency factor needs speed or power")
    return output / mean_hr


def aerobic_decoupling(activity: ActivityDetail) -> Decoupling:
    """Pa:HR / Pw:HR decoupling between the first and second half by time (Friel).

    Each half needs at least 5 minutes of samples with heart rate and speed or
    power; Friel recommends steady efforts of an hour or more.
    """
    streams = _require_streams(activity)
    use_power = _basis(activity, streams)
    durations = sample_durations(streams.time_s)
    mid_t = 0.5 * (streams.time_s[0] + streams.time_s[-1])
    mid = bisect.bisect_left(streams.time_s, mid_t)
    first = _ef_parts(streams, 0, mid, durations, use_power)
    second = _ef_parts(streams, mid, len(streams.time_s), durations, use_power)
    if min(first[2], second[2]) < MIN_HALF_S:
        raise InsufficientData(
            "aerobic decoupling needs at least 5 minutes of heart rate with speed or power "
            "in each half of the activity"
        )
    ef1, ef2 = first[0] / first[1], second[0] / second[1]
    if ef1 <= 0:
        raise InsufficientData("no movement in the first half; decoupling is undefined")
    return Decoupling(
        basis="power" if use_power else "speed",
        first_half_ef=ef1,
        second_half_ef=ef2,
        decoupling_pct=(ef1 - ef2) / ef1 * 100.0,
    )


def vam(activity: ActivityDetail, *, min_gain_m: float = 10.0) -> float:
    """VAM in m/h: smoothed elevation gain * 3600 / seconds spent climbing.

    Altitude is smoothed by a centred moving average over 5 samples to damp
    barometer/GPS noise; a sample interval counts as climbing when the smoothed
    altitude rises over it.
    """
    streams = _require_streams(activity)
    if streams.altitude_m is None:
        raise InsufficientData("VAM needs an altitude stream; this activity has none")
    pts = [(t, float(a)) for t, a in zip(streams.time_s, streams.altitude_m, strict=True)
           if a is not None and math.isfinite(a)]
    if len(pts) < 2:
        raise InsufficientData("VAM needs at least two altitude samples")
    half = VAM_SMOOTHING_SAMPLES // 2
    smooth = [
        math.fsum(a for _, a in pts[max(0, i - half): i + half + 1])
        / len(pts[max(0, i - half): i + half + 1])
        for i in range(len(pts))
    ]
    gain = climb_s = 0.0
    for i in range(len(pts) - 1):
        rise = smooth[i + 1] - smooth[i]
        dt = pts[i + 1][0] - pts[i][0]
        if rise > 0 and 0 < dt <= DEFAULT_MAX_GAP_S:
            gain += rise
            climb_s += dt
    if gain < min_gain_m or climb_s <= 0:
        raise InsufficientData(
            f"only {gain:.0f} m of climbing; VAM needs at least {min_gain_m:.0f} m"
        )
    return gain * 3600.0 / climb_s


# -- everything at once --------------------------------------------------------------------


def analyze_activity(
    activity: ActivityDetail,
    *,
    hr_zones: Sequence[ZoneBounds] | None = None,
    split_m: float = 1000.0,
) -> ActivityAnalysis:
    """Run every analysis the data supports; what is missing is explained in `notes`.

    Raises `InsufficientData` only when nothing can be said (0 s duration).
    """
    duration = activity_duration_s(activity)
    flags = plausibility_flags(activity)
    notes: list[str] = []
    distance = _finite(activity.distance_m)
    streams = activity.streams
    if streams is None or not streams.time_s:
        notes.append("no streams: splits, distributions, zones, EF, decoupling and VAM need "
                     "the activity's sample data")
        return ActivityAnalysis(
            duration_s=duration, distance_m=distance, splits=[], pace_s_per_km=None,
            heart_rate_bpm=None, power_w=None, normalized_power_w=None,
            time_in_hr_zones=None, efficiency_factor=None, decoupling=None,
            vam_m_per_h=None, flags=flags, notes=notes,
        )
    _check_streams(streams)
    durations = sample_durations(streams.time_s)

    def attempt(label: str, fn: Callable[[], _T]) -> _T | None:
        try:
            return fn()
        except InsufficientData as exc:
            notes.append(f"{label}: {exc.message}")
            return None

    split_list: list[Split] = attempt("splits", lambda: splits(activity, split_m)) or []
    speeds = speed_series(streams)
    paces = [1000.0 / v if v is not None and v >= MIN_MOVING_SPEED_MPS else None for v in speeds]
    pace_dist: Distribution | None = attempt("pace", lambda: distribution(paces, durations))
    hr_dist: Distribution | None = (
        attempt("heart rate", lambda: distribution(streams.heartrate_bpm or [], durations))
        if streams.heartrate_bpm is not None else None
    )
    if hr_dist is None and streams.heartrate_bpm is None:
        notes.append("heart rate: no heart-rate stream")
    power_dist: Distribution | None = None
    np_w: float | None = None
    if streams.power_w is not None:
        power_dist = attempt("power", lambda: distribution(streams.power_w or [], durations))
        np_w = attempt("normalized power",
                       lambda: normalized_power(streams.time_s, streams.power_w or []))
    zones_result: TimeInZones | None = None
    if hr_zones is not None and streams.heartrate_bpm is not None:
        zones_result = attempt("heart-rate zones", lambda: time_in_zones(
            streams.time_s, streams.heartrate_bpm or [], hr_zones))
    elif hr_zones is None:
        notes.append("heart-rate zones: none given")
    ef: float | None = attempt("efficiency factor", lambda: efficiency_factor(activity))
    dec: Decoupling | None = attempt("decoupling", lambda: aerobic_decoupling(activity))
    vam_value: float | None = attempt("VAM", lambda: vam(activity))
    if distance is None and split_list:
        distance = math.fsum(s.distance_m for s in split_list)
    return ActivityAnalysis(
        duration_s=duration, distance_m=distance, splits=split_list, pace_s_per_km=pace_dist,
        heart_rate_bpm=hr_dist, power_w=power_dist, normalized_power_w=_finite(np_w),
        time_in_hr_zones=zones_result, efficiency_factor=_finite(ef), decoupling=dec,
        vam_m_per_h=_finite(vam_value), flags=flags, notes=notes,
    )
