"""Athlete-level analysis: fitness score, race predictions, sleep, recovery, patterns, goals.

Everything here is deterministic and rule-based. Where a threshold comes from
the literature it is cited next to the constant; where it is this project's
own heuristic it says so.

Sources
-------
* Sleep duration: Hirshkowitz, M. et al. (2015) "National Sleep Foundation's
  sleep time duration recommendations", *Sleep Health* 1(1):40-43 (adults
  18-64: 7-9 h; 65+: 7-8 h; 14-17: 8-10 h).
* Sleep efficiency >= 85 % as good quality: Ohayon, M. et al. (2017) "National
  Sleep Foundation's sleep quality recommendations", *Sleep Health* 3(1):6-19.
* Typical adult deep (N3) ~15-20 % and REM ~20-25 % of sleep: Ohayon, M. et al.
  (2004) "Meta-analysis of quantitative sleep parameters from childhood to old
  age", *Sleep* 27(7):1255-1273.
* HRV as ln rMSSD against a rolling personal baseline, with a fall below
  mean - 0.5 SD as meaningful: Plews, D. J. et al. (2012) *Eur J Appl Physiol*
  112:3729-3741; Buchheit, M. (2014) *Front Physiol* 5:73.
* TSB ranges (Allen & Coggan 2010, ch. 8): -10 to -30 productive training,
  below -30 high fatigue, above +25 fitness decaying (transition).
* CTL ramp rate: 5-8 TSS/day per week is the sustainable upper range
  (Allen & Coggan 2010); ACWR > 1.5 high risk (Gabbett 2016).
* Weekly volume increase > 10 %: the conventional "10 % rule" (a coaching
  guideline; Buist et al. 2008, *Br J Sports Med* 42:221-226 found it no
  better than a faster build, so it is reported as a signal, not a law).
* Long run <= 25 % of weekly running distance: Daniels' Running Formula
  (3rd ed., ch. 3); flagged here only above 30 % to allow for low-frequency weeks.
* Race predictions: `pierre.science.vdot` (Daniels & Gilbert 1979; Riegel 1981).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from pierre.models import ActivitySummary, DailyHeart, SleepSession
from pierre.science import InsufficientData
from pierre.science.load import acute_chronic_ratio, performance_series, ramp_rate
from pierre.science.vdot import STANDARD_DISTANCES_M, race_time_s, riegel, vdot

RUN_TYPES = frozenset({"Run", "TrailRun", "VirtualRun"})
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# Heuristic fitness-score anchors (this project's choice, see `fitness_score`).
CTL_FULL_SCORE = 100.0
VDOT_FLOOR, VDOT_CEILING = 30.0, 70.0
ACTIVE_DAYS_FULL_SCORE = 5.0

SLEEP_EFFICIENCY_GOOD_PCT = 85.0
DEEP_SHARE_REFERENCE = 0.15
REM_SHARE_REFERENCE = 0.20

RAMP_ELEVATED = 5.0
RAMP_HIGH = 8.0
ACWR_HIGH = 1.5
WEEKLY_JUMP_LIMIT = 0.10
LONG_RUN_SHARE_LIMIT = 0.30
VDOT_VALID_MIN_S = 3.5 * 60
VDOT_VALID_MAX_S = 4 * 3600


def _clamp01(x: float) -> float:
    return min(1.0, max(0.0, x))


def _weighted(components: Mapping[str, float], weights: Mapping[str, float]) -> float:
    total_w = math.fsum(weights[k] for k in components)
    return math.fsum(components[k] * weights[k] for k in components) / total_w


def activity_day(activity: ActivitySummary) -> date:
    """The local calendar day of an activity (UTC day when local time is unknown)."""
    return (activity.start_local or activity.start_utc).date()


# -- fitness score ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FitnessScore:
    """0-100 score and its 0-100 components (only those with data)."""

    score: float
    components: dict[str, float]


_FITNESS_WEIGHTS = {"ctl": 0.5, "vdot": 0.3, "consistency": 0.2}


def fitness_score(
    *, ctl: float | None = None, vdot_value: float | None = None,
    active_days_per_week: float | None = None,
) -> FitnessScore:
    """Heuristic 0-100 fitness score (this project's method, not a published index).

    Components, each 0-100: CTL / 100 (CTL 100 = well-trained amateur, Allen &
    Coggan 2010), VDOT mapped linearly from 30 (novice) to 70 (national class),
    and active days per week / 5. Weighted 50/30/20; missing components are
    left out and the weights renormalised.
    """
    components: dict[str, float] = {}
    if ctl is not None and math.isfinite(ctl):
        components["ctl"] = 100.0 * _clamp01(ctl / CTL_FULL_SCORE)
    if vdot_value is not None and math.isfinite(vdot_value):
        components["vdot"] = 100.0 * _clamp01(
            (vdot_value - VDOT_FLOOR) / (VDOT_CEILING - VDOT_FLOOR)
        )
    if active_days_per_week is not None and math.isfinite(active_days_per_week):
        components["consistency"] = 100.0 * _clamp01(active_days_per_week / ACTIVE_DAYS_FULL_SCORE)
    if not components:
        raise InsufficientData(
            "a fitness score needs training load (CTL), a race effort (VDOT) or activity history"
        )
    return FitnessScore(score=_weighted(components, _FITNESS_WEIGHTS), components=components)


# -- race predictions ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Effort:
    """A best effort: a race or a hard, continuous run over `distance_m`."""

    distance_m: float
    time_s: float
    day: date | None = None


@dataclass(frozen=True, slots=True)
class Prediction:
    name: str
    distance_m: float
    vdot_time_s: float
    riegel_time_s: float


@dataclass(frozen=True, slots=True)
class PerformancePrediction:
    """Predictions from the effort with the highest VDOT (Daniels primary, Riegel alternative)."""

    vdot: float
    source: Effort
    predictions: list[Prediction]
    notes: list[str] = field(default_factory=list)


def best_run_efforts(
    activities: Sequence[ActivitySummary], as_of: date, *, days: int = 90
) -> list[Effort]:
    """Whole runs in the `days` before `as_of` (inclusive) as candidate efforts."""
    since = as_of - timedelta(days=days)
    out: list[Effort] = []
    for a in activities:
        time_s = a.moving_time_s or a.elapsed_time_s
        if a.sport_type not in RUN_TYPES or not a.distance_m or not time_s or a.manual:
            continue
        day = activity_day(a)
        if since < day <= as_of:
            out.append(Effort(distance_m=a.distance_m, time_s=time_s, day=day))
    return out


def predict_performances(
    efforts: Sequence[Effort], distances: Mapping[str, float] = STANDARD_DISTANCES_M
) -> PerformancePrediction:
    """Race-time predictions from the best effort lasting 3.5 min to 4 h (Daniels' range)."""
    notes: list[str] = []
    best: tuple[float, Effort] | None = None
    for effort in efforts:
        if not VDOT_VALID_MIN_S <= effort.time_s <= VDOT_VALID_MAX_S:
            continue
        try:
            value = vdot(effort.distance_m, effort.time_s)
        except InsufficientData as exc:
            notes.append(f"skipped effort of {effort.distance_m:.0f} m: {exc.message}")
            continue
        if best is None or value > best[0]:
            best = (value, effort)
    if best is None:
        raise InsufficientData(
            "no run between 3.5 minutes and 4 hours to predict from; record a hard run or race"
        )
    value, source = best
    predictions = [
        Prediction(
            name=name,
            distance_m=d,
            vdot_time_s=race_time_s(value, d),
            riegel_time_s=riegel(source.distance_m, source.time_s, d),
        )
        for name, d in distances.items()
    ]
    if source.distance_m < 5000:
        notes.append("predictions far beyond the source distance are less reliable")
    return PerformancePrediction(vdot=value, source=source, predictions=predictions, notes=notes)


# -- sleep ----------------------------------------------------------------------------------


def recommended_sleep_hours(age_years: float | None = None) -> tuple[float, float]:
    """NSF recommended nightly sleep range (Hirshkowitz et al. 2015); adults by default."""
    if age_years is None or 18 <= age_years < 65:
        return (7.0, 9.0)
    if age_years >= 65:
        return (7.0, 8.0)
    if age_years >= 14:
        return (8.0, 10.0)
    if age_years >= 6:
        return (9.0, 11.0)
    raise InsufficientData("sleep recommendations here cover ages 6 and over")


DurationRating = Literal["short", "recommended", "long"]


@dataclass(frozen=True, slots=True)
class SleepQuality:
    """One night's sleep against NSF recommendations; `score` 0-100 is a heuristic."""

    date: date
    asleep_h: float
    in_bed_h: float
    efficiency_pct: float | None
    deep_pct: float | None
    rem_pct: float | None
    duration_rating: DurationRating
    efficiency_good: bool | None
    score: float
    notes: list[str] = field(default_factory=list)


_SLEEP_WEIGHTS = {"duration": 0.5, "efficiency": 0.3, "stages": 0.2}


def sleep_quality(session: SleepSession, *, age_years: float | None = None) -> SleepQuality:
    """Rate a night: duration vs NSF range, efficiency vs 85 %, deep/REM shares.

    Score (heuristic): duration 100 inside the range, -25 per hour outside;
    efficiency 100 at >= 85 %, falling linearly to 0 at 65 %; stages = mean of
    deep/15 % and REM/20 % capped at 1. Weighted 50/30/20.
    """
    in_bed = session.duration_s
    if not (math.isfinite(in_bed) and in_bed > 0):
        raise InsufficientData(f"the sleep session of {session.date} has a duration of 0 s")
    staged = [x for x in (session.deep_s, session.light_s, session.rem_s) if x is not None]
    if session.asleep_s is not None:
        asleep = session.asleep_s
    elif staged:
        asleep = math.fsum(staged)
    elif session.awake_s is not None:
        asleep = in_bed - session.awake_s
    else:
        asleep = in_bed
    asleep = min(max(asleep, 0.0), in_bed)
    notes: list[str] = []
    efficiency = session.efficiency_pct
    if efficiency is None and (session.asleep_s is not None or staged
                               or session.awake_s is not None):
        efficiency = 100.0 * asleep / in_bed
    if efficiency is not None and not math.isfinite(efficiency):
        efficiency = None
    lo, hi = recommended_sleep_hours(age_years)
    asleep_h = asleep / 3600.0
    rating: DurationRating = (
        "short" if asleep_h < lo else "long" if asleep_h > hi else "recommended"
    )
    components = {"duration": 100.0 * _clamp01(1.0 - 0.25 * max(lo - asleep_h, asleep_h - hi, 0))}
    if efficiency is not None:
        components["efficiency"] = 100.0 * _clamp01((efficiency - 65.0) / 20.0)
    else:
        notes.append("no awake/asleep breakdown: sleep efficiency unknown")
    deep_pct = rem_pct = None
    if session.deep_s is not None and session.rem_s is not None and asleep > 0:
        deep_pct = 100.0 * session.deep_s / asleep
        rem_pct = 100.0 * session.rem_s / asleep
        components["stages"] = 50.0 * (
            _clamp01(deep_pct / 100.0 / DEEP_SHARE_REFERENCE)
            + _clamp01(rem_pct / 100.0 / REM_SHARE_REFERENCE)
        )
    else:
        notes.append("no sleep stages: deep and REM share unknown")
    return SleepQuality(
        date=session.date,
        asleep_h=asleep_h,
        in_bed_h=in_bed / 3600.0,
        efficiency_pct=efficiency,
        deep_pct=deep_pct,
        rem_pct=rem_pct,
        duration_rating=rating,
        efficiency_good=None if efficiency is None else efficiency >= SLEEP_EFFICIENCY_GOOD_PCT,
        score=_weighted(components, _SLEEP_WEIGHTS),
        notes=notes,
    )


# -- recovery -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecoveryScore:
    """0-100 readiness (heuristic) with the components used and why each scored so."""

    score: float
    components: dict[str, float]
    reasons: list[str]


_RECOVERY_WEIGHTS = {"sleep": 0.35, "hrv": 0.25, "resting_hr": 0.2, "tsb": 0.2}
MIN_BASELINE_DAYS = 7


def tsb_component(tsb: float) -> float:
    """TSB to 0-100: +5 or fresher = 100, -30 (Allen & Coggan's high-fatigue line) = 0."""
    return 100.0 * _clamp01((tsb + 30.0) / 35.0)


def recovery_score(
    *,
    sleep: SleepSession | None = None,
    today: DailyHeart | None = None,
    baseline: Sequence[DailyHeart] = (),
    tsb: float | None = None,
    age_years: float | None = None,
) -> RecoveryScore:
    """Readiness from last night's sleep, resting HR and HRV vs baseline, and TSB.

    * sleep: `sleep_quality(...).score`;
    * resting HR: 100 at or below the baseline mean, -10 per bpm above;
    * HRV: z of ln rMSSD vs baseline ln rMSSD; 100 at z >= -0.5 (Plews et al.
      2012's smallest worthwhile change), 0 at z <= -2.5;
    * TSB: `tsb_component`.
    Baselines need at least 7 days. Weighted 35/25/20/20 over what is present.
    """
    components: dict[str, float] = {}
    reasons: list[str] = []
    if sleep is not None:
        quality = sleep_quality(sleep, age_years=age_years)
        components["sleep"] = quality.score
        reasons.append(
            f"slept {quality.asleep_h:.1f} h ({quality.duration_rating}); sleep score "
            f"{quality.score:.0f}"
        )
    rhr_base = [d.resting_hr_bpm for d in baseline
                if d.resting_hr_bpm is not None and math.isfinite(d.resting_hr_bpm)]
    if today is not None and today.resting_hr_bpm is not None:
        if len(rhr_base) >= MIN_BASELINE_DAYS:
            delta = today.resting_hr_bpm - statistics.fmean(rhr_base)
            components["resting_hr"] = 100.0 * _clamp01(1.0 - 0.1 * max(delta, 0.0))
            reasons.append(f"resting HR {delta:+.1f} bpm vs {len(rhr_base)}-day baseline")
        else:
            reasons.append(f"resting HR: baseline needs {MIN_BASELINE_DAYS} days, "
                           f"have {len(rhr_base)}")
    hrv_base = [math.log(d.hrv_rmssd_ms) for d in baseline
                if d.hrv_rmssd_ms is not None and d.hrv_rmssd_ms > 0]
    if today is not None and today.hrv_rmssd_ms is not None and today.hrv_rmssd_ms > 0:
        sd = statistics.stdev(hrv_base) if len(hrv_base) >= 2 else 0.0
        if len(hrv_base) >= MIN_BASELINE_DAYS and sd > 0:
            z = (math.log(today.hrv_rmssd_ms) - statistics.fmean(hrv_base)) / sd
            components["hrv"] = 100.0 * _clamp01((z + 2.5) / 2.0)
            reasons.append(f"HRV (ln rMSSD) {z:+.2f} SD vs {len(hrv_base)}-day baseline")
        else:
            reasons.append(f"HRV: baseline needs {MIN_BASELINE_DAYS} varying days, "
                           f"have {len(hrv_base)}")
    if tsb is not None and math.isfinite(tsb):
        components["tsb"] = tsb_component(tsb)
        reasons.append(f"training stress balance {tsb:+.1f}")
    if not components:
        raise InsufficientData(
            "a recovery score needs sleep, resting HR/HRV with a 7-day baseline, or training load"
        )
    return RecoveryScore(
        score=_weighted(components, _RECOVERY_WEIGHTS), components=components, reasons=reasons
    )


# -- rest-day suggestion ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RestSuggestion:
    advice: Literal["rest", "easy", "train"]
    reasons: list[str]


def suggest_rest_day(
    *,
    recovery: float | None = None,
    tsb: float | None = None,
    acwr: float | None = None,
    consecutive_training_days: int = 0,
) -> RestSuggestion:
    """Rule-based: rest if any red line is crossed, easy if any amber one, else train.

    Red: recovery < 33, TSB < -30, ACWR > 1.5, 6+ training days in a row.
    Amber: recovery < 60, TSB < -20, ACWR > 1.3, 4+ days in a row. (Thresholds:
    Allen & Coggan 2010 for TSB, Gabbett 2016 for ACWR; the rest are heuristics.)
    """
    red: list[str] = []
    amber: list[str] = []
    if recovery is not None:
        if recovery < 33:
            red.append(f"recovery score {recovery:.0f} < 33")
        elif recovery < 60:
            amber.append(f"recovery score {recovery:.0f} < 60")
    if tsb is not None:
        if tsb < -30:
            red.append(f"TSB {tsb:.1f} < -30 (high fatigue)")
        elif tsb < -20:
            amber.append(f"TSB {tsb:.1f} < -20")
    if acwr is not None:
        if acwr > ACWR_HIGH:
            red.append(f"acute:chronic ratio {acwr:.2f} > 1.5 (Gabbett 2016 danger zone)")
        elif acwr > 1.3:
            amber.append(f"acute:chronic ratio {acwr:.2f} > 1.3")
    if consecutive_training_days >= 6:
        red.append(f"{consecutive_training_days} training days in a row")
    elif consecutive_training_days >= 4:
        amber.append(f"{consecutive_training_days} training days in a row")
    if red:
        return RestSuggestion(advice="rest", reasons=red + amber)
    if amber:
        return RestSuggestion(advice="easy", reasons=amber)
    return RestSuggestion(advice="train", reasons=["no fatigue signal crossed its threshold"])


# -- patterns -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Signal:
    """A rule that fired: `metric` crossed `threshold` with `value`."""

    code: str
    message: str
    metric: str
    value: float
    threshold: float


@dataclass(frozen=True, slots=True)
class Patterns:
    """Training patterns over `weeks` 7-day blocks ending on `as_of` (oldest week first)."""

    as_of: date
    weeks: int
    active_days_per_week: float
    load_by_weekday: dict[str, float]
    weekly_distance_m: list[float]
    long_run_share: float | None
    ramp_rate: float | None
    acwr: float | None
    signals: list[Signal]


def _daily_load(activities: Sequence[ActivitySummary]) -> dict[date, float]:
    loads: dict[date, float] = {}
    for a in activities:
        minutes = (a.moving_time_s or a.elapsed_time_s or 0.0) / 60.0
        if math.isfinite(minutes) and minutes > 0:
            loads[activity_day(a)] = loads.get(activity_day(a), 0.0) + minutes
    return loads


def detect_patterns(
    activities: Sequence[ActivitySummary],
    as_of: date,
    *,
    weeks: int = 8,
    loads: Mapping[date, float] | None = None,
) -> Patterns:
    """Consistency, weekday structure, long-run share and injury-risk signals.

    `loads` is daily training load (TSS/TRIMP); without it, moving minutes are
    the load. Ramp rate and ACWR use the whole load history up to `as_of`.
    """
    if weeks < 1:
        raise InsufficientData("pattern detection needs at least one week")
    start = as_of - timedelta(days=7 * weeks - 1)
    window = [a for a in activities if start <= activity_day(a) <= as_of]
    if not window:
        raise InsufficientData(
            f"no activities between {start} and {as_of}; patterns need some training history"
        )
    day_load = dict(loads) if loads is not None else _daily_load(activities)
    active_days = {activity_day(a) for a in window}
    by_weekday = dict.fromkeys(WEEKDAYS, 0.0)
    for day in (start + timedelta(days=i) for i in range(7 * weeks)):
        by_weekday[WEEKDAYS[day.weekday()]] += day_load.get(day, 0.0) / weeks

    week_of = {start + timedelta(days=i): i // 7 for i in range(7 * weeks)}
    weekly = [0.0] * weeks
    longest = [0.0] * weeks
    run_total = [0.0] * weeks
    for a in window:
        w = week_of[activity_day(a)]
        d = a.distance_m if a.distance_m is not None and math.isfinite(a.distance_m) else 0.0
        weekly[w] += d
        if a.sport_type in RUN_TYPES:
            run_total[w] += d
            longest[w] = max(longest[w], d)
    shares = [lr / tot for lr, tot in zip(longest, run_total, strict=True) if tot > 0]
    long_share = statistics.fmean(shares) if shares else None

    signals: list[Signal] = []
    ramp: float | None = None
    acwr_value: float | None = None
    if day_load:
        first = min(day_load)
        if first <= as_of:
            series = performance_series(
                {d: v for d, v in day_load.items() if d <= as_of}, first, as_of
            )
            if len(series) >= 8:
                ramp = ramp_rate(series)
        try:
            acwr_value = acute_chronic_ratio(day_load, as_of).ratio
        except InsufficientData:
            acwr_value = None
    if ramp is not None and ramp > RAMP_ELEVATED:
        level = "high" if ramp > RAMP_HIGH else "elevated"
        signals.append(Signal(
            code=f"ramp_rate_{level}",
            message=f"fitness (CTL) rose {ramp:.1f} per week; above {RAMP_ELEVATED:.0f}-"
                    f"{RAMP_HIGH:.0f}/week raises injury and illness risk",
            metric="ramp_rate", value=ramp,
            threshold=RAMP_HIGH if level == "high" else RAMP_ELEVATED,
        ))
    if acwr_value is not None and acwr_value > ACWR_HIGH:
        signals.append(Signal(
            code="acwr_high",
            message=f"last 7 days' load is {acwr_value:.2f}x the 28-day average (Gabbett 2016 "
                    "danger zone > 1.5)",
            metric="acwr", value=acwr_value, threshold=ACWR_HIGH,
        ))
    if len(weekly) >= 2 and weekly[-2] > 0:
        jump = weekly[-1] / weekly[-2] - 1.0
        if jump > WEEKLY_JUMP_LIMIT:
            signals.append(Signal(
                code="weekly_volume_jump",
                message=f"weekly distance up {100 * jump:.0f} % on the week before "
                        "(10 % rule of thumb)",
                metric="weekly_distance_change", value=jump, threshold=WEEKLY_JUMP_LIMIT,
            ))
    if long_share is not None and long_share > LONG_RUN_SHARE_LIMIT:
        signals.append(Signal(
            code="long_run_share_high",
            message=f"the long run is {100 * long_share:.0f} % of weekly running on average "
                    "(Daniels suggests <= 25 %)",
            metric="long_run_share", value=long_share, threshold=LONG_RUN_SHARE_LIMIT,
        ))
    return Patterns(
        as_of=as_of,
        weeks=weeks,
        active_days_per_week=len(active_days) / weeks,
        load_by_weekday=by_weekday,
        weekly_distance_m=weekly,
        long_run_share=long_share,
        ramp_rate=ramp,
        acwr=acwr_value,
        signals=signals,
    )


# -- goals ----------------------------------------------------------------------------------

Verdict = Literal["achieved", "on_track", "achievable", "stretch", "unlikely"]


@dataclass(frozen=True, slots=True)
class GoalFeasibility:
    verdict: Verdict
    required: float
    current: float
    unit: str
    explanation: str


def volume_goal_feasibility(
    *, target_m: float, done_m: float, recent_weekly_m: float, as_of: date, deadline: date
) -> GoalFeasibility:
    """Distance goal: weekly distance still required vs the recent weekly distance.

    Required/current <= 1: on track; <= 1.1: achievable within a 10 % build;
    <= 1.3: stretch; more: unlikely. (Heuristic built on the 10 % guideline.)
    """
    if not (math.isfinite(target_m) and target_m > 0):
        raise InsufficientData("a distance goal needs a target greater than 0 m")
    remaining = target_m - max(done_m, 0.0)
    if remaining <= 0:
        return GoalFeasibility(verdict="achieved", required=0.0, current=recent_weekly_m,
                               unit="m/week", explanation="the target distance is already done")
    days_left = (deadline - as_of).days
    if days_left <= 0:
        raise InsufficientData(f"the goal deadline {deadline} is not after {as_of}")
    required = remaining / (days_left / 7.0)
    current = max(recent_weekly_m, 0.0)
    ratio = required / current if current > 0 else math.inf
    verdict: Verdict = (
        "on_track" if ratio <= 1.0 else "achievable" if ratio <= 1.1
        else "stretch" if ratio <= 1.3 else "unlikely"
    )
    return GoalFeasibility(
        verdict=verdict, required=required, current=current, unit="m/week",
        explanation=(
            f"{remaining / 1000:.1f} km left in {days_left} days needs "
            f"{required / 1000:.1f} km/week; recent weeks average {current / 1000:.1f} km"
        ),
    )


def race_goal_feasibility(
    *,
    distance_m: float,
    target_time_s: float,
    current_vdot: float,
    as_of: date,
    race_date: date,
    vdot_gain_per_month: float = 1.0,
) -> GoalFeasibility:
    """Race-time goal: VDOT the goal requires vs current VDOT plus plausible gain.

    Heuristic: a trained runner gains about 1 VDOT unit per month of a focused
    block (rough rule drawn from Daniels' advice to raise VDOT by ~1 every 4-6
    weeks of steady training). Gap <= 0: on track; <= expected gain: achievable;
    <= 1.5x: stretch; more: unlikely.
    """
    required = vdot(distance_m, target_time_s)
    days = (race_date - as_of).days
    if days < 0:
        raise InsufficientData(f"the race date {race_date} is before {as_of}")
    expected_gain = vdot_gain_per_month * days / 30.44
    gap = required - current_vdot
    verdict: Verdict = (
        "on_track" if gap <= 0 else "achievable" if gap <= expected_gain
        else "stretch" if gap <= 1.5 * expected_gain else "unlikely"
    )
    return GoalFeasibility(
        verdict=verdict, required=required, current=current_vdot, unit="VDOT",
        explanation=(
            f"the goal needs VDOT {required:.1f}; current {current_vdot:.1f}; about "
            f"{expected_gain:.1f} can be gained in {days} days at {vdot_gain_per_month:g}/month"
        ),
    )


# -- recommendations ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recommendation:
    """Advice with the metric, value and threshold that triggered it."""

    code: str
    message: str
    reason: str
    metric: str
    value: float
    threshold: float


def recommendations(
    *,
    tsb: float | None = None,
    recovery: float | None = None,
    sleep: SleepQuality | None = None,
    patterns: Patterns | None = None,
    decoupling_pct: float | None = None,
    age_years: float | None = None,
) -> list[Recommendation]:
    """Rule-based advice in a fixed priority order (fatigue first, then habits)."""
    out: list[Recommendation] = []

    def add(code: str, message: str, reason: str, metric: str, value: float, threshold: float
            ) -> None:
        out.append(Recommendation(code=code, message=message, reason=reason, metric=metric,
                                  value=value, threshold=threshold))

    if recovery is not None and recovery < 33:
        add("rest_low_recovery", "Take a rest day or very easy session today.",
            "recovery score is low", "recovery_score", recovery, 33)
    if tsb is not None and tsb < -30:
        add("reduce_fatigue", "Insert 2-3 easy days to let fatigue come down.",
            "TSB below -30 marks high fatigue (Allen & Coggan 2010)", "tsb", tsb, -30)
    if patterns is not None:
        for s in patterns.signals:
            message = {
                "acwr_high": "Cut this week's load back towards your 4-week average.",
                "ramp_rate_high": "Hold training load steady for a week before building again.",
                "ramp_rate_elevated": "Keep the load increase gentle next week.",
                "weekly_volume_jump": "Keep next week's distance at or below this week's.",
                "long_run_share_high": "Spread distance across more runs or shorten the "
                                       "long run.",
            }.get(s.code, "Review this signal.")
            add(s.code, message, s.message, s.metric, s.value, s.threshold)
        if patterns.active_days_per_week < 3:
            add("consistency", "Aim for at least 3 sessions a week; regularity builds fitness.",
                f"{patterns.active_days_per_week:.1f} active days per week",
                "active_days_per_week", patterns.active_days_per_week, 3)
    if tsb is not None and tsb > 25:
        add("detraining", "Fitness is decaying; resume structured training if not tapering.",
            "TSB above +25 (Allen & Coggan 2010 transition range)", "tsb", tsb, 25)
    if sleep is not None:
        lo, _ = recommended_sleep_hours(age_years)
        if sleep.asleep_h < lo:
            add("sleep_more", f"Aim for at least {lo:g} h of sleep.",
                "below the National Sleep Foundation range (Hirshkowitz et al. 2015)",
                "sleep_hours", sleep.asleep_h, lo)
        if sleep.efficiency_pct is not None and sleep.efficiency_pct < SLEEP_EFFICIENCY_GOOD_PCT:
            add("sleep_efficiency", "Improve sleep habits: regular bedtime, dark cool room.",
                "sleep efficiency below 85 % (Ohayon et al. 2017)", "sleep_efficiency_pct",
                sleep.efficiency_pct, SLEEP_EFFICIENCY_GOOD_PCT)
    if decoupling_pct is not None and decoupling_pct > 5:
        add("aerobic_base", "Add steady, easy endurance sessions to build aerobic base.",
            "aerobic decoupling above 5 % (Friel)", "decoupling_pct", decoupling_pct, 5)
    return out
