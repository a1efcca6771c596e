"""Performance over time: trends, fitness score, race predictions, zones, recommendations."""

from __future__ import annotations

import dataclasses
import math
from datetime import timedelta
from typing import Any

from pierre.errors import InvalidArguments
from pierre.models import ActivitySummary
from pierre.science import InsufficientData
from pierre.science import fitness as fit
from pierre.science import power as pw
from pierre.science import vdot as vd
from pierre.science import zones as zn
from pierre.science.activity import RUN_SPORTS
from pierre.science.trends import linear_trend
from pierre.tools import schemas as s
from pierre.tools.base import ToolContext, ToolSpec
from pierre.tools.common import (
    Window,
    daily_loads,
    data_used,
    duration_s,
    finish,
    int_arg,
    load_window,
)
from pierre.tools.errors import InsufficientDataError
from pierre.tools.recovery import readiness
from pierre.tools.training_load import WARMUP_DAYS, load_state

FAMILY = "performance"
SIGNIFICANCE = 0.05

# metric -> (unit, lower is better, value of one activity)
METRICS: dict[str, tuple[str, bool]] = {
    "pace": ("s/km", True),
    "speed": ("m/s", False),
    "heart_rate": ("bpm", True),
    "efficiency": ("m/min per bpm", False),
    "distance": ("m", False),
    "duration": ("s", False),
    "power": ("W", False),
    "elevation": ("m", False),
}


def metric_value(a: ActivitySummary, metric: str) -> float | None:
    t = duration_s(a)
    d = a.distance_m if a.distance_m and math.isfinite(a.distance_m) else None
    value: float | None
    if metric == "pace":
        value = t / d * 1000.0 if d and t > 0 else None
    elif metric == "speed":
        value = d / t if d and t > 0 else None
    elif metric == "heart_rate":
        value = a.average_hr_bpm
    elif metric == "efficiency":
        value = d / t * 60.0 / a.average_hr_bpm if d and t > 0 and a.average_hr_bpm else None
    elif metric == "distance":
        value = d
    elif metric == "duration":
        value = t or None
    elif metric == "power":
        value = a.weighted_average_power_w or a.average_power_w
    else:
        value = a.elevation_gain_m
    return value if value is not None and math.isfinite(value) and value > 0 else None


