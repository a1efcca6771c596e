"""What every analysis tool needs: data fetching, assumptions with sources, safe output.

Handlers stay thin: fetch through the provider manager and the database here,
compute with `pierre.science`, and return `finish(...)`-checked dicts. Nothing
here imports a transport.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pierre.errors import InvalidArguments, ProviderError, ServiceUnavailable
from pierre.models import ActivityQuery, ActivitySummary, Athlete, to_builtins
from pierre.science import InsufficientData
from pierre.science import trimp as trimp_mod
from pierre.science import vdot as vdot_mod
from pierre.science.activity import RUN_SPORTS, plausibility_flags
from pierre.science.power import training_stress_score
from pierre.science.zones import max_hr_tanaka
from pierre.tools.base import ToolContext
from pierre.tools.errors import InsufficientDataError

FITNESS_NAMESPACE = "fitness"
PAGE = 200
MAX_ACTIVITIES = 3000
DEFAULT_RESTING_HR_BPM = 60.0
# Fraction of max HR taken as lactate-threshold HR when no better value is known
# (Friel: LTHR is typically ~89-92 % of max HR in trained endurance athletes).
LTHR_FRACTION_OF_MAX = 0.9
# FTP ~ 95 % of a maximal 20-minute effort (Allen & Coggan 2010); a ride's NP over
# >= 20 min is at most that effort, so this under-estimates, which is the safe side.
FTP_FRACTION_OF_20MIN = 0.95


def now_utc() -> datetime:
    return datetime.now(UTC)


# -- arguments ------------------------------------------------------------------------------


def parse_time(value: Any, field: str) -> datetime | None:
    """RFC 3339 date/date-time or Unix epoch seconds -> aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidArguments(f"{field}: expected a date or epoch seconds", field=field)
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):
            raise InvalidArguments(f"{field}: {value} is not a valid epoch time",
                                   field=field) from None
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidArguments(
                f"{field}: {value!r} is not an RFC 3339 date or date-time", field=field
            ) from None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    raise InvalidArguments(f"{field}: expected a date string or epoch seconds", field=field)


def parse_date(value: Any, field: str) -> date:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise InvalidArguments(f"{field}: expected a date like 2025-06-01", field=field)


def int_arg(args: dict[str, Any], name: str, default: int, lo: int, hi: int) -> int:
    value = args.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise InvalidArguments(f"{name}: expected an integer", field=name)
    if not lo <= int(value) <= hi:
        raise InvalidArguments(f"{name}: must be between {lo} and {hi}", field=name)
    return int(value)


def require_str(args: dict[str, Any], name: str) -> str:
    value = args.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidArguments(f"{name}: required", field=name)
    return value.strip()


# -- services -------------------------------------------------------------------------------


def _providers(ctx: ToolContext) -> Any:
    if ctx.services.providers is None:
        raise ServiceUnavailable("fitness providers are not available on this server")
    return ctx.services.providers


def _db(ctx: ToolContext) -> Any:
    if ctx.services.db is None:
        raise ServiceUnavailable("the database is not available on this server")
    return ctx.services.db


async def client(ctx: ToolContext, args: dict[str, Any]) -> Any:
    """The caller's ProviderClient for `args["provider"]` (or their default)."""
    return await _providers(ctx).client(ctx.principal, args.get("provider"))


def provider_name(cl: Any, args: dict[str, Any]) -> str | None:
    name = getattr(cl, "provider", None) or getattr(cl, "name", None) or args.get("provider")
    return name if isinstance(name, str) else None


async def fitness_settings(ctx: ToolContext) -> dict[str, Any]:
    db = ctx.services.db
    if db is None:
        return {}
    data = await db.get_user_settings(ctx.principal.tenant_id, ctx.principal.user_id,
                                      FITNESS_NAMESPACE)
    return dict(data or {})


def can(cl: Any, capability: str) -> bool:
    """Whether the client's provider offers `capability` (unknown: assume it does)."""
    caps = getattr(cl, "capabilities", None)
    return caps is None or capability in caps


async def athlete_or_none(cl: Any) -> Athlete | None:
    if not can(cl, "athlete"):
        return None
    try:
        athlete = await cl.athlete()
    except (NotImplementedError, InsufficientData):
        return None
    except ProviderError as exc:
        if exc.status is not None:
            raise
        return None
    return athlete if isinstance(athlete, Athlete) else None


