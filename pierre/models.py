"""Normalized, unit-explicit fitness models shared by every provider.

Units are in the field names (``_m``, ``_s``, ``_mps``, ``_bpm``, ``_w``) so a
tool author never guesses. Every model keeps the provider's raw id so results
can be traced back to the source record. msgspec Structs: cheap to build in the
thousands (a year of activities) and to turn into JSON.
"""

from __future__ import annotations

from datetime import date, datetime

import msgspec


class Athlete(msgspec.Struct, kw_only=True):
    provider: str
    provider_id: str
    firstname: str | None = None
    lastname: str | None = None
    sex: str | None = None  # "M" | "F" | None
    weight_kg: float | None = None
    city: str | None = None
    country: str | None = None
    birth_date: date | None = None
    ftp_w: float | None = None
    max_hr_bpm: float | None = None
    resting_hr_bpm: float | None = None


class ActivitySummary(msgspec.Struct, kw_only=True):
    provider: str
    provider_id: str
    name: str
    sport_type: str  # normalized: Run, Ride, Swim, Walk, Hike, VirtualRide, ...
    start_utc: datetime  # timezone-aware, UTC
    start_local: datetime | None = None  # naive local wall-clock time
    utc_offset_s: int | None = None
    distance_m: float | None = None
    moving_time_s: float | None = None
    elapsed_time_s: float | None = None
    elevation_gain_m: float | None = None
    average_speed_mps: float | None = None
    max_speed_mps: float | None = None
    average_hr_bpm: float | None = None
    max_hr_bpm: float | None = None
    average_cadence_rpm: float | None = None
    average_power_w: float | None = None
    weighted_average_power_w: float | None = None
    max_power_w: float | None = None
    calories_kcal: float | None = None
    device: str | None = None
    gear_id: str | None = None
    trainer: bool = False
    manual: bool = False
    start_latlng: tuple[float, float] | None = None


class Lap(msgspec.Struct, kw_only=True):
    index: int
    start_utc: datetime | None = None
    distance_m: float | None = None
    elapsed_time_s: float | None = None
    moving_time_s: float | None = None
    average_speed_mps: float | None = None
    average_hr_bpm: float | None = None
    max_hr_bpm: float | None = None
    average_power_w: float | None = None
    elevation_gain_m: float | None = None


class Streams(msgspec.Struct, kw_only=True):
    """Equal-length sample series; a missing series is None, a gap is None inside a list."""

    time_s: list[float]
    distance_m: list[float | None] | None = None
    latlng: list[tuple[float, float] | None] | None = None
    altitude_m: list[float | None] | None = None
    heartrate_bpm: list[float | None] | None = None
    cadence_rpm: list[float | None] | None = None
    power_w: list[float | None] | None = None
    velocity_mps: list[float | None] | None = None
    temperature_c: list[float | None] | None = None


class ActivityDetail(ActivitySummary, kw_only=True):
    description: str | None = None
    laps: list[Lap] = msgspec.field(default_factory=list)
    streams: Streams | None = None


class Totals(msgspec.Struct, kw_only=True):
    count: int = 0
    distance_m: float = 0.0
    moving_time_s: float = 0.0
    elapsed_time_s: float = 0.0
    elevation_gain_m: float = 0.0


class Stats(msgspec.Struct, kw_only=True):
    provider: str
    recent_run: Totals = msgspec.field(default_factory=Totals)
    recent_ride: Totals = msgspec.field(default_factory=Totals)
    recent_swim: Totals = msgspec.field(default_factory=Totals)
    ytd_run: Totals = msgspec.field(default_factory=Totals)
    ytd_ride: Totals = msgspec.field(default_factory=Totals)
    ytd_swim: Totals = msgspec.field(default_factory=Totals)
    all_run: Totals = msgspec.field(default_factory=Totals)
    all_ride: Totals = msgspec.field(default_factory=Totals)
    all_swim: Totals = msgspec.field(default_factory=Totals)
    biggest_ride_distance_m: float | None = None
    biggest_climb_elevation_gain_m: float | None = None


class Zone(msgspec.Struct, kw_only=True):
    min: float
    max: float | None  # None = open-ended top zone


class Zones(msgspec.Struct, kw_only=True):
    provider: str
    heart_rate_bpm: list[Zone] | None = None
    power_w: list[Zone] | None = None
    custom: bool = False


class SleepStage(msgspec.Struct, kw_only=True):
    start_utc: datetime
    duration_s: float
    stage: str  # "awake" | "light" | "deep" | "rem" | "asleep" | "restless"


class SleepSession(msgspec.Struct, kw_only=True):
    provider: str
    provider_id: str
    date: date  # the night's calendar date (wake-up day)
    start_utc: datetime
    end_utc: datetime
    duration_s: float
    asleep_s: float | None = None
    awake_s: float | None = None
    deep_s: float | None = None
    light_s: float | None = None
    rem_s: float | None = None
    efficiency_pct: float | None = None
    score: float | None = None
    stages: list[SleepStage] = msgspec.field(default_factory=list)


class DailyHeart(msgspec.Struct, kw_only=True):
    provider: str
    date: date
    resting_hr_bpm: float | None = None
    hrv_rmssd_ms: float | None = None


class ActivityQuery(msgspec.Struct, kw_only=True, frozen=True):
    """Filters a provider applies over the whole history (not only the newest page)."""

    before: datetime | None = None
    after: datetime | None = None
    limit: int = 30
    offset: int = 0
    sport_type: str | None = None


def to_builtins(obj: object) -> object:
    """JSON-ready dicts/lists (datetimes as RFC 3339 strings)."""
    return msgspec.to_builtins(obj)
