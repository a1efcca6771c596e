"""Garmin's camelCase summaries into Pierre's normalized models. Pure, no I/O.

Field names follow the Health / Activity API push and ping payloads. Run cadence
arrives in steps per minute and is halved to revolutions (strides) per minute,
the unit Strava and the FIT files use, so the same run compares across sources.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from pierre.models import ActivityDetail, DailyHeart, SleepSession, SleepStage, Streams

SPORTS = {
    "RUNNING": "Run", "STREET_RUNNING": "Run", "TRACK_RUNNING": "Run",
    "TREADMILL_RUNNING": "Run", "INDOOR_RUNNING": "Run", "TRAIL_RUNNING": "TrailRun",
    "VIRTUAL_RUN": "VirtualRun", "CYCLING": "Ride", "ROAD_BIKING": "Ride",
    "MOUNTAIN_BIKING": "MountainBikeRide", "GRAVEL_CYCLING": "GravelRide",
    "INDOOR_CYCLING": "VirtualRide", "VIRTUAL_RIDE": "VirtualRide", "E_BIKE_FITNESS": "EBikeRide",
    "LAP_SWIMMING": "Swim", "OPEN_WATER_SWIMMING": "OpenWaterSwim", "WALKING": "Walk",
    "HIKING": "Hike", "STRENGTH_TRAINING": "WeightTraining", "YOGA": "Yoga",
    "ROWING": "Rowing", "INDOOR_ROWING": "Rowing", "CROSS_COUNTRY_SKIING_WS": "NordicSki",
}
INDOOR = {"TREADMILL_RUNNING", "INDOOR_RUNNING", "INDOOR_CYCLING", "VIRTUAL_RIDE",
          "VIRTUAL_RUN", "INDOOR_ROWING"}
RUNS = {"Run", "TrailRun", "VirtualRun"}


def num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def sport(activity_type: Any) -> str:
    t = str(activity_type or "").upper()
    if t in SPORTS:
        return SPORTS[t]
    return "".join(w.capitalize() for w in t.split("_")) or "Workout"


def activity_id(a: dict[str, Any]) -> str:
    """activityId links a summary and its details; summaryId is the fallback."""
    raw = a.get("activityId") or a.get("summaryId")
    if raw is None:
        raise ValueError("Garmin activity without activityId or summaryId")
    return str(raw).removesuffix("-detail")


def _start(a: dict[str, Any]) -> tuple[datetime, datetime | None, int | None]:
    start = datetime.fromtimestamp(int(a["startTimeInSeconds"]), UTC)
    off = a.get("startTimeOffsetInSeconds")
    if off is None:
        return start, None, None
    local = (start + timedelta(seconds=int(off))).replace(tzinfo=None)
    return start, local, int(off)


def activity(a: dict[str, Any], provider: str = "garmin") -> ActivityDetail:
    """An activity summary (or the `summary` block of activityDetails)."""
    start, local, off = _start(a)
    kind = sport(a.get("activityType"))
    duration = num(a.get("durationInSeconds"))
    moving = num(a.get("movingDurationInSeconds")) or duration
    cadence = num(a.get("averageBikeCadenceInRoundsPerMinute"))
    spm = num(a.get("averageRunCadenceInStepsPerMinute"))
    if cadence is None and spm is not None:
        cadence = spm / 2 if kind in RUNS else spm
    lat, lon = num(a.get("startingLatitudeInDegree")), num(a.get("startingLongitudeInDegree"))
    return ActivityDetail(
        provider=provider, provider_id=activity_id(a),
        name=str(a.get("activityName") or kind), sport_type=kind, start_utc=start,
        start_local=local, utc_offset_s=off, distance_m=num(a.get("distanceInMeters")),
        moving_time_s=moving, elapsed_time_s=duration,
        elevation_gain_m=num(a.get("totalElevationGainInMeters")),
        average_speed_mps=num(a.get("averageSpeedInMetersPerSecond")),
        max_speed_mps=num(a.get("maxSpeedInMetersPerSecond")),
        average_hr_bpm=num(a.get("averageHeartRateInBeatsPerMinute")),
        max_hr_bpm=num(a.get("maxHeartRateInBeatsPerMinute")),
        average_cadence_rpm=cadence, average_power_w=num(a.get("averagePowerInWatts")),
        max_power_w=num(a.get("maxPowerInWatts")),
        calories_kcal=num(a.get("activeKilocalories")), device=a.get("deviceName"),
        trainer=str(a.get("activityType") or "").upper() in INDOOR,
        manual=bool(a.get("manual")),
        start_latlng=(lat, lon) if lat is not None and lon is not None else None,
    )


def streams(samples: list[dict[str, Any]], start_s: int, sport_type: str) -> Streams | None:
    """activityDetails samples (one per second or so) as aligned streams."""
    rows = [s for s in samples if isinstance(s, dict) and s.get("startTimeInSeconds") is not None]
    if not rows:
        return None
    rows.sort(key=lambda s: int(s["startTimeInSeconds"]))

    def col(key: str, scale: float = 1.0) -> list[float | None] | None:
        vals = [num(s.get(key)) for s in rows]
        if all(v is None for v in vals):
            return None
        return [v * scale if v is not None else None for v in vals]

    lats, lons = col("latitudeInDegree"), col("longitudeInDegree")
    latlng = None
    if lats is not None and lons is not None:
        latlng = [(la, lo) if la is not None and lo is not None else None
                  for la, lo in zip(lats, lons, strict=True)]
    cadence = col("bikeCadenceInRPM")
    if cadence is None:
        cadence = col("stepsPerMinute", 0.5 if sport_type in RUNS else 1.0)
    return Streams(
        time_s=[float(int(s["startTimeInSeconds"]) - start_s) for s in rows],
        distance_m=col("totalDistanceInMeters"), latlng=latlng,
        altitude_m=col("elevationInMeters"), heartrate_bpm=col("heartRate"),
        cadence_rpm=cadence, power_w=col("powerInWatts"),
        velocity_mps=col("speedMetersPerSecond"), temperature_c=col("airTemperatureCelcius"))


def activity_details(d: dict[str, Any], provider: str = "garmin") -> ActivityDetail:
    """An activityDetails item: {summaryId, activityId, summary{...}, samples[...]}."""
    summary = dict(d.get("summary") or {})
    summary.setdefault("activityId", d.get("activityId"))
    summary.setdefault("summaryId", d.get("summaryId"))
    act = activity(summary, provider)
    act.streams = streams(list(d.get("samples") or []), int(summary["startTimeInSeconds"]),
                          act.sport_type)
    return act


def _day(v: Any) -> date:
    return date.fromisoformat(str(v))


_LEVELS = {"deep": "deep", "light": "light", "rem": "rem", "awake": "awake"}


def sleep(s: dict[str, Any], provider: str = "garmin") -> SleepSession:
    start = datetime.fromtimestamp(int(s["startTimeInSeconds"]), UTC)
    duration = float(s.get("durationInSeconds") or 0)
    deep = num(s.get("deepSleepDurationInSeconds"))
    light = num(s.get("lightSleepDurationInSeconds"))
    rem, awake = num(s.get("remSleepInSeconds")), num(s.get("awakeDurationInSeconds"))
    asleep = sum(x or 0.0 for x in (deep, light, rem)) or None
    stages: list[SleepStage] = []
    for level, spans in (s.get("sleepLevelsMap") or {}).items():
        stage = _LEVELS.get(str(level).lower())
        if stage is None or not isinstance(spans, list):
            continue
        for span in spans:
            a, b = span.get("startTimeInSeconds"), span.get("endTimeInSeconds")
            if a is not None and b is not None:
                stages.append(SleepStage(start_utc=datetime.fromtimestamp(int(a), UTC),
                                         duration_s=float(int(b) - int(a)), stage=stage))
    stages.sort(key=lambda x: x.start_utc)
    score = (s.get("overallSleepScore") or {}).get("value") \
        if isinstance(s.get("overallSleepScore"), dict) else None
    return SleepSession(
        provider=provider, provider_id=str(s.get("summaryId") or s["startTimeInSeconds"]),
        date=_day(s["calendarDate"]), start_utc=start,
        end_utc=start + timedelta(seconds=duration), duration_s=duration, asleep_s=asleep,
        awake_s=awake, deep_s=deep, light_s=light, rem_s=rem,
        efficiency_pct=round(100 * asleep / duration, 1) if asleep and duration else None,
        score=num(score), stages=stages)


def resting_hr(d: dict[str, Any]) -> tuple[date, float | None]:
    """A dailies summary: (calendar day, resting heart rate)."""
    return _day(d["calendarDate"]), num(d.get("restingHeartRateInBeatsPerMinute"))


def hrv(h: dict[str, Any]) -> tuple[date, float | None]:
    """An hrv summary: (calendar day, last night's average RMSSD in ms)."""
    return _day(h["calendarDate"]), num(h.get("lastNightAvg"))


def merge_daily(provider: str, heart: list[dict[str, Any]], hrvs: list[dict[str, Any]]
                ) -> list[DailyHeart]:
    """Stored per-day records of both kinds as DailyHeart, oldest first."""
    days: dict[date, DailyHeart] = {}
    for rec in heart:
        d = _day(rec["date"])
        days.setdefault(d, DailyHeart(provider=provider, date=d)).resting_hr_bpm = num(
            rec.get("resting_hr_bpm"))
    for rec in hrvs:
        d = _day(rec["date"])
        days.setdefault(d, DailyHeart(provider=provider, date=d)).hrv_rmssd_ms = num(
            rec.get("hrv_rmssd_ms"))
    return [days[d] for d in sorted(days)]


def backfill_windows(start: int, end: int, max_days: int) -> list[tuple[int, int]]:
    """Split [start, end) epoch seconds into Garmin-sized backfill requests, oldest first."""
    step = max_days * 86_400
    out = []
    t = start
    while t < end:
        out.append((t, min(end, t + step)))
        t += step
    return out
