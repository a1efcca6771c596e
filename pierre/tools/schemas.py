"""JSON Schema (2020-12) fragments shared by the tools' input and output schemas.

Every analysis result carries the same `assumptions` and `data_used` blocks so a
client can always see which activities, dates and physiological values an
answer rests on.
"""

from __future__ import annotations

from typing import Any

DIALECT = "https://json-schema.org/draft/2020-12/schema"

NUM: dict[str, Any] = {"type": "number"}
INT: dict[str, Any] = {"type": "integer"}
STR: dict[str, Any] = {"type": "string"}
BOOL: dict[str, Any] = {"type": "boolean"}
DATE: dict[str, Any] = {"type": "string", "format": "date"}
DATETIME: dict[str, Any] = {"type": "string", "format": "date-time"}
ANY_OBJ: dict[str, Any] = {"type": "object"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` or null (JSON Schema 2020-12 style: a type list)."""
    out = dict(schema)
    t = out.get("type")
    if isinstance(t, str):
        out["type"] = [t, "null"]
    elif isinstance(t, list) and "null" not in t:
        out["type"] = [*t, "null"]
    elif t is None:
        return {"anyOf": [schema, {"type": "null"}]}
    return out


def num(description: str, **kw: Any) -> dict[str, Any]:
    return {"type": "number", "description": description, **kw}


def arr(items: dict[str, Any], description: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "array", "items": items}
    if description:
        out["description"] = description
    return out


def obj(
    properties: dict[str, Any], required: list[str] | tuple[str, ...] = (), *,
    description: str | None = None, closed: bool = False,
) -> dict[str, Any]:
    """An object schema; `closed` forbids unknown keys (used for tool inputs)."""
    out: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        out["required"] = list(required)
    if closed:
        out["additionalProperties"] = False
    if description:
        out["description"] = description
    return out


def tool_input(properties: dict[str, Any], required: list[str] | tuple[str, ...] = ()) -> (
    dict[str, Any]
):
    return obj(properties, required, closed=True)


def tool_output(properties: dict[str, Any], required: list[str] | tuple[str, ...] = ()) -> (
    dict[str, Any]
):
    out = obj(properties, required)
    out["$schema"] = DIALECT
    return out


# -- common arguments (names follow the Rust Pierre's) ---------------------------------

PROVIDER_ARG: dict[str, Any] = {
    "type": "string",
    "description": "Provider to read from (strava, fitbit, garmin, localfiles, synthetic); "
                   "default: the user's default connected provider.",
}
ACTIVITY_ID_ARG: dict[str, Any] = {"type": "string", "minLength": 1,
                                   "description": "The provider's activity id."}
SPORT_TYPE_ARG: dict[str, Any] = {"type": "string",
                                  "description": "Only this sport (Run, Ride, Swim, ...)."}
DAYS_ARG: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": 730,
                            "description": "How many days back from today to analyse."}
BEFORE_ARG: dict[str, Any] = {
    "type": ["string", "integer"],
    "description": "Only activities before this time: RFC 3339 date/time or Unix epoch seconds.",
}
AFTER_ARG: dict[str, Any] = {
    "type": ["string", "integer"],
    "description": "Only activities after this time: RFC 3339 date/time or Unix epoch seconds.",
}

# -- common output blocks ----------------------------------------------------------------

SOURCES = ["user_setting", "provider", "estimate", "missing"]

ASSUMPTION: dict[str, Any] = obj(
    {
        "value": {"type": ["number", "string", "null"]},
        "unit": STR,
        "source": {"enum": SOURCES},
        "method": nullable(STR),
    },
    ["value", "unit", "source", "method"],
    description="A physiological value the analysis assumed, and where it came from.",
)

ASSUMPTIONS: dict[str, Any] = obj(
    {k: ASSUMPTION for k in ("max_hr_bpm", "resting_hr_bpm", "threshold_hr_bpm", "ftp_w",
                             "threshold_pace_s_per_km", "sex")},
    description="Values the analysis took, with their source (user setting, provider, "
                "estimate with its method, or missing). Set them with set_fitness_config.",
)

DATA_USED: dict[str, Any] = obj(
    {
        "provider": nullable(STR),
        "activity_count": INT,
        "activity_ids": arr(STR, "Activities the result is computed from (newest first)."),
        "start_date": nullable(DATE),
        "end_date": nullable(DATE),
        "sleep_nights": INT,
    },
    ["provider", "activity_count", "activity_ids", "start_date", "end_date"],
    description="Which activities and dates the result is computed from.",
)

ACTIVITY_SUMMARY: dict[str, Any] = obj(
    {
        "provider": STR,
        "provider_id": STR,
        "name": STR,
        "sport_type": STR,
        "start_utc": DATETIME,
        "distance_m": nullable(NUM),
        "moving_time_s": nullable(NUM),
        "elapsed_time_s": nullable(NUM),
        "elevation_gain_m": nullable(NUM),
        "average_speed_mps": nullable(NUM),
        "average_hr_bpm": nullable(NUM),
        "max_hr_bpm": nullable(NUM),
        "average_power_w": nullable(NUM),
        "weighted_average_power_w": nullable(NUM),
        "trainer": BOOL,
    },
    ["provider", "provider_id", "name", "sport_type", "start_utc"],
)

TREND: dict[str, Any] = obj(
    {
        "slope_per_day": NUM, "intercept": NUM, "r_squared": NUM, "p_value": NUM,
        "significant": BOOL, "n": INT, "direction": {"enum": ["improving", "declining",
                                                               "stable"]},
    },
    ["slope_per_day", "r_squared", "p_value", "significant", "n", "direction"],
)

NOTES: dict[str, Any] = arr(STR, "What could not be computed and why, or caveats.")