async def activities(
    cl: Any, *, after: datetime | None = None, before: datetime | None = None,
    sport_type: str | None = None, cap: int = MAX_ACTIVITIES,
) -> list[ActivitySummary]:
    """Every activity in the window, newest first, paging through the provider."""
    out: list[ActivitySummary] = []
    offset = 0
    while len(out) < cap:
        page = await cl.activities(ActivityQuery(after=after, before=before, sport_type=sport_type,
                                                 limit=PAGE, offset=offset))
        if not page:
            break
        out.extend(page)
        offset += len(page)
        if len(page) < PAGE:
            break
    out.sort(key=lambda a: a.start_utc, reverse=True)
    return out[:cap]


async def recent_activities(
    cl: Any, days: int, sport_type: str | None = None, *, today: date | None = None
) -> list[ActivitySummary]:
    end = datetime.combine((today or now_utc().date()) + timedelta(days=1),
                           datetime.min.time(), UTC)
    return await activities(cl, after=end - timedelta(days=days + 1), before=end,
                            sport_type=sport_type)


def require_activities(items: list[ActivitySummary], what: str, minimum: int = 1) -> None:
    if len(items) < minimum:
        have = "no activities" if not items else f"only {len(items)} activit" + (
            "y" if len(items) == 1 else "ies")
        raise InsufficientDataError(
            f"{what} needs at least {minimum} activit{'y' if minimum == 1 else 'ies'}; "
            f"found {have} in the requested period. Widen the period or sync more data."
        )


def plausible(items: list[ActivitySummary]) -> tuple[list[ActivitySummary], list[str]]:
    """Drop activities with impossible values (1,000 km runs, 0 s), with a note for each."""
    kept: list[ActivitySummary] = []
    notes: list[str] = []
    for a in items:
        flags = plausibility_flags(a)
        duration = a.moving_time_s or a.elapsed_time_s or 0.0
        if not (math.isfinite(duration) and duration > 0):
            flags.append("duration is 0 s")
        if flags:
            notes.append(f"ignored activity {a.provider_id}: {'; '.join(flags)}")
        else:
            kept.append(a)
    return kept, notes


def duration_s(a: ActivitySummary) -> float:
    for v in (a.moving_time_s, a.elapsed_time_s):
        if v is not None and math.isfinite(v) and v > 0:
            return float(v)
    return 0.0


# -- assumptions -----------------------------------------------------------------------------


@dataclass(slots=True)
class Assumption:
    value: float | str | None
    unit: str
    source: str  # user_setting | provider | estimate | missing
    method: str | None = None

    def to_dict(self) -> dict[str, Any]:
        v = self.value
        if isinstance(v, float):
            v = round(v, 1)
        return {"value": v, "unit": self.unit, "source": self.source, "method": self.method}


@dataclass(slots=True)
class Assumptions:
    max_hr_bpm: Assumption
    resting_hr_bpm: Assumption
    threshold_hr_bpm: Assumption
    ftp_w: Assumption
    threshold_pace_s_per_km: Assumption
    sex: Assumption
    # From birth_year or the provider's birth date; used for NSF sleep ranges.
    age_years: float | None = None

    def num(self, name: str) -> float | None:
        v = getattr(self, name).value
        return float(v) if isinstance(v, int | float) else None

    @property
    def sex_code(self) -> str:
        return str(self.sex.value or "M")

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name).to_dict() for name in (
            "max_hr_bpm", "resting_hr_bpm", "threshold_hr_bpm", "ftp_w",
            "threshold_pace_s_per_km", "sex")}


def _setting(settings: dict[str, Any], key: str) -> float | None:
    v = settings.get(key)
    if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v > 0:
        return float(v)
    return None


def _best_run_vdot(items: list[ActivitySummary]) -> tuple[float, ActivitySummary] | None:
    best: tuple[float, ActivitySummary] | None = None
    for a in items:
        if a.sport_type not in RUN_SPORTS or a.sport_type in ("Walk", "Hike"):
            continue
        t = duration_s(a)
        if not a.distance_m or a.distance_m < 3000 or t < 600:
            continue
        try:
            v = vdot_mod.vdot(a.distance_m, t)
        except InsufficientData:
            continue
        if 20 <= v <= 90 and (best is None or v > best[0]):
            best = (v, a)
    return best


