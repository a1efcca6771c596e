"""`completion/complete`: suggestions for prompt arguments and resource template variables."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import orjson

from pierre.errors import InvalidArguments, NotFound, PierreError
from pierre.mcp.prompts import PROMPTS
from pierre.tools.invoke import invoke_tool

if TYPE_CHECKING:
    from pierre.auth.principal import Principal
    from pierre.services import Services

MAX_VALUES = 100  # the spec caps one completion answer at 100 values

STATIC_VALUES: dict[str, list[str]] = {
    "race_distance": ["5k", "10k", "15k", "half marathon", "marathon", "50k"],
    "focus": ["volume", "intensity", "recovery", "consistency"],
    "goal_time": [],
}


def _mondays(n: int = 8) -> list[str]:
    today = dt.datetime.now(dt.UTC).date()
    monday = today - dt.timedelta(days=today.weekday())
    return [(monday - dt.timedelta(weeks=i)).isoformat() for i in range(n)]


def _future_dates(n: int = 26) -> list[str]:
    today = dt.datetime.now(dt.UTC).date()
    sunday = today + dt.timedelta(days=(6 - today.weekday()) % 7)
    return [(sunday + dt.timedelta(weeks=i)).isoformat() for i in range(n)]


async def _activity_ids(services: Services, principal: Principal) -> list[str]:
    try:
        outcome = await invoke_tool(services, principal, "get_activities", {"limit": 50})
    except (NotFound, PierreError):
        return []
    if outcome.is_error or not outcome.structured:
        return []
    items = outcome.structured.get("activities")
    if not isinstance(items, list):
        items = orjson.loads(outcome.text) if outcome.text.startswith("[") else []
    return [str(a["id"]) for a in items if isinstance(a, dict) and "id" in a]


async def complete(services: Services, principal: Principal,
                   params: dict[str, Any]) -> dict[str, Any]:
    ref = params.get("ref")
    argument = params.get("argument")
    if not isinstance(ref, dict) or not isinstance(argument, dict):
        raise InvalidArguments("ref and argument must be objects")
    name, value = argument.get("name"), argument.get("value", "")
    if not isinstance(name, str) or not isinstance(value, str):
        raise InvalidArguments("argument.name and argument.value must be strings")
    candidates: list[str]
    if ref.get("type") == "ref/prompt":
        prompt = PROMPTS.get(str(ref.get("name")))
        if prompt is None:
            raise InvalidArguments(f"Unknown prompt: {ref.get('name')!r}")
        if name == "week_start":
            candidates = _mondays()
        elif name == "race_date":
            candidates = _future_dates()
        else:
            candidates = STATIC_VALUES.get(name, [])
    elif ref.get("type") == "ref/resource":
        if ref.get("uri") != "pierre://activities/{id}" or name != "id":
            candidates = []
        else:
            candidates = await _activity_ids(services, principal)
    else:
        raise InvalidArguments("ref.type must be ref/prompt or ref/resource")
    low = value.lower()
    matches = [c for c in candidates if c.lower().startswith(low)]
    return {"completion": {"values": matches[:MAX_VALUES], "total": len(matches),
                           "hasMore": len(matches) > MAX_VALUES}}
