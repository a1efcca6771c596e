"""MCP resources: read-only views of the caller's data, served through the tools.

Each resource is backed by a catalog tool, so it obeys the same visibility,
rate limits, caching and tenant isolation as `tools/call`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pierre.errors import NotFound, PierreError
from pierre.tools.invoke import UnknownTool, invoke_tool, visible_tools

if TYPE_CHECKING:
    from pierre.auth.principal import Principal
    from pierre.services import Services

JSON = "application/json"

# uri -> (backing tool, descriptor)
STATIC: dict[str, tuple[str, dict[str, Any]]] = {
    "pierre://athlete": ("get_athlete", {
        "uri": "pierre://athlete", "name": "athlete", "title": "Athlete profile",
        "description": "The athlete's profile from the connected provider.", "mimeType": JSON,
    }),
    "pierre://training-load": ("analyze_training_load", {
        "uri": "pierre://training-load", "name": "training-load",
        "title": "Training load (CTL/ATL/TSB)",
        "description": "Daily training load with fitness, fatigue and form.", "mimeType": JSON,
    }),
}
TEMPLATES: list[tuple[str, dict[str, Any]]] = [
    ("get_activity", {
        "uriTemplate": "pierre://activities/{id}", "name": "activity", "title": "Activity",
        "description": "One activity in detail; {id} is the activity id.", "mimeType": JSON,
    }),
]
_ACTIVITY = re.compile(r"^pierre://activities/([^/?#]+)$")


async def _visible(services: Services, principal: Principal) -> set[str]:
    return {spec.name for spec in await visible_tools(services, principal)}


async def list_resources(services: Services, principal: Principal) -> list[dict[str, Any]]:
    names = await _visible(services, principal)
    return [desc for tool, desc in STATIC.values() if tool in names]


async def list_templates(services: Services, principal: Principal) -> list[dict[str, Any]]:
    names = await _visible(services, principal)
    return [desc for tool, desc in TEMPLATES if tool in names]


def resolve(uri: str) -> tuple[str, dict[str, Any]]:
    """uri -> (tool, arguments); NotFound for anything we do not serve."""
    if uri in STATIC:
        return STATIC[uri][0], {}
    m = _ACTIVITY.match(uri)
    if m:
        return "get_activity", {"activity_id": m.group(1)}
    raise NotFound(f"Unknown resource: {uri}", details={"uri": uri})


async def read_resource(services: Services, principal: Principal, uri: str) -> dict[str, Any]:
    tool, args = resolve(uri)
    try:
        outcome = await invoke_tool(services, principal, tool, args, transport="mcp")
    except UnknownTool:
        raise NotFound(f"Resource not available: {uri}", details={"uri": uri}) from None
    if outcome.is_error:
        if isinstance(outcome.error, NotFound):
            raise NotFound(f"Resource not found: {uri}", details={"uri": uri})
        raise outcome.error or PierreError(outcome.text)
    return {"contents": [{"uri": uri, "mimeType": JSON, "text": outcome.text}]}