def resolve_assumptions(
    settings: dict[str, Any], athlete: Athlete | None, items: list[ActivitySummary],
    today: date | None = None,
) -> Assumptions:
    """Each value from the user's settings, else the provider, else a named estimate."""
    today = today or now_utc().date()
    # sex
    sex_setting = settings.get("sex")
    if isinstance(sex_setting, str) and sex_setting[:1].upper() in ("M", "F"):
        sex = Assumption(sex_setting[:1].upper(), "M|F", "user_setting")
    elif athlete is not None and athlete.sex and athlete.sex[:1].upper() in ("M", "F"):
        sex = Assumption(athlete.sex[:1].upper(), "M|F", "provider")
    else:
        sex = Assumption("M", "M|F", "estimate",
                         "not set: Banister's male weighting assumed; set sex to change")
    # max HR
    age: float | None = None
    birth_year = _setting(settings, "birth_year")
    if birth_year is not None:
        age = today.year - birth_year
    elif athlete is not None and athlete.birth_date is not None:
        age = (today - athlete.birth_date).days / 365.25
    observed = [a.max_hr_bpm for a in items if a.max_hr_bpm and 100 <= a.max_hr_bpm <= 230]
    if (v := _setting(settings, "max_hr_bpm")) is not None:
        max_hr = Assumption(v, "bpm", "user_setting")
    elif athlete is not None and athlete.max_hr_bpm:
        max_hr = Assumption(athlete.max_hr_bpm, "bpm", "provider")
    elif age is not None and 5 <= age <= 110:
        max_hr = Assumption(max_hr_tanaka(age), "bpm", "estimate",
                            f"Tanaka 208-0.7*age (age {age:.0f})")
    elif observed:
        max_hr = Assumption(max(observed), "bpm", "estimate",
                            f"max observed HR over {len(items)} activities")
    else:
        max_hr = Assumption(None, "bpm", "missing", "set max_hr_bpm or birth_year")
    # resting HR
    if (v := _setting(settings, "resting_hr_bpm")) is not None:
        rest = Assumption(v, "bpm", "user_setting")
    elif athlete is not None and athlete.resting_hr_bpm:
        rest = Assumption(athlete.resting_hr_bpm, "bpm", "provider")
    else:
        rest = Assumption(DEFAULT_RESTING_HR_BPM, "bpm", "estimate",
                          "adult population default 60 bpm")
    # threshold HR
    if (v := _setting(settings, "threshold_hr_bpm")) is not None:
        lthr = Assumption(v, "bpm", "user_setting")
    elif isinstance(max_hr.value, int | float):
        lthr = Assumption(LTHR_FRACTION_OF_MAX * max_hr.value, "bpm", "estimate",
                          "0.90 x max HR (Friel)")
    else:
        lthr = Assumption(None, "bpm", "missing", "set threshold_hr_bpm or max_hr_bpm")
    # FTP
    rides = [a.weighted_average_power_w for a in items
             if a.weighted_average_power_w and duration_s(a) >= 1200
             and a.sport_type not in RUN_SPORTS and 30 <= a.weighted_average_power_w <= 600]
    if (v := _setting(settings, "ftp_w")) is not None:
        ftp = Assumption(v, "W", "user_setting")
    elif athlete is not None and athlete.ftp_w:
        ftp = Assumption(athlete.ftp_w, "W", "provider")
    elif rides:
        ftp = Assumption(FTP_FRACTION_OF_20MIN * max(rides), "W", "estimate",
                         "0.95 x best weighted power of a ride of 20 min or more")
    else:
        ftp = Assumption(None, "W", "missing", "set ftp_w (no power data to estimate it)")
    # threshold pace
    if (v := _setting(settings, "threshold_pace_s_per_km")) is not None:
        pace = Assumption(v, "s/km", "user_setting")
    elif (best := _best_run_vdot(items)) is not None:
        pace = Assumption(vdot_mod.training_paces(best[0]).threshold_s_per_km, "s/km",
                          "estimate",
                          f"Daniels T pace from VDOT {best[0]:.1f} "
                          f"(activity {best[1].provider_id})")
    else:
        pace = Assumption(None, "s/km", "missing",
                          "set threshold_pace_s_per_km (no run of 3 km+ to estimate it)")
    return Assumptions(max_hr_bpm=max_hr, resting_hr_bpm=rest, threshold_hr_bpm=lthr,
                       ftp_w=ftp, threshold_pace_s_per_km=pace, sex=sex,
                       age_years=age if age is not None and 5 <= age <= 110 else None)


async def context_assumptions(
    ctx: ToolContext, cl: Any, items: list[ActivitySummary]
) -> Assumptions:
    settings = await fitness_settings(ctx)
    athlete = await athlete_or_none(cl)
    return resolve_assumptions(settings, athlete, items)


# -- per-activity load -------------------------------------------------------------------------


def activity_load(a: ActivitySummary, asm: Assumptions) -> tuple[float, str] | None:
    """Training stress of one activity: power TSS when possible, else hrTSS; None if neither."""
    t = duration_s(a)
    if t <= 0:
        return None
    ftp = asm.num("ftp_w")
    if a.weighted_average_power_w and ftp and a.sport_type not in RUN_SPORTS:
        try:
            return training_stress_score(t, a.weighted_average_power_w, ftp), "power_tss"
        except InsufficientData:
            pass
    hr, rest, mx = a.average_hr_bpm, asm.num("resting_hr_bpm"), asm.num("max_hr_bpm")
    lthr = asm.num("threshold_hr_bpm")
    if hr and rest and mx and lthr:
        try:
            trimp = trimp_mod.banister_trimp(t, hr, rest, mx, asm.sex_code)
            return trimp_mod.hr_tss(trimp, lthr, rest, mx, asm.sex_code), "hr_tss"
        except InsufficientData:
            return None
    return None


