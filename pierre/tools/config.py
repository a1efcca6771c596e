"""The user's physiological settings (namespace "fitness"), used before any estimate."""

from __future__ import annotations

import math
from typing import Any

from pierre.errors import InvalidArguments, PierreError
from pierre.tools import schemas as s
from pierre.tools.base import ToolAnnotations, ToolContext, ToolSpec
from pierre.tools.common import (
    FITNESS_NAMESPACE,
    _db,
    athlete_or_none,
    finish,
    fitness_settings,
    now_utc,
    resolve_assumptions,
)

FAMILY = "configuration"

# name -> (lowest, highest plausible value, description)
FIELDS: dict[str, tuple[float, float, str]] = {
    "max_hr_bpm": (100, 230, "Maximum heart rate, bpm"),
    "resting_hr_bpm": (25, 120, "Resting heart rate, bpm"),
    "threshold_hr_bpm": (80, 220, "Lactate-threshold heart rate, bpm"),
    "ftp_w": (30, 600, "Functional threshold power, W"),
    "threshold_pace_s_per_km": (120, 900, "Threshold run pace, seconds per km"),
    "weight_kg": (20, 300, "Body weight, kg"),
    "birth_year": (1900, 2100, "Year of birth (for age-based estimates)"),
}


def validate(args: dict[str, Any]) -> dict[str, Any]:
    """Checked updates; a null value clears the setting."""
    updates: dict[str, Any] = {}
    for name, (lo, hi, _) in FIELDS.items():
        if name not in args:
            continue
        v = args[name]
        if v is None:
            updates[name] = None
            continue
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise InvalidArguments(f"{name}: expected a number", field=name)
        if not lo <= v <= hi:
            raise InvalidArguments(f"{name}: {v} is outside the plausible range {lo:g}-{hi:g}",
                                   field=name)
        updates[name] = int(v) if name == "birth_year" else float(v)
    if "sex" in args:
        sex = args["sex"]
        if sex is not None and (not isinstance(sex, str) or sex.upper() not in ("M", "F")):
            raise InvalidArguments("sex: 'M' or 'F' (selects Banister's TRIMP weighting)",
                                   field="sex")
        updates["sex"] = sex.upper() if isinstance(sex, str) else None
    return updates


async def set_fitness_config(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    updates = validate(args)
    if not updates:
        raise InvalidArguments(f"give at least one of: {', '.join([*FIELDS, 'sex'])}")
    current = await fitness_settings(ctx)
    merged = {**current, **updates}
    rest, mx = merged.get("resting_hr_bpm"), merged.get("max_hr_bpm")
    if rest is not None and mx is not None and rest >= mx:
        raise InvalidArguments("resting_hr_bpm must be below max_hr_bpm", field="resting_hr_bpm")
    merged = {k: v for k, v in merged.items() if v is not None}
    await _db(ctx).set_user_settings(ctx.principal.tenant_id, ctx.principal.user_id,
                                     FITNESS_NAMESPACE, merged)
    return finish({"settings": merged, "updated": sorted(updates)})


async def get_fitness_config(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    settings = await fitness_settings(ctx)
    athlete = None
    notes: list[str] = []
    if ctx.services.providers is not None:
        try:
            cl = await ctx.services.providers.client(ctx.principal, args.get("provider"))
            athlete = await athlete_or_none(cl)
        except PierreError as exc:  # the settings are still worth returning
            notes.append(f"provider profile unavailable: {exc.message}")
    asm = resolve_assumptions(settings, athlete, [], now_utc().date())
    return finish({"settings": settings, "effective": asm.to_dict(), "notes": notes})


_SETTINGS = s.obj({**{k: s.NUM for k in FIELDS}, "sex": {"enum": ["M", "F"]}})

SPECS = [
    ToolSpec(
        name="set_fitness_config",
        title="Set fitness settings",
        description="Save the athlete's max/resting/threshold heart rate, FTP, threshold pace, "
                    "sex, weight and birth year; analyses use these before any estimate. "
                    "null clears a value.",
        input_schema=s.tool_input({
            **{k: {"type": ["number", "null"], "minimum": lo, "maximum": hi, "description": d}
               for k, (lo, hi, d) in FIELDS.items()},
            "sex": {"enum": ["M", "F", "m", "f", None]},
        }),
        output_schema=s.tool_output({"settings": _SETTINGS, "updated": s.arr(s.STR)},
                                    ["settings", "updated"]),
        handler=set_fitness_config, family=FAMILY,
        annotations=ToolAnnotations(read_only=False, idempotent=True),
        examples=("My max heart rate is 188", "Set my FTP to 250 W"),
    ),
    ToolSpec(
        name="get_fitness_config",
        title="Fitness settings",
        description="The saved fitness settings and the values analyses will actually use, "
                    "with their source (user setting, provider, estimate).",
        input_schema=s.tool_input({"provider": s.PROVIDER_ARG}),
        output_schema=s.tool_output({"settings": _SETTINGS, "effective": s.ASSUMPTIONS,
                                     "notes": s.NOTES}, ["settings", "effective"]),
        handler=get_fitness_config, family=FAMILY,
        examples=("What FTP are you using for me?", "Show my fitness settings"),
    ),
]
