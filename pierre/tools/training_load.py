"""Load over time: CTL/ATL/TSB series (Coggan's Performance Manager) and training patterns."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from pierre.science import InsufficientData
from pierre.science import fitness as fit
from pierre.science.load import acute_chronic_ratio, performance_series, ramp_rate
from pierre.tools import schemas as s
from pierre.tools.base import ToolContext, ToolSpec
from pierre.tools.common import (
    Window,
    daily_loads,
    data_used,
    finish,
    int_arg,
    load_window,
)
from pierre.tools.errors import InsufficientDataError

FAMILY = "training-load"
# CTL's 42-day time constant needs ~3 constants of history to forget its start value.
WARMUP_DAYS = 126


def load_state(w: Window) -> dict[str, Any]:
    """CTL/ATL/TSB series, ramp rate and ACWR over the window's history; raises when empty."""
    loads, counts = daily_loads(w.items, w.asm)
    if not loads:
        raise InsufficientDataError(
            f"none of the {len(w.items)} activities has heart rate or power to compute a "
            "training load; record with a heart-rate monitor or set ftp_w/max_hr_bpm"
            if w.items else "no activities in the requested period; nothing to compute a "
            "training load from"
        )
    first = min(w.items, key=lambda a: a.start_utc).start_utc.date()
    series = performance_series(loads, min(first, w.start), w.as_of)
    try:
        ramp: float | None = ramp_rate(series)
    except InsufficientData:
        ramp = None
    try:
        acwr = dataclasses.asdict(acute_chronic_ratio(loads, w.as_of))
    except InsufficientData:
        acwr = None
    return {"loads": loads, "counts": counts, "series": series, "ramp": ramp, "acwr": acwr}


