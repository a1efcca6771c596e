"""Sleep and recovery: sleep quality against NSF guidance, readiness, rest-day advice.

Sleep and daily heart data only exist for providers that record them (Fitbit,
Garmin, the synthetic athlete); tools that merely *use* them (recovery score,
recommendations) fall back to training load and say so.
"""

from __future__ import annotations

import dataclasses
import statistics
from datetime import date, timedelta
from typing import Any

from pierre.errors import ProviderError
from pierre.models import DailyHeart, SleepSession
from pierre.science import InsufficientData
from pierre.science import fitness as fit
from pierre.tools import schemas as s
from pierre.tools.base import ToolContext, ToolSpec
from pierre.tools.common import Window, data_used, finish, int_arg, load_window
from pierre.tools.errors import InsufficientDataError
from pierre.tools.training_load import WARMUP_DAYS, load_state

FAMILY = "recovery"
BASELINE_DAYS = 28


async def sleep_sessions(cl: Any, start: date, end: date) -> list[SleepSession] | None:
    """Nights from `start` to `end`, oldest first; None when the provider has no sleep data."""
    try:
        nights = await cl.sleep(start, end)
    except (ProviderError, NotImplementedError, AttributeError) as exc:
        if isinstance(exc, ProviderError) and exc.status is not None:
            raise
        return None
    return sorted(nights, key=lambda n: n.date)


async def daily_heart(cl: Any, start: date, end: date) -> list[DailyHeart] | None:
    try:
        days = await cl.daily_heart(start, end)
    except (ProviderError, NotImplementedError, AttributeError) as exc:
        if isinstance(exc, ProviderError) and exc.status is not None:
            raise
        return None
    return sorted(days, key=lambda d: d.date)


def age_years(w: Window) -> float | None:
    return w.asm.age_years


def consecutive_days(w: Window) -> int:
    days = {a.start_utc.date() for a in w.items}
    n, day = 0, w.as_of
    while day in days:
        n += 1
        day -= timedelta(days=1)
    return n


async def readiness(cl: Any, w: Window) -> dict[str, Any]:
    """Everything the recovery tools share: TSB, ACWR, last night, daily heart vs baseline."""
    notes: list[str] = []
    tsb = acwr = None
    try:
        st = load_state(w)
        tsb = st["series"][-1].tsb
        acwr = st["acwr"]["ratio"] if st["acwr"] else None
    except InsufficientData as exc:
        notes.append(f"training load: {exc.message}")
    nights = await sleep_sessions(cl, w.as_of - timedelta(days=6), w.as_of)
    if nights is None:
        notes.append("sleep: this provider has no sleep data")
    hearts = await daily_heart(cl, w.as_of - timedelta(days=BASELINE_DAYS), w.as_of)
    if hearts is None:
        notes.append("resting HR/HRV: this provider has no daily heart data")
    last_night = nights[-1] if nights else None
    today = hearts[-1] if hearts and hearts[-1].date == w.as_of else None
    baseline = [h for h in hearts or [] if h.date < w.as_of]
    return {"tsb": tsb, "acwr": acwr, "nights": nights or [], "last_night": last_night,
            "today": today, "baseline": baseline, "notes": notes}


def _recovery(r: dict[str, Any], age: float | None) -> fit.RecoveryScore:
    return fit.recovery_score(sleep=r["last_night"], today=r["today"], baseline=r["baseline"],
                              tsb=r["tsb"], age_years=age)