# -- output ------------------------------------------------------------------------------------


def data_used(
    provider: str | None, items: list[ActivitySummary], *, start: date | None = None,
    end: date | None = None, sleep_nights: int | None = None,
) -> dict[str, Any]:
    dates = [a.start_utc.date() for a in items]
    out: dict[str, Any] = {
        "provider": provider,
        "activity_count": len(items),
        "activity_ids": [a.provider_id for a in items],
        "start_date": (start or (min(dates) if dates else None)),
        "end_date": (end or (max(dates) if dates else None)),
    }
    out["start_date"] = out["start_date"].isoformat() if out["start_date"] else None
    out["end_date"] = out["end_date"].isoformat() if out["end_date"] else None
    if sleep_nights is not None:
        out["sleep_nights"] = sleep_nights
    return out


def summary(a: ActivitySummary) -> dict[str, Any]:
    d = to_builtins(a)
    assert isinstance(d, dict)
    return d


class _NonFinite(Exception):
    """Raised through `_clean`; each enclosing dict adds its key so the path is built only
    on this rare path (building it for every value cost more than the rounding)."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: list[str] = []


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _NonFinite()
        return round(value, 3)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            try:
                out[k] = _clean(v)
            except _NonFinite as exc:
                exc.keys.append(str(k))
                raise
        return out
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def finish(result: dict[str, Any]) -> dict[str, Any]:
    """Round floats, turn dates into strings, and refuse NaN/infinity with a clear error."""
    try:
        out = _clean(result)
    except _NonFinite as exc:
        path = ".".join(reversed(exc.keys))
        raise InsufficientDataError(
            f"{path or 'a value'} could not be computed from this data") from None
    assert isinstance(out, dict)
    return out


# -- analysis windows --------------------------------------------------------------------------


@dataclass(slots=True)
class Window:
    """Activities for an analysis ending on `as_of`, with the assumptions resolved on them."""

    provider: str | None
    as_of: date
    start: date
    items: list[ActivitySummary]
    asm: Assumptions
    notes: list[str]

    def within(self, days: int) -> list[ActivitySummary]:
        since = self.as_of - timedelta(days=days - 1)
        return [a for a in self.items if since <= a.start_utc.date() <= self.as_of]


async def load_window(
    ctx: ToolContext, args: dict[str, Any], days: int, *, history_days: int = 0,
    sport_type: str | None = None,
) -> tuple[Any, Window]:
    """Fetch `days` (+ `history_days` of warm-up) up to today.

    When the user has nothing in that period but older activities exist (an
    imported archive), the window moves to end on the latest activity, with a note.
    """
    cl = await client(ctx, args)
    today = now_utc().date()
    span = days + history_days
    raw = await recent_activities(cl, span, sport_type, today=today)
    notes: list[str] = []
    as_of = today
    if not [a for a in raw if a.start_utc.date() > today - timedelta(days=days)]:
        latest = await cl.activities(ActivityQuery(limit=1, sport_type=sport_type))
        if latest:
            as_of = max(a.start_utc.date() for a in latest)
            if as_of < today - timedelta(days=days):
                notes.append(f"no activities in the last {days} days; the analysis ends on "
                             f"the latest activity, {as_of.isoformat()}")
                raw = await recent_activities(cl, span, sport_type, today=as_of)
            else:
                as_of = today
    items, dropped = plausible([a for a in raw if a.start_utc.date() <= as_of])
    notes.extend(dropped)
    asm = await context_assumptions(ctx, cl, items)
    return cl, Window(provider=provider_name(cl, args), as_of=as_of,
                      start=as_of - timedelta(days=days - 1), items=items, asm=asm, notes=notes)


def daily_loads(
    items: list[ActivitySummary], asm: Assumptions
) -> tuple[dict[date, float], dict[str, int]]:
    """Daily training stress (TSS or hrTSS) and how many activities used each method."""
    loads: dict[date, float] = {}
    counts = {"power_tss": 0, "hr_tss": 0, "no_load": 0}
    for a in items:
        result = activity_load(a, asm)
        if result is None:
            counts["no_load"] += 1
            continue
        value, method = result
        counts[method] += 1
        day = a.start_utc.date()
        loads[day] = loads.get(day, 0.0) + value
    return loads, counts
