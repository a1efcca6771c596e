"""Data tools: activities, athlete, stats and provider connections, normalized.

Thin wrappers over the provider manager; argument names follow the Rust Pierre's
(`provider`, `limit`, `offset`, `before`, `after`, `sport_type`, `activity_id`).
"""

from __future__ import annotations

from typing import Any

from pierre.models import ActivityQuery, to_builtins
from pierre.tools import schemas as s
from pierre.tools.base import ToolAnnotations, ToolContext, ToolSpec
from pierre.tools.common import (
    _providers,
    can,
    client,
    data_used,
    finish,
    int_arg,
    parse_time,
    provider_name,
    require_str,
    summary,
)

FAMILY_DATA = "data"
FAMILY_CONNECTIONS = "connections"


def _builtins(obj: Any) -> Any:
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    if isinstance(obj, dict):
        return {str(k): _builtins(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_builtins(v) for v in obj]
    return to_builtins(obj)


async def get_activities(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    cl = await client(ctx, args)
    query = ActivityQuery(
        before=parse_time(args.get("before"), "before"),
        after=parse_time(args.get("after"), "after"),
        limit=int_arg(args, "limit", 30, 1, 200),
        offset=int_arg(args, "offset", 0, 0, 100_000),
        sport_type=args.get("sport_type"),
    )
    items = list(await cl.activities(query))
    provider = provider_name(cl, args)
    return finish({
        "provider": provider,
        "count": len(items),
        "activities": [summary(a) for a in items],
        "data_used": data_used(provider, items),
    })


async def get_activity(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    cl = await client(ctx, args)
    activity_id = require_str(args, "activity_id")
    detail = await cl.activity(activity_id, streams=bool(args.get("include_streams", False)),
                               laps=bool(args.get("include_laps", True)) and can(cl, "laps"))
    provider = provider_name(cl, args)
    return finish({"provider": provider, "activity": _builtins(detail),
                   "data_used": data_used(provider, [detail])})


async def get_athlete(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    cl = await client(ctx, args)
    return finish({"provider": provider_name(cl, args), "athlete": _builtins(await cl.athlete())})


async def get_stats(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    cl = await client(ctx, args)
    return finish({"provider": provider_name(cl, args), "stats": _builtins(await cl.stats())})


async def get_connection_status(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    status = _builtins(await _providers(ctx).status(ctx.principal))
    if isinstance(status, dict) and "providers" not in status:
        status = [{"provider": k, **(v if isinstance(v, dict) else {"status": v})}
                  for k, v in status.items()]
    if isinstance(status, dict):
        status = status["providers"]
    return finish({"providers": status if isinstance(status, list) else []})


async def connect_provider(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    provider = require_str(args, "provider")
    result = _builtins(await _providers(ctx).connect(ctx.principal, provider))
    out = {"provider": provider}
    out.update(result if isinstance(result, dict) else {"result": result})
    return finish(out)


async def disconnect_provider(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    provider = require_str(args, "provider")
    result = _builtins(await _providers(ctx).disconnect(ctx.principal, provider))
    out: dict[str, Any] = {"provider": provider, "disconnected": True}
    if isinstance(result, dict):
        out.update(result)
    return finish(out)


_OPEN = {"type": "object"}

SPECS = [
    ToolSpec(
        name="get_activities",
        title="List activities",
        description="The user's activities, newest first, normalized across providers "
                    "(distances in m, times in s, speeds in m/s).",
        input_schema=s.tool_input({
            "provider": s.PROVIDER_ARG,
            "limit": {"type": "integer", "minimum": 1, "maximum": 200, "default": 30},
            "offset": {"type": "integer", "minimum": 0, "default": 0},
            "before": s.BEFORE_ARG, "after": s.AFTER_ARG, "sport_type": s.SPORT_TYPE_ARG,
        }),
        output_schema=s.tool_output({
            "provider": s.nullable(s.STR), "count": s.INT,
            "activities": s.arr(s.ACTIVITY_SUMMARY), "data_used": s.DATA_USED,
        }, ["count", "activities", "data_used"]),
        handler=get_activities, family=FAMILY_DATA, annotations=ToolAnnotations(open_world=True),
        examples=("Show my last 10 runs", "What activities did I do this week?"),
    ),
    ToolSpec(
        name="get_activity",
        title="Activity detail",
        description="One activity with laps and, on request, its sample streams "
                    "(time_s, heartrate_bpm, power_w, ...).",
        input_schema=s.tool_input({
            "activity_id": s.ACTIVITY_ID_ARG, "provider": s.PROVIDER_ARG,
            "include_streams": {"type": "boolean", "default": False},
            "include_laps": {"type": "boolean", "default": True},
        }, ["activity_id"]),
        output_schema=s.tool_output({
            "provider": s.nullable(s.STR), "activity": s.ACTIVITY_SUMMARY,
            "data_used": s.DATA_USED,
        }, ["activity", "data_used"]),
        handler=get_activity, family=FAMILY_DATA, annotations=ToolAnnotations(open_world=True),
        examples=("Show me the details of my last ride", "Get activity 123 with its streams"),
    ),
    ToolSpec(
        name="get_athlete",
        title="Athlete profile",
        description="The athlete's profile from the provider (weight in kg, FTP in W, HR in bpm).",
        input_schema=s.tool_input({"provider": s.PROVIDER_ARG}),
        output_schema=s.tool_output({"provider": s.nullable(s.STR), "athlete": _OPEN},
                                    ["athlete"]),
        handler=get_athlete, family=FAMILY_DATA, annotations=ToolAnnotations(open_world=True),
        examples=("Who am I on Strava?", "Show my athlete profile"),
    ),
    ToolSpec(
        name="get_stats",
        title="Totals",
        description="Recent (4 weeks), year-to-date and all-time totals per sport "
                    "(count, distance_m, moving_time_s, elevation_gain_m).",
        input_schema=s.tool_input({"provider": s.PROVIDER_ARG}),
        output_schema=s.tool_output({"provider": s.nullable(s.STR), "stats": _OPEN}, ["stats"]),
        handler=get_stats, family=FAMILY_DATA, annotations=ToolAnnotations(open_world=True),
        examples=("How far have I run this year?", "What are my all-time totals?"),
    ),
    ToolSpec(
        name="get_connection_status",
        title="Connection status",
        description="Which fitness providers the user has connected and their state.",
        input_schema=s.tool_input({}),
        output_schema=s.tool_output({"providers": s.arr(_OPEN)}, ["providers"]),
        handler=get_connection_status, family=FAMILY_CONNECTIONS,
        examples=("Which providers are connected?", "Is my Strava still connected?"),
    ),
    ToolSpec(
        name="connect_provider",
        title="Connect a provider",
        description="Start connecting a fitness provider; returns the authorization URL to "
                    "open (OAuth providers) or the result (local providers).",
        input_schema=s.tool_input({"provider": {**s.PROVIDER_ARG, "minLength": 1}},
                                  ["provider"]),
        output_schema=s.tool_output({"provider": s.STR}, ["provider"]),
        handler=connect_provider, family=FAMILY_CONNECTIONS,
        annotations=ToolAnnotations(read_only=False, idempotent=True, open_world=True),
        examples=("Connect my Strava account", "Link Fitbit"),
    ),
    ToolSpec(
        name="disconnect_provider",
        title="Disconnect a provider",
        description="Disconnect a provider: revokes and deletes its stored tokens and cached data.",
        input_schema=s.tool_input({"provider": {**s.PROVIDER_ARG, "minLength": 1}},
                                  ["provider"]),
        output_schema=s.tool_output({"provider": s.STR, "disconnected": s.BOOL},
                                    ["provider", "disconnected"]),
        handler=disconnect_provider, family=FAMILY_CONNECTIONS,
        annotations=ToolAnnotations(read_only=False, destructive=True, idempotent=True,
                                    open_world=True),
        examples=("Disconnect Garmin", "Remove my Strava connection"),
    ),
]
