"""Athlete-level rules: scores, predictions, sleep, recovery, patterns, goals, advice."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest

from pierre.models import ActivitySummary, DailyHeart, SleepSession
from pierre.science import InsufficientData
from pierre.science.fitness import (
    Effort,
    best_run_efforts,
    detect_patterns,
    fitness_score,
    predict_performances,
    race_goal_feasibility,
    recommendations,
    recommended_sleep_hours,
    recovery_score,
    sleep_quality,
    suggest_rest_day,
    tsb_component,
    volume_goal_feasibility,
)
from pierre.science.vdot import race_time_s, riegel, vdot

AS_OF = date(2024, 6, 30)  # a Sunday


def run(day: date, distance_m: float, minutes: float, sport: str = "Run") -> ActivitySummary:
    start = datetime(day.year, day.month, day.day, 7, tzinfo=UTC)
    return ActivitySummary(
        provider="synthetic", provider_id=f"{day}-{distance_m}", name="run", sport_type=sport,
        start_utc=start, start_local=start.replace(tzinfo=None), distance_m=distance_m,
        moving_time_s=minutes * 60,
    )


def night(hours: float, *, awake_h: float = 0.5, deep_h: float | None = 1.2,
          rem_h: float | None = 1.6) -> SleepSession:
    end = datetime(2024, 6, 30, 6, tzinfo=UTC)
    in_bed = (hours + awake_h) * 3600
    return SleepSession(
        provider="synthetic", provider_id="n1", date=end.date(),
        start_utc=end - timedelta(seconds=in_bed), end_utc=end, duration_s=in_bed,
        asleep_s=hours * 3600, awake_s=awake_h * 3600,
        deep_s=None if deep_h is None else deep_h * 3600,
        rem_s=None if rem_h is None else rem_h * 3600,
    )


# -- fitness score -------------------------------------------------------------------------

def test_fitness_score_by_hand() -> None:
    # CTL 50 -> 50; VDOT 50 -> (50-30)/40 = 50; 4 days/week -> 80.
    # 0.5*50 + 0.3*50 + 0.2*80 = 56.
    result = fitness_score(ctl=50, vdot_value=50, active_days_per_week=4)
    assert result.score == pytest.approx(56.0)
    assert result.components == pytest.approx({"ctl": 50, "vdot": 50, "consistency": 80})


def test_fitness_score_renormalises_and_clamps() -> None:
    assert fitness_score(ctl=150).score == pytest.approx(100.0)
    # CTL 20 -> 20, consistency 2/5 -> 40: (0.5*20 + 0.2*40) / 0.7 = 25.714
    assert fitness_score(ctl=20, active_days_per_week=2).score == pytest.approx(18 / 0.7)
    with pytest.raises(InsufficientData):
        fitness_score()


# -- predictions ----------------------------------------------------------------------------

def test_predictions_use_best_vdot_effort() -> None:
    efforts = [Effort(5000, 20 * 60), Effort(10000, 45 * 60), Effort(400, 60),
               Effort(1_000_000, 7200)]
    result = predict_performances(efforts)
    assert result.vdot == pytest.approx(vdot(5000, 1200))
    assert result.source == efforts[0]
    by_name = {p.name: p for p in result.predictions}
    assert set(by_name) == {"1500m", "mile", "5k", "10k", "half_marathon", "marathon"}
    assert by_name["5k"].vdot_time_s == pytest.approx(1200, abs=0.01)
    assert by_name["marathon"].vdot_time_s == pytest.approx(race_time_s(result.vdot, 42195))
    assert by_name["marathon"].riegel_time_s == pytest.approx(riegel(5000, 1200, 42195))
    assert any("1000000" in n for n in result.notes)  # the absurd effort is named, not used


def test_predictions_need_a_usable_effort() -> None:
    with pytest.raises(InsufficientData, match=r"3\.5 minutes"):
        predict_performances([Effort(400, 60)])
    with pytest.raises(InsufficientData):
        predict_performances([])


def test_best_run_efforts_window() -> None:
    acts = [run(AS_OF, 10000, 50), run(AS_OF - timedelta(days=100), 5000, 20),
            run(AS_OF, 30000, 60, sport="Ride")]
    assert best_run_efforts(acts, AS_OF) == [Effort(10000, 3000, AS_OF)]


# -- sleep ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("age", "expected"), [(None, (7, 9)), (30, (7, 9)), (70, (7, 8)), (16, (8, 10))]
)
def test_nsf_recommended_hours(age: float | None, expected: tuple[float, float]) -> None:
    # Hirshkowitz et al. (2015), National Sleep Foundation.
    assert recommended_sleep_hours(age) == expected


def test_good_night() -> None:
    # 8 h asleep, 30 min awake: efficiency 8/8.5 = 94.1 %; deep 1.2/8 = 15 %, REM 1.6/8 = 20 %
    q = sleep_quality(night(8))
    assert q.duration_rating == "recommended"
    assert q.efficiency_pct == pytest.approx(100 * 8 / 8.5)
    assert q.efficiency_good is True
    assert (q.deep_pct, q.rem_pct) == pytest.approx((15.0, 20.0))
    assert q.score == pytest.approx(100.0)


def test_short_inefficient_night_by_hand() -> None:
    # 5 h asleep, 2 h awake: duration 2 h short -> 100*(1-0.5) = 50;
    # efficiency 5/7 = 71.43 % -> 100*(71.43-65)/20 = 32.14; no stages.
    # score = (0.5*50 + 0.3*32.14) / 0.8 = 43.30
    q = sleep_quality(night(5, awake_h=2, deep_h=None, rem_h=None))
    assert q.duration_rating == "short" and q.efficiency_good is False
    eff = 100 * 5 / 7
    assert q.score == pytest.approx((0.5 * 50 + 0.3 * 100 * (eff - 65) / 20) / 0.8)
    assert any("stages" in n for n in q.notes)


def test_zero_length_sleep_raises() -> None:
    with pytest.raises(InsufficientData):
        sleep_quality(night(0, awake_h=0))


# -- recovery -------------------------------------------------------------------------------

def baseline(days: int = 14) -> list[DailyHeart]:
    # resting HR alternating 49/51 (mean 50); rMSSD alternating 60/80 ms.
    return [DailyHeart(provider="s", date=AS_OF - timedelta(days=i + 1),
                       resting_hr_bpm=49.0 + 2 * (i % 2), hrv_rmssd_ms=60.0 + 20 * (i % 2))
            for i in range(days)]


def test_recovery_fresh_athlete() -> None:
    ln = [math.log(60), math.log(80)] * 7
    today = DailyHeart(provider="s", date=AS_OF, resting_hr_bpm=50,
                       hrv_rmssd_ms=math.exp(sum(ln) / len(ln)))
    result = recovery_score(sleep=night(8), today=today, baseline=baseline(), tsb=5)
    assert result.components == pytest.approx(
        {"sleep": 100.0, "resting_hr": 100.0, "hrv": 100.0, "tsb": 100.0})
    assert result.score == pytest.approx(100.0)


def test_recovery_tired_athlete_by_hand() -> None:
    # RHR 55 vs baseline 50: 100*(1 - 0.1*5) = 50. TSB -20: 100*(10/35) = 28.57.
    # HRV 40 ms: z = (ln 40 - mean ln) / sd; component 100*clamp((z+2.5)/2).
    ln = [math.log(60), math.log(80)] * 7
    mean = sum(ln) / len(ln)
    sd = math.sqrt(sum((x - mean) ** 2 for x in ln) / (len(ln) - 1))
    z = (math.log(40) - mean) / sd
    hrv = 100 * min(1.0, max(0.0, (z + 2.5) / 2))
    today = DailyHeart(provider="s", date=AS_OF, resting_hr_bpm=55, hrv_rmssd_ms=40)
    result = recovery_score(today=today, baseline=baseline(), tsb=-20)
    assert result.components["resting_hr"] == pytest.approx(50.0)
    assert result.components["tsb"] == pytest.approx(tsb_component(-20)) == pytest.approx(
        1000 / 35)
    assert result.components["hrv"] == pytest.approx(hrv)
    expected = (0.25 * hrv + 0.2 * 50 + 0.2 * 1000 / 35) / 0.65
    assert result.score == pytest.approx(expected)


def test_recovery_short_baseline_is_explained() -> None:
    today = DailyHeart(provider="s", date=AS_OF, resting_hr_bpm=55, hrv_rmssd_ms=40)
    result = recovery_score(today=today, baseline=baseline(3), tsb=0)
    assert set(result.components) == {"tsb"}
    assert any("baseline needs 7" in r for r in result.reasons)
    with pytest.raises(InsufficientData):
        recovery_score(today=today, baseline=baseline(3))


# -- rest days ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("kwargs", "advice"),
    [
        ({"recovery": 80, "tsb": -5, "acwr": 1.0}, "train"),
        ({"recovery": 50}, "easy"),
        ({"tsb": -25}, "easy"),
        ({"acwr": 1.6}, "rest"),
        ({"tsb": -35}, "rest"),
        ({"consecutive_training_days": 7}, "rest"),
        ({"recovery": 20, "acwr": 1.4}, "rest"),
    ],
)
def test_rest_day_rules(kwargs: dict[str, float], advice: str) -> None:
    result = suggest_rest_day(**kwargs)  # type: ignore[arg-type]
    assert result.advice == advice
    assert result.reasons


# -- patterns -------------------------------------------------------------------------------

def steady_weeks(weeks: int, last_week_km: float | None = None) -> list[ActivitySummary]:
    """Runs Tue 8 km, Thu 8 km, Sun 14 km each week (30 km/week)."""
    acts: list[ActivitySummary] = []
    for w in range(weeks):
        sunday = AS_OF - timedelta(days=7 * w)
        scale = 1.0 if w or last_week_km is None else last_week_km / 30.0
        acts += [run(sunday - timedelta(days=5), 8000 * scale, 45),
                 run(sunday - timedelta(days=3), 8000 * scale, 45),
                 run(sunday, 14000 * scale, 80)]
    return acts


def test_steady_pattern_has_no_signals() -> None:
    p = detect_patterns(steady_weeks(12), AS_OF, weeks=8)
    assert p.active_days_per_week == pytest.approx(3.0)
    assert p.weekly_distance_m == pytest.approx([30000.0] * 8)
    assert p.load_by_weekday["Sun"] == pytest.approx(80.0)
    assert p.load_by_weekday["Tue"] == pytest.approx(45.0)
    assert p.load_by_weekday["Mon"] == 0.0
    assert p.long_run_share == pytest.approx(14 / 30)
    codes = {s.code for s in p.signals}
    assert codes == {"long_run_share_high"}  # 47 % > 30 %


def test_volume_jump_and_acwr_signals() -> None:
    acts = steady_weeks(8, last_week_km=45)
    # Daily load: 30 units every day for 7 weeks, then 100 every day for the last week:
    # acute 100, chronic (21*30 + 7*100)/28 = 47.5 -> ACWR 2.1
    loads = {AS_OF - timedelta(days=i): (100.0 if i < 7 else 30.0) for i in range(56)}
    p = detect_patterns(acts, AS_OF, weeks=4, loads=loads)
    by_code = {s.code: s for s in p.signals}
    assert by_code["weekly_volume_jump"].value == pytest.approx(0.5)
    assert by_code["acwr_high"].value == pytest.approx(100 / 47.5)
    assert p.ramp_rate is not None and "ramp_rate_high" in by_code
    for s in p.signals:
        assert math.isfinite(s.value) and s.message


def test_patterns_need_activities() -> None:
    with pytest.raises(InsufficientData):
        detect_patterns([], AS_OF)


# -- goals --------------------------------------------------------------------------------

def test_volume_goal() -> None:
    # 1000 km goal, 800 done, 70 days left -> 200 km / 10 weeks = 20 km/week.
    g = volume_goal_feasibility(target_m=1_000_000, done_m=800_000, recent_weekly_m=25_000,
                                as_of=AS_OF, deadline=AS_OF + timedelta(days=70))
    assert g.required == pytest.approx(20_000) and g.verdict == "on_track"
    g = volume_goal_feasibility(target_m=1_000_000, done_m=800_000, recent_weekly_m=10_000,
                                as_of=AS_OF, deadline=AS_OF + timedelta(days=70))
    assert g.verdict == "unlikely"
    g = volume_goal_feasibility(target_m=1_000_000, done_m=1_200_000, recent_weekly_m=0,
                                as_of=AS_OF, deadline=AS_OF + timedelta(days=70))
    assert g.verdict == "achieved"


def test_race_goal() -> None:
    # Sub-20 5K needs VDOT 49.8; from 47.0 with 4 months at ~1 VDOT/month -> achievable.
    g = race_goal_feasibility(distance_m=5000, target_time_s=1200, current_vdot=47.0,
                              as_of=AS_OF, race_date=AS_OF + timedelta(days=122))
    assert g.required == pytest.approx(49.8, abs=0.1)
    assert g.verdict == "achievable"
    g = race_goal_feasibility(distance_m=5000, target_time_s=1200, current_vdot=40.0,
                              as_of=AS_OF, race_date=AS_OF + timedelta(days=61))
    assert g.verdict == "unlikely"
    with pytest.raises(InsufficientData):
        race_goal_feasibility(distance_m=5000, target_time_s=1200, current_vdot=40.0,
                              as_of=AS_OF, race_date=AS_OF - timedelta(days=1))


# -- recommendations ------------------------------------------------------------------------

def test_recommendations_carry_their_trigger() -> None:
    p = detect_patterns(steady_weeks(8, last_week_km=45), AS_OF, weeks=4)
    recs = recommendations(tsb=-35, recovery=20, sleep=sleep_quality(night(5, awake_h=2)),
                           patterns=p, decoupling_pct=8.0)
    codes = [r.code for r in recs]
    assert codes[:2] == ["rest_low_recovery", "reduce_fatigue"]
    assert {"weekly_volume_jump", "sleep_more", "sleep_efficiency", "aerobic_base"} <= set(codes)
    for r in recs:
        assert r.reason and r.message and math.isfinite(r.value)


def test_no_recommendations_when_all_is_well() -> None:
    assert recommendations(tsb=-5, recovery=85, sleep=sleep_quality(night(8))) == []