async def analyze_sleep_quality(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    days = int_arg(args, "days", 7, 1, 90)
    cl, w = await load_window(ctx, args, days)
    nights = await sleep_sessions(cl, w.as_of - timedelta(days=days - 1), w.as_of)
    if nights is None:
        raise InsufficientDataError(
            f"{w.provider or 'this provider'} has no sleep data; connect a provider that "
            "records sleep (Fitbit, Garmin)"
        )
    if not nights:
        raise InsufficientDataError(f"no sleep recorded in the {days} days up to {w.as_of}")
    age = age_years(w)
    rated = []
    notes = list(w.notes)
    for n in nights:
        try:
            rated.append(fit.sleep_quality(n, age_years=age))
        except InsufficientData as exc:
            notes.append(exc.message)
    if not rated:
        raise InsufficientDataError("every recorded night has a duration of 0 s")
    lo, hi = fit.recommended_sleep_hours(age)
    asleep = [q.asleep_h for q in rated]
    effs = [q.efficiency_pct for q in rated if q.efficiency_pct is not None]
    return finish({
        "as_of": w.as_of,
        "nights": [dataclasses.asdict(q) for q in rated],
        "average": {
            "asleep_h": statistics.fmean(asleep),
            "efficiency_pct": statistics.fmean(effs) if effs else None,
            "score": statistics.fmean(q.score for q in rated),
            "asleep_h_stdev": statistics.pstdev(asleep),
        },
        "recommended_h": {"min": lo, "max": hi,
                          "source": "National Sleep Foundation (Hirshkowitz et al. 2015)"},
        "short_nights": sum(1 for q in rated if q.duration_rating == "short"),
        "notes": notes,
        "assumptions": w.asm.to_dict(),
        "data_used": data_used(w.provider, [], start=w.as_of - timedelta(days=days - 1),
                               end=w.as_of, sleep_nights=len(rated)),
    })


async def calculate_recovery_score(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    cl, w = await load_window(ctx, args, 28, history_days=WARMUP_DAYS)
    r = await readiness(cl, w)
    try:
        rec = _recovery(r, age_years(w))
    except InsufficientData as exc:
        raise InsufficientDataError(exc.message) from None
    level = "good" if rec.score >= 67 else "moderate" if rec.score >= 33 else "low"
    return finish({
        "as_of": w.as_of, "score": rec.score, "level": level, "components": rec.components,
        "reasons": rec.reasons, "notes": [*w.notes, *r["notes"]],
        "assumptions": w.asm.to_dict(),
        "data_used": data_used(w.provider, w.items, end=w.as_of,
                               sleep_nights=1 if r["last_night"] else 0),
    })


async def suggest_rest_day(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    cl, w = await load_window(ctx, args, 28, history_days=WARMUP_DAYS)
    if not w.items:
        raise InsufficientDataError("no activities in the last 28 days; there is no training "
                                    "to recover from")
    r = await readiness(cl, w)
    score = None
    try:
        score = _recovery(r, age_years(w)).score
    except InsufficientData as exc:
        r["notes"].append(f"recovery score: {exc.message}")
    streak = consecutive_days(w)
    advice = fit.suggest_rest_day(recovery=score, tsb=r["tsb"], acwr=r["acwr"],
                                  consecutive_training_days=streak)
    return finish({
        "as_of": w.as_of, "advice": advice.advice, "rest_recommended": advice.advice == "rest",
        "reasons": advice.reasons,
        "inputs": {"recovery_score": score, "tsb": r["tsb"], "acwr": r["acwr"],
                   "consecutive_training_days": streak},
        "notes": [*w.notes, *r["notes"]], "assumptions": w.asm.to_dict(),
        "data_used": data_used(w.provider, w.items, end=w.as_of,
                               sleep_nights=1 if r["last_night"] else 0),
    })


SPECS = [
    ToolSpec(
        name="analyze_sleep_quality",
        title="Sleep quality",
        description="Nightly sleep against the National Sleep Foundation ranges, efficiency "
                    "(good >= 85 %) and deep/REM shares, for providers that record sleep.",
        input_schema=s.tool_input({"provider": s.PROVIDER_ARG, "days": {
            "type": "integer", "minimum": 1, "maximum": 90, "default": 7}}),
        output_schema=s.tool_output({
            "as_of": s.DATE, "nights": s.arr(s.ANY_OBJ),
            "average": s.obj({"asleep_h": s.NUM, "efficiency_pct": s.nullable(s.NUM),
                              "score": s.NUM, "asleep_h_stdev": s.NUM},
                             ["asleep_h", "score"]),
            "recommended_h": s.ANY_OBJ, "short_nights": s.INT, "notes": s.NOTES,
            "assumptions": s.ASSUMPTIONS, "data_used": s.DATA_USED,
        }, ["as_of", "nights", "average", "assumptions", "data_used"]),
        handler=analyze_sleep_quality, family=FAMILY,
        examples=("How did I sleep this week?", "Is my sleep good enough for training?"),
    ),
    ToolSpec(
        name="calculate_recovery_score",
        title="Recovery score",
        description="0-100 readiness from last night's sleep, resting HR and HRV against a "
                    "28-day baseline, and training stress balance; what is missing is left out.",
        input_schema=s.tool_input({"provider": s.PROVIDER_ARG}),
        output_schema=s.tool_output({
            "as_of": s.DATE, "score": s.NUM, "level": {"enum": ["low", "moderate", "good"]},
            "components": s.ANY_OBJ, "reasons": s.arr(s.STR), "notes": s.NOTES,
            "assumptions": s.ASSUMPTIONS, "data_used": s.DATA_USED,
        }, ["as_of", "score", "level", "components", "assumptions", "data_used"]),
        handler=calculate_recovery_score, family=FAMILY,
        examples=("How recovered am I?", "What is my readiness today?"),
    ),
    ToolSpec(
        name="suggest_rest_day",
        title="Rest-day advice",
        description="Rest, easy or train today, from recovery score, TSB, acute:chronic "
                    "ratio and consecutive training days, with the reasons.",
        input_schema=s.tool_input({"provider": s.PROVIDER_ARG}),
        output_schema=s.tool_output({
            "as_of": s.DATE, "advice": {"enum": ["rest", "easy", "train"]},
            "rest_recommended": s.BOOL, "reasons": s.arr(s.STR), "inputs": s.ANY_OBJ,
            "notes": s.NOTES, "assumptions": s.ASSUMPTIONS, "data_used": s.DATA_USED,
        }, ["as_of", "advice", "reasons", "assumptions", "data_used"]),
        handler=suggest_rest_day, family=FAMILY,
        examples=("Should I take a rest day?", "Can I train hard today?"),
    ),
]
