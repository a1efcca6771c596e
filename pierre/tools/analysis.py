"""Per-activity tools: analysis from streams, readable intelligence, metrics, comparison.

Formulas live in `pierre.science` (TRIMP/hrTSS, NP/IF/TSS, EF, decoupling, VAM,
Karvonen zones); this module picks the assumptions and explains what it did.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from datetime import timedelta
from typing import Any

import orjson

from pierre.models import ActivityDetail, ActivitySummary
from pierre.plugins.provider import UserRef
from pierre.science import InsufficientData
from pierre.science import activity as act
from pierre.science import power as pw
from pierre.science import trimp as tr
from pierre.science.zones import karvonen_zones
from pierre.tools import schemas as s
from pierre.tools.base import ToolAnnotations, ToolContext, ToolSpec
from pierre.tools.common import (
    Assumptions,
    activities,
    can,
    client,
    context_assumptions,
    data_used,
    duration_s,
    finish,
    fitness_settings,
    provider_name,
    require_str,
)
from pierre.tools.errors import InsufficientDataError

FAMILY = "activity-analysis"
ESTIMATE_WINDOW_DAYS = 180


async def _load(ctx: ToolContext, args: dict[str, Any], *, streams: bool = True) -> tuple[
    Any, ActivityDetail, Assumptions
]:
    cl = await client(ctx, args)
    detail = await cl.activity(require_str(args, "activity_id"),
                               streams=streams and can(cl, "streams"), laps=can(cl, "laps"))
    history = await activities(cl, after=detail.start_utc - timedelta(days=ESTIMATE_WINDOW_DAYS),
                               before=detail.start_utc + timedelta(seconds=1), cap=400)
    asm = await context_assumptions(ctx, cl, history or [detail])
    return cl, detail, asm


def _check_duration(a: ActivitySummary) -> float:
    t = duration_s(a)
    streams = getattr(a, "streams", None)
    if t <= 0 and streams is not None and len(streams.time_s) > 1:
        t = float(streams.time_s[-1] - streams.time_s[0])
    if not (math.isfinite(t) and t > 0):
        raise InsufficientDataError(
            f"activity {a.provider_id} has a duration of 0 s; nothing can be analysed"
        )
    return t


def hr_zones(asm: Assumptions) -> list[tuple[float, float | None]] | None:
    rest, mx = asm.num("resting_hr_bpm"), asm.num("max_hr_bpm")
    if rest is None or mx is None:
        return None
    try:
        return [(z.min_bpm, z.max_bpm) for z in karvonen_zones(rest, mx)]
    except InsufficientData:
        return None


def _try(notes: list[str], label: str, fn: Any) -> Any:
    try:
        value = fn()
    except InsufficientData as exc:
        notes.append(f"{label}: {exc.message}")
        return None
    if isinstance(value, float) and not math.isfinite(value):
        notes.append(f"{label}: not computable from this data")
        return None
    return value


def activity_metrics(a: ActivityDetail, asm: Assumptions) -> tuple[dict[str, Any], list[str]]:
    """TRIMP, hrTSS, NP/IF/TSS/VI, pace, speed, VAM and EF for one activity, with notes."""
    notes = act.plausibility_flags(a)
    t = _check_duration(a)
    streams = a.streams
    rest, mx, lthr = (asm.num("resting_hr_bpm"), asm.num("max_hr_bpm"),
                      asm.num("threshold_hr_bpm"))
    ftp = asm.num("ftp_w")
    sex = asm.sex_code
    has_hr_stream = bool(streams and streams.heartrate_bpm
                         and any(h is not None for h in streams.heartrate_bpm))
    trimp = trimp_method = None
    if rest is None or mx is None:
        notes.append("TRIMP: max and resting heart rate are unknown; set max_hr_bpm")
    elif has_hr_stream and streams is not None:
        trimp = _try(notes, "TRIMP", lambda: tr.stream_trimp(
            streams.time_s, streams.heartrate_bpm or [], rest, mx, sex))
        trimp_method = "Banister, summed per sample"
    elif a.average_hr_bpm:
        trimp = _try(notes, "TRIMP", lambda: tr.banister_trimp(t, a.average_hr_bpm or 0.0,
                                                               rest, mx, sex))
        trimp_method = "Banister, from average HR"
    else:
        notes.append("TRIMP: this activity has no heart-rate data")
    hrtss = None
    if trimp is not None and lthr and rest and mx:
        hrtss = _try(notes, "hrTSS", lambda: tr.hr_tss(trimp, lthr, rest, mx, sex))
    np_w = None
    if streams is not None and streams.power_w is not None:
        np_w = _try(notes, "NP", lambda: pw.normalized_power(streams.time_s,
                                                             streams.power_w or []))
    elif a.weighted_average_power_w:
        np_w = a.weighted_average_power_w
        notes.append("NP: the provider's weighted average power is used (no power stream)")
    if_ = tss = vi = None
    if np_w is not None:
        if ftp:
            if_ = _try(notes, "IF", lambda: pw.intensity_factor(np_w, ftp))
            tss = _try(notes, "TSS", lambda: pw.training_stress_score(t, np_w, ftp))
        else:
            notes.append("IF/TSS: FTP is unknown; set ftp_w")
        if a.average_power_w:
            vi = _try(notes, "VI", lambda: pw.variability_index(np_w, a.average_power_w or 0.0))
    else:
        notes.append("power metrics: this activity has no power data")
    distance = a.distance_m if a.distance_m and math.isfinite(a.distance_m) else None
    speed = distance / t if distance else None
    pace = 1000.0 / speed if speed and speed > 0 else None
    if distance is None:
        notes.append("pace: no distance recorded (indoor activity or no GPS)")
    vam = ef = None
    if streams is not None:
        vam = _try(notes, "VAM", lambda: act.vam(a))
        ef = _try(notes, "efficiency factor", lambda: act.efficiency_factor(a))
    else:
        notes.append("VAM/EF: no streams for this activity")
    metrics = {
        "duration_s": t, "distance_m": distance, "average_speed_mps": speed,
        "average_pace_s_per_km": pace, "average_hr_bpm": a.average_hr_bpm,
        "trimp": trimp, "trimp_method": trimp_method, "hr_tss": hrtss,
        "normalized_power_w": np_w, "intensity_factor": if_, "tss": tss,
        "variability_index": vi, "vam_m_per_h": vam, "efficiency_factor": ef,
        "elevation_gain_m": a.elevation_gain_m,
    }
    return metrics, notes


def _hms(seconds: float) -> str:
    s_ = round(seconds)
    h, rem = divmod(s_, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


# -- result cache ---------------------------------------------------------------------------------


def _memoized(handler: Any) -> Any:
    """Cache a per-activity result (stream analysis costs tens of ms in pure Python).

    Keyed under the provider manager's per-user prefix, so a disconnect or import drops
    it, and by the user's fitness settings, so changing them recomputes. The TTL is the
    activity-list TTL: estimated assumptions depend on the recent activity list.
    """

    async def wrapper(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
        cache, providers = ctx.services.cache, ctx.services.providers
        if cache is None or providers is None or not hasattr(providers, "cache_prefix"):
            result: dict[str, Any] = await handler(ctx, args)
            return result
        cl = await client(ctx, args)
        settings = await fitness_settings(ctx)
        user = UserRef(ctx.principal.tenant_id, ctx.principal.user_id)
        key = (providers.cache_prefix(user, cl.provider) + "tool:" + handler.__name__ + ":"
               + hashlib.sha256(orjson.dumps([args, settings], option=orjson.OPT_SORT_KEYS))
               .hexdigest()[:32])
        hit = await cache.get(key)
        if hit is not None:
            cached: dict[str, Any] = orjson.loads(hit)
            return cached
        result = await handler(ctx, {**args, "provider": cl.provider})
        ttl = float(getattr(ctx.services.config.cache, "ttl_activity_list_s", 300))
        await cache.set(key, orjson.dumps(result), ttl)
        return result

    wrapper.__name__ = handler.__name__
    return wrapper


# -- handlers -----------------------------------------------------------------------------------


async def analyze_activity(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    cl, detail, asm = await _load(ctx, args)
    _check_duration(detail)
    split_m = float(args.get("split_m") or 1000.0)
    zones = hr_zones(asm)
    try:
        result = act.analyze_activity(detail, hr_zones=zones, split_m=split_m)
    except InsufficientData as exc:
        raise InsufficientDataError(exc.message) from None
    body = dataclasses.asdict(result)
    power_zones = None
    ftp = asm.num("ftp_w")
    if ftp and detail.streams is not None and detail.streams.power_w is not None:
        try:
            bounds = [(z.min_w, z.max_w) for z in pw.power_zones(ftp)]
            power_zones = dataclasses.asdict(act.time_in_zones(
                detail.streams.time_s, detail.streams.power_w, bounds))
        except InsufficientData as exc:
            body["notes"].append(f"power zones: {exc.message}")
    body["time_in_power_zones"] = power_zones
    provider = provider_name(cl, args)
    return finish({"activity_id": detail.provider_id, "sport_type": detail.sport_type,
                   **body, "assumptions": asm.to_dict(),
                   "data_used": data_used(provider, [detail])})


async def calculate_metrics(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    cl, detail, asm = await _load(ctx, args)
    metrics, notes = activity_metrics(detail, asm)
    return finish({"activity_id": detail.provider_id, "sport_type": detail.sport_type,
                   "metrics": metrics, "notes": notes, "assumptions": asm.to_dict(),
                   "data_used": data_used(provider_name(cl, args), [detail])})


async def get_activity_intelligence(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    cl, detail, asm = await _load(ctx, args)
    metrics, notes = activity_metrics(detail, asm)
    parts = [f"{detail.sport_type} '{detail.name}' on {detail.start_utc.date().isoformat()}:"]
    if metrics["distance_m"]:
        parts.append(f"{metrics['distance_m'] / 1000:.2f} km in {_hms(metrics['duration_s'])}")
        if metrics["average_pace_s_per_km"] and detail.sport_type in act.RUN_SPORTS:
            parts.append(f"({_hms(metrics['average_pace_s_per_km'])}/km)")
        elif metrics["average_speed_mps"]:
            parts.append(f"({metrics['average_speed_mps'] * 3.6:.1f} km/h)")
    else:
        parts.append(f"{_hms(metrics['duration_s'])} without distance")
    highlights: list[str] = []
    if detail.average_hr_bpm:
        highlights.append(f"average heart rate {detail.average_hr_bpm:.0f} bpm")
        zones = hr_zones(asm)
        if zones:
            for i, (lo, hi) in enumerate(zones, start=1):
                if detail.average_hr_bpm >= lo and (hi is None or detail.average_hr_bpm < hi):
                    highlights.append(f"mostly heart-rate zone {i} (Karvonen)")
                    break
    load = metrics["tss"] if metrics["tss"] is not None else metrics["hr_tss"]
    if load is not None:
        kind = "TSS" if metrics["tss"] is not None else "hrTSS"
        level = ("easy" if load < 50 else "moderate" if load < 100 else "hard"
                 if load < 200 else "very hard")
        highlights.append(f"{kind} {load:.0f} ({level})")
    if metrics["normalized_power_w"]:
        highlights.append(f"normalized power {metrics['normalized_power_w']:.0f} W")
    if detail.elevation_gain_m:
        highlights.append(f"{detail.elevation_gain_m:.0f} m climbed")
    if detail.streams is not None:
        try:
            dec = act.aerobic_decoupling(detail)
            verdict = "good aerobic endurance" if dec.decoupling_pct < 5 else "notable drift"
            highlights.append(f"aerobic decoupling {dec.decoupling_pct:.1f} % ({verdict})")
        except InsufficientData:
            pass
    weather = None
    providers = ctx.services.providers
    if detail.start_latlng and providers is not None and hasattr(providers, "weather"):
        try:
            raw = await providers.weather(detail.start_latlng[0], detail.start_latlng[1],
                                          detail.start_utc)
        except Exception as exc:  # weather is a nicety: never fail the tool for it
            notes.append(f"weather: unavailable ({type(exc).__name__})")
            raw = None
        if raw is not None:
            weather = raw if isinstance(raw, dict) else dataclasses.asdict(raw) \
                if dataclasses.is_dataclass(raw) and not isinstance(raw, type) else None
    elif not detail.start_latlng:
        notes.append("weather: no start position (indoor activity or no GPS)")
    if weather:
        temp = weather.get("temperature_c")
        if isinstance(temp, int | float):
            highlights.append(f"{temp:.0f} °C at the start")
    text = " ".join(parts) + (". " + "; ".join(highlights) + "." if highlights else ".")
    return finish({"activity_id": detail.provider_id, "summary": text, "highlights": highlights,
                   "metrics": metrics, "weather": weather, "notes": notes,
                   "assumptions": asm.to_dict(),
                   "data_used": data_used(provider_name(cl, args), [detail])})


def _pace(a: ActivitySummary) -> float | None:
    t = duration_s(a)
    return t / a.distance_m * 1000.0 if a.distance_m and t > 0 else None


def _compare_row(a: ActivitySummary) -> dict[str, Any]:
    t = duration_s(a)
    return {
        "activity_id": a.provider_id, "date": a.start_utc.date(), "name": a.name,
        "distance_m": a.distance_m, "duration_s": t, "pace_s_per_km": _pace(a),
        "average_hr_bpm": a.average_hr_bpm, "average_power_w": a.average_power_w,
        "elevation_gain_m": a.elevation_gain_m,
        "speed_per_hr_beat": (a.distance_m / t * 60.0 / a.average_hr_bpm
                              if a.distance_m and t > 0 and a.average_hr_bpm else None),
    }


def _mean(values: list[float | None]) -> float | None:
    xs = [v for v in values if v is not None and math.isfinite(v)]
    return math.fsum(xs) / len(xs) if xs else None


async def compare_activities(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    cl = await client(ctx, args)
    base_id = require_str(args, "activity_id")
    base = await cl.activity(base_id, streams=False, laps=False)
    _check_duration(base)
    other_id = args.get("compare_activity_id")
    if other_id:
        others = [await cl.activity(str(other_id), streams=False, laps=False)]
        mode = "activity"
    else:
        history = await activities(cl, after=base.start_utc - timedelta(days=365),
                                   before=base.start_utc + timedelta(days=365),
                                   sport_type=base.sport_type)
        lo, hi = ((base.distance_m or 0) * 0.8, (base.distance_m or 0) * 1.2)
        others = [a for a in history if a.provider_id != base.provider_id
                  and duration_s(a) > 0 and (
                      (base.distance_m and a.distance_m and lo <= a.distance_m <= hi)
                      or (not base.distance_m and not a.distance_m))][:20]
        mode = "similar_activities"
        if not others:
            raise InsufficientDataError(
                f"no other {base.sport_type} of similar distance (within 20 %) in the year "
                f"around activity {base.provider_id}; pass compare_activity_id to compare "
                "with a specific activity"
            )
    base_row = _compare_row(base)
    rows = [_compare_row(o) for o in others]
    keys = ("distance_m", "duration_s", "pace_s_per_km", "average_hr_bpm", "average_power_w",
            "elevation_gain_m", "speed_per_hr_beat")
    reference = {k: _mean([r[k] for r in rows]) for k in keys}
    diffs = {}
    for k in keys:
        b, r = base_row[k], reference[k]
        diffs[k] = None if b is None or r is None else b - r
    findings = []
    if diffs["pace_s_per_km"] is not None and base.sport_type in act.RUN_SPORTS:
        d = diffs["pace_s_per_km"]
        findings.append(f"pace {abs(d):.0f} s/km {'faster' if d < 0 else 'slower'} than "
                        f"{'the other activity' if mode == 'activity' else 'similar activities'}")
    if diffs["average_hr_bpm"] is not None:
        d = diffs["average_hr_bpm"]
        findings.append(f"average heart rate {abs(d):.0f} bpm {'lower' if d < 0 else 'higher'}")
    if diffs["speed_per_hr_beat"] is not None and reference["speed_per_hr_beat"]:
        pct = diffs["speed_per_hr_beat"] / reference["speed_per_hr_beat"] * 100
        findings.append(f"speed per heartbeat {pct:+.1f} % (aerobic efficiency)")
    used = [base, *others]
    return finish({"mode": mode, "activity": base_row, "compared_with": rows,
                   "reference": reference, "differences": diffs, "findings": findings,
                   "data_used": data_used(provider_name(cl, args), used)})


METRICS_SCHEMA = s.obj({
    k: s.nullable(s.NUM) for k in (
        "duration_s", "distance_m", "average_speed_mps", "average_pace_s_per_km",
        "average_hr_bpm", "trimp", "hr_tss", "normalized_power_w", "intensity_factor", "tss",
        "variability_index", "vam_m_per_h", "efficiency_factor", "elevation_gain_m")
} | {"trimp_method": s.nullable(s.STR)}, ["duration_s", "trimp", "hr_tss", "tss"])

_ACTIVITY_ARGS = {"activity_id": s.ACTIVITY_ID_ARG, "provider": s.PROVIDER_ARG}
_ZONE_TIME = s.nullable(s.obj({"zones": s.arr(s.ANY_OBJ), "unzoned_s": s.NUM},
                              ["zones", "unzoned_s"]))
_ROW = s.obj({"activity_id": s.STR, "date": s.DATE, "name": s.STR,
              **{k: s.nullable(s.NUM) for k in ("distance_m", "duration_s", "pace_s_per_km",
                                                "average_hr_bpm", "average_power_w",
                                                "elevation_gain_m", "speed_per_hr_beat")}},
             ["activity_id", "date"])

SPECS = [
    ToolSpec(
        name="analyze_activity",
        title="Analyze an activity",
        description="Splits, pace/HR/power distributions, time in Karvonen HR zones and "
                    "Coggan power zones, efficiency factor, aerobic decoupling (Friel) and VAM.",
        input_schema=s.tool_input({**_ACTIVITY_ARGS, "split_m": {
            "type": "number", "exclusiveMinimum": 0, "maximum": 100000, "default": 1000,
            "description": "Split length in metres (1609.344 for miles)."}}, ["activity_id"]),
        output_schema=s.tool_output({
            "activity_id": s.STR, "sport_type": s.STR, "duration_s": s.NUM,
            "distance_m": s.nullable(s.NUM), "splits": s.arr(s.ANY_OBJ),
            "pace_s_per_km": s.nullable(s.ANY_OBJ), "heart_rate_bpm": s.nullable(s.ANY_OBJ),
            "power_w": s.nullable(s.ANY_OBJ), "normalized_power_w": s.nullable(s.NUM),
            "time_in_hr_zones": _ZONE_TIME, "time_in_power_zones": _ZONE_TIME,
            "efficiency_factor": s.nullable(s.NUM), "decoupling": s.nullable(s.ANY_OBJ),
            "vam_m_per_h": s.nullable(s.NUM), "flags": s.arr(s.STR), "notes": s.NOTES,
            "assumptions": s.ASSUMPTIONS, "data_used": s.DATA_USED,
        }, ["activity_id", "duration_s", "splits", "notes", "assumptions", "data_used"]),
        handler=_memoized(analyze_activity), family=FAMILY,
        examples=("Analyze my last run", "How was my heart rate distributed in yesterday's ride?"),
    ),
    ToolSpec(
        name="get_activity_intelligence",
        title="Activity insights",
        description="A readable summary of one activity: distance, pace, effort (TSS), "
                    "heart-rate zone, decoupling and the weather at the start when available.",
        input_schema=s.tool_input(_ACTIVITY_ARGS, ["activity_id"]),
        output_schema=s.tool_output({
            "activity_id": s.STR, "summary": s.STR, "highlights": s.arr(s.STR),
            "metrics": METRICS_SCHEMA, "weather": s.nullable(s.ANY_OBJ), "notes": s.NOTES,
            "assumptions": s.ASSUMPTIONS, "data_used": s.DATA_USED,
        }, ["activity_id", "summary", "metrics", "assumptions", "data_used"]),
        handler=_memoized(get_activity_intelligence), family=FAMILY,
        annotations=ToolAnnotations(open_world=True),
        examples=("Tell me about my last workout", "How did this morning's run go?"),
    ),
    ToolSpec(
        name="calculate_metrics",
        title="Activity metrics",
        description="Banister TRIMP, hrTSS, Normalized Power, IF, TSS, VI, pace, speed, "
                    "VAM and efficiency factor for one activity.",
        input_schema=s.tool_input(_ACTIVITY_ARGS, ["activity_id"]),
        output_schema=s.tool_output({
            "activity_id": s.STR, "sport_type": s.STR, "metrics": METRICS_SCHEMA,
            "notes": s.NOTES, "assumptions": s.ASSUMPTIONS, "data_used": s.DATA_USED,
        }, ["activity_id", "metrics", "notes", "assumptions", "data_used"]),
        handler=_memoized(calculate_metrics), family=FAMILY,
        examples=("What was the TSS of my last ride?", "Calculate TRIMP for this activity"),
    ),
    ToolSpec(
        name="compare_activities",
        title="Compare activities",
        description="Compare an activity with another one, or with similar activities "
                    "(same sport, distance within 20 %) from the surrounding year.",
        input_schema=s.tool_input({**_ACTIVITY_ARGS, "compare_activity_id": s.ACTIVITY_ID_ARG},
                                  ["activity_id"]),
        output_schema=s.tool_output({
            "mode": {"enum": ["activity", "similar_activities"]}, "activity": _ROW,
            "compared_with": s.arr(_ROW), "reference": s.ANY_OBJ, "differences": s.ANY_OBJ,
            "findings": s.arr(s.STR), "data_used": s.DATA_USED,
        }, ["mode", "activity", "compared_with", "differences", "data_used"]),
        handler=compare_activities, family=FAMILY,
        examples=("Compare today's run with my usual 10k",
                  "Was this ride better than last week's?"),
    ),
]
