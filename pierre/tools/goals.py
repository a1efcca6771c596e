"""Goals stored per user: set, track, suggest and judge feasibility.

Goal types and their units: distance (km), duration (hours), frequency
(activities), race_time (seconds over `race_distance_m`). Progress counts
activities from the goal's start date to its target date.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from typing import Any

from pierre.errors import InvalidArguments, NotFound
from pierre.models import ActivitySummary
from pierre.science import InsufficientData
from pierre.science import fitness as fit
from pierre.science import vdot as vd
from pierre.tools import schemas as s
from pierre.tools.base import ToolAnnotations, ToolContext, ToolSpec
from pierre.tools.common import (
    _db,
    data_used,
    duration_s,
    finish,
    load_window,
    now_utc,
    parse_date,
    require_str,
)
from pierre.tools.errors import InsufficientDataError

FAMILY = "goals"
GOAL_TYPES = {"distance": "km", "duration": "h", "frequency": "activities", "race_time": "s"}


def goal_amount(goal_type: str, items: list[ActivitySummary]) -> float:
    """How much of a volume goal `items` achieve, in the goal's unit."""
    if goal_type == "distance":
        return sum((a.distance_m or 0.0) for a in items) / 1000.0
    if goal_type == "duration":
        return sum(duration_s(a) for a in items) / 3600.0
    return float(len(items))


def _matches(goal: dict[str, Any], a: ActivitySummary) -> bool:
    sport = goal.get("sport_type")
    return not sport or a.sport_type.lower() == str(sport).lower()