async def analyze_training_load(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    days = int_arg(args, "days", 42, 7, 365)
    _, w = await load_window(ctx, args, days, history_days=WARMUP_DAYS,
                             sport_type=args.get("sport_type"))
    st = load_state(w)
    shown = [d for d in st["series"] if d.date >= w.start]
    last = st["series"][-1]
    tsb = last.tsb
    status = ("high fatigue" if tsb < -30 else "productive training" if tsb < -10
              else "neutral" if tsb <= 5 else "fresh" if tsb <= 25 else "detraining")
    notes = list(w.notes)
    if st["counts"]["no_load"]:
        notes.append(f"{st['counts']['no_load']} activities without heart rate or power "
                     "count as 0 load")
    if (w.as_of - min(a.start_utc.date() for a in w.items)).days < 42:
        notes.append("less than 42 days of history: CTL is still building up from 0")
    used = w.items
    return finish({
        "as_of": w.as_of,
        "current": {"ctl": last.ctl, "atl": last.atl, "tsb": tsb, "status": status},
        "ramp_rate_ctl_per_week": st["ramp"],
        "acwr": st["acwr"],
        "daily": [{"date": d.date, "load": d.load, "ctl": d.ctl, "atl": d.atl, "tsb": d.tsb}
                  for d in shown],
        "load_methods": st["counts"],
        "notes": notes,
        "assumptions": w.asm.to_dict(),
        "data_used": data_used(w.provider, used,
                               start=min(a.start_utc.date() for a in used), end=w.as_of),
    })


async def detect_patterns(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    weeks = int_arg(args, "weeks", 8, 1, 52)
    _, w = await load_window(ctx, args, weeks * 7, history_days=WARMUP_DAYS)
    loads, _ = daily_loads(w.items, w.asm)
    notes = list(w.notes)
    if not loads:
        notes.append("no heart rate or power: moving minutes are used as the daily load")
    try:
        p = fit.detect_patterns(w.items, w.as_of, weeks=weeks, loads=loads or None)
    except InsufficientData as exc:
        raise InsufficientDataError(exc.message) from None
    window_items = w.within(weeks * 7)
    return finish({
        "as_of": p.as_of, "weeks": p.weeks,
        "active_days_per_week": p.active_days_per_week,
        "load_by_weekday": p.load_by_weekday,
        "weekly_distance_m": p.weekly_distance_m,
        "long_run_share": p.long_run_share,
        "ramp_rate_ctl_per_week": p.ramp_rate,
        "acwr": p.acwr,
        "signals": [dataclasses.asdict(x) for x in p.signals],
        "load_basis": "training stress (TSS/hrTSS)" if loads else "moving minutes",
        "notes": notes,
        "assumptions": w.asm.to_dict(),
        "data_used": data_used(w.provider, window_items,
                               start=w.as_of - timedelta(days=weeks * 7 - 1), end=w.as_of),
    })


_DAY = s.obj({"date": s.DATE, "load": s.NUM, "ctl": s.NUM, "atl": s.NUM, "tsb": s.NUM},
             ["date", "load", "ctl", "atl", "tsb"])

SPECS = [
    ToolSpec(
        name="analyze_training_load",
        title="Training load (CTL/ATL/TSB)",
        description="Daily training stress with fitness (CTL, 42-day), fatigue (ATL, 7-day) "
                    "and form (TSB = CTL - ATL) by date, CTL ramp rate and the acute:chronic "
                    "workload ratio (Gabbett 2016).",
        input_schema=s.tool_input({
            "provider": s.PROVIDER_ARG, "sport_type": s.SPORT_TYPE_ARG,
            "days": {**s.DAYS_ARG, "minimum": 7, "maximum": 365, "default": 42},
        }),
        output_schema=s.tool_output({
            "as_of": s.DATE,
            "current": s.obj({"ctl": s.NUM, "atl": s.NUM, "tsb": s.NUM, "status": s.STR},
                             ["ctl", "atl", "tsb", "status"]),
            "ramp_rate_ctl_per_week": s.nullable(s.NUM),
            "acwr": s.nullable(s.obj({"date": s.DATE, "acute": s.NUM, "chronic": s.NUM,
                                      "ratio": s.NUM, "zone": s.STR})),
            "daily": s.arr(_DAY), "load_methods": s.ANY_OBJ, "notes": s.NOTES,
            "assumptions": s.ASSUMPTIONS, "data_used": s.DATA_USED,
        }, ["as_of", "current", "daily", "assumptions", "data_used"]),
        handler=analyze_training_load, family=FAMILY,
        examples=("What is my training load?", "Am I fresh or fatigued?",
                  "Show my CTL, ATL and TSB"),
    ),
    ToolSpec(
        name="detect_patterns",
        title="Training patterns",
        description="Consistency (active days per week), weekly structure, long-run share "
                    "and injury-risk signals (CTL ramp rate, acute:chronic ratio, 10 % rule).",
        input_schema=s.tool_input({
            "provider": s.PROVIDER_ARG,
            "weeks": {"type": "integer", "minimum": 1, "maximum": 52, "default": 8},
        }),
        output_schema=s.tool_output({
            "as_of": s.DATE, "weeks": s.INT, "active_days_per_week": s.NUM,
            "load_by_weekday": s.ANY_OBJ, "weekly_distance_m": s.arr(s.NUM),
            "long_run_share": s.nullable(s.NUM), "ramp_rate_ctl_per_week": s.nullable(s.NUM),
            "acwr": s.nullable(s.NUM), "signals": s.arr(s.obj({
                "code": s.STR, "message": s.STR, "metric": s.STR, "value": s.NUM,
                "threshold": s.NUM}, ["code", "message"])),
            "load_basis": s.STR, "notes": s.NOTES, "assumptions": s.ASSUMPTIONS,
            "data_used": s.DATA_USED,
        }, ["as_of", "active_days_per_week", "signals", "assumptions", "data_used"]),
        handler=detect_patterns, family=FAMILY,
        examples=("Do I have any injury risk?", "How consistent is my training?",
                  "Which days do I train most?"),
    ),
]