async def analyze_performance_trends(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    metric = args.get("metric") or "pace"
    if metric not in METRICS:
        raise InvalidArguments(f"metric: one of {', '.join(METRICS)}", field="metric")
    days = int_arg(args, "days", 90, 7, 730)
    sport = args.get("sport_type")
    _, w = await load_window(ctx, args, days, sport_type=sport)
    items = w.within(days)
    if sport is None and metric in ("pace", "speed", "efficiency") and items:
        # Mixing runs and rides makes a pace trend meaningless: use the most common sport.
        counts: dict[str, int] = {}
        for a in items:
            counts[a.sport_type] = counts.get(a.sport_type, 0) + 1
        sport = max(counts, key=lambda k: counts[k])
        items = [a for a in items if a.sport_type == sport]
    points = [(a, v) for a in sorted(items, key=lambda a: a.start_utc)
              if (v := metric_value(a, metric)) is not None]
    if len(points) < 3:
        raise InsufficientDataError(
            f"a {metric} trend needs at least 3 activities with {metric} data; found "
            f"{len(points)} in the {days} days up to {w.as_of}"
        )
    t0 = points[0][0].start_utc
    xs = [(a.start_utc - t0).total_seconds() / 86400.0 for a, _ in points]
    ys = [v for _, v in points]
    try:
        tr = linear_trend(xs, ys)
    except InsufficientData as exc:
        raise InsufficientDataError(exc.message) from None
    unit, lower_better = METRICS[metric]
    significant = tr.p_value < SIGNIFICANCE
    better = (tr.slope < 0) == lower_better
    direction = "stable" if not significant or tr.slope == 0 else (
        "improving" if better else "declining")
    first_fit = tr.intercept
    last_fit = tr.intercept + tr.slope * xs[-1]
    return finish({
        "metric": metric, "unit": unit, "sport_type": sport, "as_of": w.as_of,
        "trend": {"slope_per_day": tr.slope, "intercept": tr.intercept,
                  "r_squared": tr.r_squared, "p_value": tr.p_value,
                  "significant": significant, "n": tr.n, "direction": direction},
        "change_over_period": last_fit - first_fit,
        "change_over_period_pct": (last_fit - first_fit) / first_fit * 100 if first_fit else None,
        "points": [{"date": a.start_utc.date(), "activity_id": a.provider_id, "value": v}
                   for a, v in points],
        "method": f"ordinary least squares on {metric} per activity vs days; two-sided t-test "
                  f"on the slope, significant when p < {SIGNIFICANCE}",
        "notes": w.notes, "assumptions": w.asm.to_dict(),
        "data_used": data_used(w.provider, [a for a, _ in points], start=w.start, end=w.as_of),
    })


def _prediction(w: Window, days: int = 90) -> fit.PerformancePrediction:
    efforts = fit.best_run_efforts(w.items, w.as_of, days=days)
    try:
        return fit.predict_performances(efforts)
    except InsufficientData as exc:
        raise InsufficientDataError(exc.message) from None


async def predict_performance(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    days = int_arg(args, "days", 90, 7, 365)
    _, w = await load_window(ctx, args, days)
    if not [a for a in w.within(days) if a.sport_type in RUN_SPORTS]:
        raise InsufficientDataError(
            f"race predictions need a run in the last {days} days; none found"
        )
    p = _prediction(w, days)
    preds = [dataclasses.asdict(x) for x in p.predictions]
    target = args.get("target_distance_m")
    if target is not None:
        t = float(target)
        try:
            preds.append({"name": "target", "distance_m": t,
                          "vdot_time_s": vd.race_time_s(p.vdot, t),
                          "riegel_time_s": vd.riegel(p.source.distance_m, p.source.time_s, t)})
        except InsufficientData as exc:
            raise InsufficientDataError(exc.message) from None
    source_ids = [a.provider_id for a in w.items
                  if a.distance_m == p.source.distance_m and duration_s(a) == p.source.time_s]
    paces = None
    try:
        paces = dataclasses.asdict(vd.training_paces(p.vdot))
    except InsufficientData as exc:
        p.notes.append(exc.message)
    used = [a for a in w.within(days) if a.sport_type in RUN_SPORTS]
    return finish({
        "vdot": p.vdot,
        "source_effort": {"distance_m": p.source.distance_m, "time_s": p.source.time_s,
                          "date": p.source.day, "activity_id": source_ids[0] if source_ids
                          else None},
        "predictions": preds,
        "training_paces": paces,
        "models": {"vdot_time_s": "Daniels & Gilbert (1979) VDOT equivalence",
                   "riegel_time_s": "Riegel (1981) T2 = T1 (D2/D1)^1.06"},
        "notes": [*w.notes, *p.notes], "assumptions": w.asm.to_dict(),
        "data_used": data_used(w.provider, used, start=w.start, end=w.as_of),
    })


async def calculate_fitness_score(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    _, w = await load_window(ctx, args, 28, history_days=WARMUP_DAYS)
    notes = list(w.notes)
    ctl = vdot_value = None
    try:
        ctl = load_state(w)["series"][-1].ctl
    except InsufficientData as exc:
        notes.append(f"CTL: {exc.message}")
    try:
        vdot_value = _prediction(w).vdot
    except InsufficientData as exc:
        notes.append(f"VDOT: {exc.message}")
    recent = w.within(28)
    active = len({a.start_utc.date() for a in recent}) / 4.0 if w.items else None
    try:
        score = fit.fitness_score(ctl=ctl, vdot_value=vdot_value, active_days_per_week=active)
    except InsufficientData as exc:
        raise InsufficientDataError(exc.message) from None
    level = ("excellent" if score.score >= 80 else "good" if score.score >= 60
             else "fair" if score.score >= 40 else "building")
    return finish({
        "as_of": w.as_of, "score": score.score, "level": level, "components": score.components,
        "inputs": {"ctl": ctl, "vdot": vdot_value, "active_days_per_week": active},
        "method": "heuristic: CTL/100 (50 %), VDOT 30-70 (30 %), active days/5 (20 %); "
                  "missing components left out and weights renormalised",
        "notes": notes, "assumptions": w.asm.to_dict(),
        "data_used": data_used(w.provider, w.items, end=w.as_of),
    })


async def calculate_personalized_zones(ctx: ToolContext, args: dict[str, Any]) -> (
    dict[str, Any]
):
    _, w = await load_window(ctx, args, 180)
    asm = w.asm
    notes = list(w.notes)
    out: dict[str, Any] = {"heart_rate": None, "power": None, "pace": None,
                           "training_paces": None}
    rest, mx = asm.num("resting_hr_bpm"), asm.num("max_hr_bpm")
    if rest is not None and mx is not None:
        try:
            out["heart_rate"] = {"method": "Karvonen (heart-rate reserve 50-100 %)", "zones": [
                dataclasses.asdict(z) for z in zn.karvonen_zones(rest, mx)]}
        except InsufficientData as exc:
            notes.append(f"heart-rate zones: {exc.message}")
    else:
        notes.append("heart-rate zones: max HR unknown; set max_hr_bpm or birth_year")
    ftp = asm.num("ftp_w")
    if ftp is not None:
        out["power"] = {"method": "Coggan power levels (% FTP)", "zones": [
            dataclasses.asdict(z) for z in pw.power_zones(ftp)]}
    else:
        notes.append("power zones: FTP unknown; set ftp_w")
    pace = asm.num("threshold_pace_s_per_km")
    if pace is not None:
        try:
            out["pace"] = {"method": "Friel run pace zones (% threshold pace)", "zones": [
                dataclasses.asdict(z) for z in zn.pace_zones(pace)]}
        except InsufficientData as exc:
            notes.append(f"pace zones: {exc.message}")
    else:
        notes.append("pace zones: threshold pace unknown; set threshold_pace_s_per_km")
    try:
        out["training_paces"] = dataclasses.asdict(vd.training_paces(_prediction(w, 180).vdot))
    except InsufficientData as exc:
        notes.append(f"Daniels training paces: {exc.message}")
    if not any(out.values()):
        raise InsufficientDataError(
            "no zones can be computed: set max_hr_bpm (or birth_year), ftp_w or "
            "threshold_pace_s_per_km with set_fitness_config"
        )
    return finish({**out, "notes": notes, "assumptions": asm.to_dict(),
                   "data_used": data_used(w.provider, w.items, end=w.as_of)})


async def generate_recommendations(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    cl, w = await load_window(ctx, args, 56, history_days=WARMUP_DAYS)
    if not w.within(56):
        raise InsufficientDataError(
            "no activities in the last 8 weeks; record some training to get recommendations"
        )
    r = await readiness(cl, w)
    notes = [*w.notes, *r["notes"]]
    loads, _ = daily_loads(w.items, w.asm)
    patterns = None
    try:
        patterns = fit.detect_patterns(w.items, w.as_of, weeks=8, loads=loads or None)
    except InsufficientData as exc:
        notes.append(f"patterns: {exc.message}")
    sleep = None
    if r["last_night"] is not None:
        try:
            sleep = fit.sleep_quality(r["last_night"], age_years=w.asm.age_years)
        except InsufficientData as exc:
            notes.append(f"sleep: {exc.message}")
    recovery = None
    try:
        recovery = fit.recovery_score(sleep=r["last_night"], today=r["today"],
                                      baseline=r["baseline"], tsb=r["tsb"],
                                      age_years=w.asm.age_years).score
    except InsufficientData:
        pass
    recs = fit.recommendations(tsb=r["tsb"], recovery=recovery, sleep=sleep, patterns=patterns,
                               age_years=w.asm.age_years)
    return finish({
        "as_of": w.as_of,
        "recommendations": [dataclasses.asdict(x) for x in recs],
        "inputs": {"tsb": r["tsb"], "acwr": r["acwr"], "recovery_score": recovery,
                   "active_days_per_week": patterns.active_days_per_week if patterns else None},
        "summary": "No warning signs: keep training as planned." if not recs
                   else f"{len(recs)} recommendation(s), most important first.",
        "notes": notes, "assumptions": w.asm.to_dict(),
        "data_used": data_used(w.provider, w.within(56), start=w.as_of - timedelta(days=55),
                               end=w.as_of, sleep_nights=1 if r["last_night"] else 0),
    })


_ZONESET = s.nullable(s.obj({"method": s.STR, "zones": s.arr(s.ANY_OBJ)}, ["method", "zones"]))
_COMMON_OUT = {"notes": s.NOTES, "assumptions": s.ASSUMPTIONS, "data_used": s.DATA_USED}

SPECS = [
    ToolSpec(
        name="analyze_performance_trends",
        title="Performance trends",
        description="Trend of a metric per activity over time by least-squares regression, "
                    "with slope per day, r² and significance (p < 0.05).",
        input_schema=s.tool_input({
            "provider": s.PROVIDER_ARG, "sport_type": s.SPORT_TYPE_ARG,
            "metric": {"enum": list(METRICS), "default": "pace"},
            "days": {**s.DAYS_ARG, "minimum": 7, "default": 90},
        }),
        output_schema=s.tool_output({
            "metric": s.STR, "unit": s.STR, "sport_type": s.nullable(s.STR), "as_of": s.DATE,
            "trend": s.TREND, "change_over_period": s.NUM,
            "change_over_period_pct": s.nullable(s.NUM),
            "points": s.arr(s.obj({"date": s.DATE, "activity_id": s.STR, "value": s.NUM},
                                  ["date", "activity_id", "value"])),
            "method": s.STR, **_COMMON_OUT,
        }, ["metric", "unit", "trend", "points", "assumptions", "data_used"]),
        handler=analyze_performance_trends, family=FAMILY,
        examples=("Is my running pace improving?", "How has my heart rate changed over 3 months?"),
    ),
    ToolSpec(
        name="calculate_fitness_score",
        title="Fitness score",
        description="A 0-100 fitness score from chronic training load (CTL), VDOT and "
                    "consistency, with its components.",
        input_schema=s.tool_input({"provider": s.PROVIDER_ARG}),
        output_schema=s.tool_output({
            "as_of": s.DATE, "score": s.NUM, "level": s.STR, "components": s.ANY_OBJ,
            "inputs": s.ANY_OBJ, "method": s.STR, **_COMMON_OUT,
        }, ["as_of", "score", "level", "components", "assumptions", "data_used"]),
        handler=calculate_fitness_score, family=FAMILY,
        examples=("How fit am I?", "What is my fitness score?"),
    ),
    ToolSpec(
        name="predict_performance",
        title="Race predictions",
        description="Race times for 1500 m to marathon from the best recent run: Daniels VDOT "
                    "equivalence and Riegel's formula, plus Daniels training paces.",
        input_schema=s.tool_input({
            "provider": s.PROVIDER_ARG,
            "target_distance_m": {"type": "number", "minimum": 400, "maximum": 100000,
                                  "description": "An extra distance to predict, in metres."},
            "days": {"type": "integer", "minimum": 7, "maximum": 365, "default": 90},
        }),
        output_schema=s.tool_output({
            "vdot": s.NUM, "source_effort": s.ANY_OBJ,
            "predictions": s.arr(s.obj({"name": s.STR, "distance_m": s.NUM,
                                        "vdot_time_s": s.NUM, "riegel_time_s": s.NUM},
                                       ["name", "distance_m", "vdot_time_s", "riegel_time_s"])),
            "training_paces": s.nullable(s.ANY_OBJ), "models": s.ANY_OBJ, **_COMMON_OUT,
        }, ["vdot", "predictions", "assumptions", "data_used"]),
        handler=predict_performance, family=FAMILY,
        examples=("What could I run a half marathon in?", "Predict my 10k time",
                  "Am I ready for my half marathon?"),
    ),
    ToolSpec(
        name="generate_recommendations",
        title="Training recommendations",
        description="Prioritised advice from fatigue (TSB), recovery, sleep and training "
                    "patterns, each with the metric and threshold that triggered it.",
        input_schema=s.tool_input({"provider": s.PROVIDER_ARG}),
        output_schema=s.tool_output({
            "as_of": s.DATE, "recommendations": s.arr(s.obj({
                "code": s.STR, "message": s.STR, "reason": s.STR, "metric": s.STR,
                "value": s.NUM, "threshold": s.NUM}, ["code", "message", "reason"])),
            "inputs": s.ANY_OBJ, "summary": s.STR, **_COMMON_OUT,
        }, ["as_of", "recommendations", "assumptions", "data_used"]),
        handler=generate_recommendations, family=FAMILY,
        examples=("What should I change in my training?", "Give me training advice"),
    ),
    ToolSpec(
        name="calculate_personalized_zones",
        title="Personal zones",
        description="Heart-rate zones (Karvonen), power zones (Coggan, from FTP), run pace "
                    "zones (Friel, from threshold pace) and Daniels training paces.",
        input_schema=s.tool_input({"provider": s.PROVIDER_ARG}),
        output_schema=s.tool_output({
            "heart_rate": _ZONESET, "power": _ZONESET, "pace": _ZONESET,
            "training_paces": s.nullable(s.ANY_OBJ), **_COMMON_OUT,
        }, ["heart_rate", "power", "pace", "assumptions", "data_used"]),
        handler=calculate_personalized_zones, family=FAMILY,
        examples=("What are my heart-rate zones?", "Calculate my power zones"),
    ),
]