async def _goal(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    goal_id = require_str(args, "goal_id")
    goal = await _db(ctx).get_goal(ctx.principal.tenant_id, ctx.principal.user_id, goal_id)
    if goal is None:
        raise NotFound(f"goal {goal_id} not found")
    return dict(goal)


def _dates(goal: dict[str, Any]) -> tuple[date, date]:
    start = parse_date(goal.get("start_date") or str(goal.get("created_at", ""))[:10],
                       "start_date")
    return start, parse_date(goal["target_date"], "target_date")


async def set_goal(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    title = require_str(args, "title")
    goal_type = require_str(args, "goal_type")
    if goal_type not in GOAL_TYPES:
        raise InvalidArguments(f"goal_type: one of {', '.join(GOAL_TYPES)}", field="goal_type")
    target = args.get("target_value")
    if isinstance(target, bool) or not isinstance(target, int | float) or not target > 0:
        raise InvalidArguments("target_value: a number greater than 0", field="target_value")
    today = now_utc().date()
    target_date = parse_date(args.get("target_date"), "target_date")
    if target_date <= today:
        raise InvalidArguments("target_date: must be after today", field="target_date")
    data: dict[str, Any] = {
        "title": title, "goal_type": goal_type, "target_value": float(target),
        "unit": GOAL_TYPES[goal_type], "target_date": target_date.isoformat(),
        "start_date": today.isoformat(), "sport_type": args.get("sport_type"),
    }
    if goal_type == "race_time":
        dist = args.get("race_distance_m")
        if not isinstance(dist, int | float) or not 400 <= dist <= 100_000:
            raise InvalidArguments("race_distance_m: required for race_time goals "
                                   "(400-100000 m)", field="race_distance_m")
        try:
            vd.vdot(float(dist), float(target))
        except InsufficientData as exc:
            raise InvalidArguments(f"target_value: {exc.message}", field="target_value") from None
        data["race_distance_m"] = float(dist)
        data["sport_type"] = data["sport_type"] or "Run"
    goal = await _db(ctx).create_goal(ctx.principal.tenant_id, ctx.principal.user_id, data)
    return finish({"goal": _public(goal)})


def _public(goal: dict[str, Any]) -> dict[str, Any]:
    out = {k: goal.get(k) for k in ("title", "goal_type", "target_value", "unit", "target_date",
                                     "start_date", "sport_type", "race_distance_m",
                                     "created_at")}
    out["goal_id"] = str(goal.get("id") or goal.get("goal_id"))
    return out


async def track_progress(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    goal = await _goal(ctx, args)
    start, end = _dates(goal)
    today = now_utc().date()
    days = max(1, (min(today, end) - start).days + 1)
    _, w = await load_window(ctx, args, max(days, 90) if goal["goal_type"] == "race_time"
                             else days)
    notes = list(w.notes)
    target = float(goal["target_value"])
    period = [a for a in w.items if start <= a.start_utc.date() <= end and _matches(goal, a)]
    elapsed_pct = min(100.0, 100.0 * max(0, (today - start).days) / max(1, (end - start).days))
    if goal["goal_type"] == "race_time":
        efforts = fit.best_run_efforts(w.items, w.as_of, days=90)
        try:
            p = fit.predict_performances(efforts, {"goal": float(goal["race_distance_m"])})
        except InsufficientData as exc:
            raise InsufficientDataError(exc.message) from None
        current = p.predictions[0].vdot_time_s
        progress = 100.0 if current <= target else 100.0 * target / current
        achieved = current <= target
        used = [a for a in w.within(90) if a.sport_type in fit.RUN_TYPES]
        extra: dict[str, Any] = {"current_predicted_time_s": current, "current_vdot": p.vdot}
    else:
        current = goal_amount(goal["goal_type"], period)
        progress = 100.0 * current / target
        achieved = current >= target
        used = period
        extra = {}
    on_track = achieved or progress >= elapsed_pct
    return finish({
        "goal": _public(goal), "current_value": current, "target_value": target,
        "unit": goal.get("unit") or GOAL_TYPES[goal["goal_type"]], "progress_pct": progress,
        "time_elapsed_pct": elapsed_pct, "days_left": max(0, (end - today).days),
        "achieved": achieved, "on_track": on_track, **extra, "notes": notes,
        "assumptions": w.asm.to_dict(),
        "data_used": data_used(w.provider, used, start=start, end=min(today, end)),
    })


async def analyze_goal_feasibility(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    goal = await _goal(ctx, args)
    start, end = _dates(goal)
    today = now_utc().date()
    if end <= today:
        raise InsufficientDataError(f"the goal's target date {end} has passed; set a new goal")
    _, w = await load_window(ctx, args, max(28, (today - start).days + 1))
    recent = [a for a in w.within(28) if _matches(goal, a)]
    gt = goal["goal_type"]
    target = float(goal["target_value"])
    try:
        if gt == "race_time":
            efforts = fit.best_run_efforts(w.items, w.as_of, days=90)
            current_vdot = fit.predict_performances(efforts, {}).vdot
            f = fit.race_goal_feasibility(distance_m=float(goal["race_distance_m"]),
                                          target_time_s=target, current_vdot=current_vdot,
                                          as_of=today, race_date=end)
            used = [a for a in w.within(90) if a.sport_type in fit.RUN_TYPES]
        else:
            done = [a for a in w.items if start <= a.start_utc.date() <= today
                    and _matches(goal, a)]
            scale = 1000.0  # the science helper works in metres; scale other units alike
            f = fit.volume_goal_feasibility(
                target_m=target * scale, done_m=goal_amount(gt, done) * scale,
                recent_weekly_m=goal_amount(gt, recent) / 4.0 * scale, as_of=today,
                deadline=end)
            f = dataclasses.replace(
                f, required=f.required / scale, current=f.current / scale,
                unit=f"{GOAL_TYPES[gt]}/week",
                explanation=f"needs {f.required / scale:.1f} {GOAL_TYPES[gt]}/week from now; "
                            f"the last 4 weeks averaged {f.current / scale:.1f}")
            seen = {a.provider_id for a in done}
            used = done + [a for a in recent if a.provider_id not in seen]
    except InsufficientData as exc:
        raise InsufficientDataError(exc.message) from None
    return finish({
        "goal": _public(goal), "verdict": f.verdict, "feasible": f.verdict != "unlikely",
        "required": f.required, "current": f.current, "unit": f.unit,
        "explanation": f.explanation, "days_left": (end - today).days, "notes": w.notes,
        "assumptions": w.asm.to_dict(),
        "data_used": data_used(w.provider, used, end=w.as_of),
    })


async def suggest_goals(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    _, w = await load_window(ctx, args, 84)
    recent = w.within(84)
    if not recent:
        raise InsufficientDataError("no activities in the last 12 weeks to base goals on")
    by_sport: dict[str, list[ActivitySummary]] = {}
    for a in recent:
        by_sport.setdefault(a.sport_type, []).append(a)
    sport, items = max(by_sport.items(), key=lambda kv: len(kv[1]))
    weeks = 12.0
    target_date = (now_utc().date() + timedelta(weeks=8)).isoformat()
    suggestions: list[dict[str, Any]] = []
    weekly_km = goal_amount("distance", items) / weeks
    if weekly_km > 0:
        suggestions.append({
            "title": f"{sport}: {weekly_km * 8 * 1.1:.0f} km in 8 weeks", "goal_type": "distance",
            "target_value": round(weekly_km * 8 * 1.1, 1), "target_date": target_date,
            "sport_type": sport,
            "rationale": f"your last 12 weeks averaged {weekly_km:.1f} km/week; +10 % is a "
                         "gentle build",
        })
    per_week = len(items) / weeks
    suggestions.append({
        "title": f"{sport}: {round(per_week * 8) + 2} sessions in 8 weeks",
        "goal_type": "frequency", "target_value": float(round(per_week * 8) + 2),
        "target_date": target_date, "sport_type": sport,
        "rationale": f"you average {per_week:.1f} sessions a week; two extra over 8 weeks "
                     "builds consistency",
    })
    try:
        p = fit.predict_performances(fit.best_run_efforts(w.items, w.as_of, days=84),
                                     {"10k": 10000.0})
        goal_time = vd.race_time_s(p.vdot + 2.0, 10000.0)
        suggestions.append({
            "title": f"10 km in {int(goal_time // 60)}:{int(goal_time % 60):02d}",
            "goal_type": "race_time", "target_value": round(goal_time),
            "race_distance_m": 10000.0, "target_date": (now_utc().date()
                                                        + timedelta(weeks=12)).isoformat(),
            "sport_type": "Run",
            "rationale": f"VDOT {p.vdot:.1f} now predicts "
                         f"{int(p.predictions[0].vdot_time_s // 60)} min; +2 VDOT in 12 weeks "
                         "is a realistic block (Daniels)",
        })
    except InsufficientData:
        pass
    return finish({"suggestions": suggestions, "notes": w.notes,
                   "assumptions": w.asm.to_dict(),
                   "data_used": data_used(w.provider, recent, start=w.as_of - timedelta(days=83),
                                          end=w.as_of)})


_GOAL = s.obj({"goal_id": s.STR, "title": s.STR, "goal_type": {"enum": list(GOAL_TYPES)},
               "target_value": s.NUM, "unit": s.STR, "target_date": s.DATE,
               "start_date": s.nullable(s.DATE), "sport_type": s.nullable(s.STR),
               "race_distance_m": s.nullable(s.NUM), "created_at": s.nullable(s.STR)},
              ["goal_id", "title", "goal_type", "target_value", "target_date"])
_GOAL_ID = {"goal_id": {"type": "string", "minLength": 1}, "provider": s.PROVIDER_ARG}
_COMMON_OUT = {"notes": s.NOTES, "assumptions": s.ASSUMPTIONS, "data_used": s.DATA_USED}

SPECS = [
    ToolSpec(
        name="set_goal",
        title="Set a goal",
        description="Store a goal: distance (km), duration (hours), frequency (activities) "
                    "by a date, or a race_time (seconds) over race_distance_m.",
        input_schema=s.tool_input({
            "title": {"type": "string", "minLength": 1, "maxLength": 200},
            "goal_type": {"enum": list(GOAL_TYPES)},
            "target_value": {"type": "number", "exclusiveMinimum": 0,
                             "description": "km, hours, activities, or seconds (race_time)"},
            "target_date": {"type": "string", "format": "date"},
            "sport_type": s.SPORT_TYPE_ARG,
            "race_distance_m": {"type": "number", "minimum": 400, "maximum": 100000},
        }, ["title", "goal_type", "target_value", "target_date"]),
        output_schema=s.tool_output({"goal": _GOAL}, ["goal"]),
        handler=set_goal, family=FAMILY,
        annotations=ToolAnnotations(read_only=False, idempotent=False),
        examples=("Set a goal to run 200 km by the end of June",
                  "I want to run a half marathon in 1:45 in October"),
    ),
    ToolSpec(
        name="track_progress",
        title="Goal progress",
        description="Progress towards a goal: current value, percent done against the share of "
                    "time elapsed, and whether it is on track.",
        input_schema=s.tool_input(_GOAL_ID, ["goal_id"]),
        output_schema=s.tool_output({
            "goal": _GOAL, "current_value": s.NUM, "target_value": s.NUM, "unit": s.STR,
            "progress_pct": s.NUM, "time_elapsed_pct": s.NUM, "days_left": s.INT,
            "achieved": s.BOOL, "on_track": s.BOOL, **_COMMON_OUT,
        }, ["goal", "current_value", "progress_pct", "on_track", "assumptions", "data_used"]),
        handler=track_progress, family=FAMILY,
        examples=("How am I doing on my goal?", "Track my progress toward 200 km"),
    ),
    ToolSpec(
        name="suggest_goals",
        title="Suggest goals",
        description="Goal ideas from the last 12 weeks: a distance build of 10 %, a frequency "
                    "goal and a 10 km race time 2 VDOT faster.",
        input_schema=s.tool_input({"provider": s.PROVIDER_ARG}),
        output_schema=s.tool_output({
            "suggestions": s.arr(s.obj({"title": s.STR, "goal_type": s.STR,
                                        "target_value": s.NUM, "target_date": s.DATE,
                                        "rationale": s.STR},
                                       ["title", "goal_type", "target_value", "target_date",
                                        "rationale"])),
            **_COMMON_OUT,
        }, ["suggestions", "assumptions", "data_used"]),
        handler=suggest_goals, family=FAMILY,
        examples=("What goals should I set?", "Suggest a realistic target"),
    ),
    ToolSpec(
        name="analyze_goal_feasibility",
        title="Goal feasibility",
        description="Whether a goal is realistic: required weekly volume vs the last 4 weeks, "
                    "or the VDOT a race goal needs vs the current VDOT plus plausible gain.",
        input_schema=s.tool_input(_GOAL_ID, ["goal_id"]),
        output_schema=s.tool_output({
            "goal": _GOAL,
            "verdict": {"enum": ["achieved", "on_track", "achievable", "stretch", "unlikely"]},
            "feasible": s.BOOL, "required": s.NUM, "current": s.NUM, "unit": s.STR,
            "explanation": s.STR, "days_left": s.INT, **_COMMON_OUT,
        }, ["goal", "verdict", "feasible", "explanation", "assumptions", "data_used"]),
        handler=analyze_goal_feasibility, family=FAMILY,
        examples=("Can I reach my goal?", "Is a 1:45 half marathon realistic for me?"),
    ),
]
