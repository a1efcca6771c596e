"""Test-only tools, loaded into a daemon with PIERRE_EXTRA_TOOLS=tests.mcp.extra_tools:register.

They give the MCP tests behaviour the real catalog does not promise (slow calls with
progress, a mutating call, a failing provider) and stand in for catalog tools that are
missing from an install, so the transport tests do not depend on the data providers.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pierre.errors import NotFound, ProviderError
from pierre.tools.base import ToolAnnotations, ToolContext, ToolRegistry, ToolSpec

OBJ = {"type": "object"}


async def _echo(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    return {"count": args["count"], "label": args.get("label", ""),
            "count_type": type(args["count"]).__name__}


async def _slow(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    steps = args.get("steps", 3)
    for i in range(steps):
        await ctx.log("info", {"step": i + 1})
        await ctx.progress(i + 1, steps, f"step {i + 1} of {steps}")
        await asyncio.sleep(args.get("delay_ms", 50) / 1000)
    return {"steps": steps}


async def _touch(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    return {"touched": True}


async def _fail(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    raise ProviderError("Strava is not answering (HTTP 503); try again later",
                        provider="strava", status=503)


async def _crash(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    raise RuntimeError("secret internals: /etc/passwd")


async def _athlete(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    return {"id": "ath-1", "name": "Test Athlete", "tenant": ctx.principal.tenant_id}


async def _activities(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    n = args.get("limit", 5)
    return {"activities": [{"id": str(1000 + i), "name": f"Run {i}"} for i in range(min(n, 5))]}


async def _activity(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    if args["activity_id"] not in {str(1000 + i) for i in range(5)}:
        raise NotFound(f"Activity {args['activity_id']} not found")
    return {"id": args["activity_id"], "distance_m": 10_000.0}


async def _load(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    return {"ctl": 42.0, "atl": 50.0, "tsb": -8.0}


def _spec(name: str, handler: Any, inp: dict[str, Any], out: dict[str, Any] | None = None,
          **kw: Any) -> ToolSpec:
    return ToolSpec(name=name, title=name.replace("_", " ").title(),
                    description=f"Test tool {name}.", input_schema=inp,
                    output_schema=out or OBJ, handler=handler, **kw)


def specs() -> list[ToolSpec]:
    none = {"type": "object", "properties": {}, "additionalProperties": False}
    return [
        _spec("test_echo", _echo, {
            "type": "object", "additionalProperties": False, "required": ["count"],
            "properties": {"count": {"type": "integer", "minimum": 1, "maximum": 100},
                           "label": {"type": "string"}}},
            {"type": "object", "required": ["count"],
             "properties": {"count": {"type": "integer"}, "label": {"type": "string"},
                            "count_type": {"type": "string"}}}),
        _spec("test_slow", _slow, {
            "type": "object", "properties": {"steps": {"type": "integer", "minimum": 1},
                                             "delay_ms": {"type": "integer", "minimum": 0}}}),
        _spec("test_touch", _touch, none,
              annotations=ToolAnnotations(read_only=False, idempotent=False)),
        _spec("test_fail", _fail, none),
        _spec("test_crash", _crash, none),
        _spec("test_pro_only", _touch, none, min_tier="professional"),
        _spec("get_athlete", _athlete, none),
        _spec("get_activities", _activities, {
            "type": "object", "properties": {"limit": {"type": "integer", "minimum": 1}}}),
        _spec("get_activity", _activity, {
            "type": "object", "required": ["activity_id"],
            "properties": {"activity_id": {"type": "string"}}}),
        _spec("analyze_training_load", _load, none),
    ] + [_spec(f"test_filler_{i:02d}", _touch, none) for i in range(8)]


def register(registry: ToolRegistry) -> None:
    """Register every test tool whose name is still free (the real catalog wins)."""
    for spec in specs():
        if registry.get(spec.name) is None:
            registry.register(spec)
