"""Tool definitions: what MCP `tools/*` and A2A skills are generated from.

A tool is a typed async function plus its JSON Schemas. Tools never import a
transport: they receive a :class:`ToolContext` with the caller's principal,
the server's services, and callbacks for progress and log messages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pierre.auth.principal import Principal
    from pierre.services import Services

ProgressFn = Callable[[float, float | None, str | None], Awaitable[None]]
LogFn = Callable[[str, Any], Awaitable[None]]


async def _no_progress(progress: float, total: float | None, message: str | None) -> None:
    return None


async def _no_log(level: str, data: Any) -> None:
    return None


@dataclass(slots=True)
class ToolContext:
    principal: Principal
    services: Services
    progress: ProgressFn = _no_progress
    log: LogFn = _no_log
    transport: str = "mcp"


ToolHandler = Callable[[ToolContext, dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class ToolAnnotations:
    read_only: bool = True
    destructive: bool = False
    idempotent: bool = True
    open_world: bool = False

    def to_mcp(self, title: str) -> dict[str, Any]:
        return {
            "title": title,
            "readOnlyHint": self.read_only,
            "destructiveHint": self.destructive,
            "idempotentHint": self.idempotent,
            "openWorldHint": self.open_world,
        }


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    title: str
    description: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    handler: ToolHandler
    annotations: ToolAnnotations = field(default_factory=ToolAnnotations)
    # Family groups tools into A2A skills ("data", "analysis", "goals", ...).
    family: str = "data"
    # Example requests in plain words (A2A skill examples, intent matching).
    examples: tuple[str, ...] = ()
    # Lowest tier allowed to see and call it (None = every tier).
    min_tier: str | None = None

    def to_mcp(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "inputSchema": self.input_schema,
            "outputSchema": self.output_schema,
            "annotations": self.annotations.to_mcp(self.title),
        }


TIER_ORDER = ("trial", "starter", "professional", "enterprise")


class ToolRegistry:
    """All tools the server knows; `visible_to` filters per principal and config."""

    def __init__(self) -> None:
        self._tools: dict[str, ToolSpec] = {}
        self.globally_disabled: frozenset[str] = frozenset()

    def register(self, spec: ToolSpec) -> ToolSpec:
        if spec.name in self._tools:
            raise ValueError(f"tool {spec.name!r} registered twice")
        self._tools[spec.name] = spec
        return spec

    def get(self, name: str) -> ToolSpec | None:
        return self._tools.get(name)

    def all(self) -> list[ToolSpec]:
        return list(self._tools.values())

    def visible_to(
        self, tier: str, tenant_disabled: frozenset[str] = frozenset()
    ) -> list[ToolSpec]:
        rank = TIER_ORDER.index(tier) if tier in TIER_ORDER else len(TIER_ORDER)
        out = []
        for spec in self._tools.values():
            if spec.name in self.globally_disabled or spec.name in tenant_disabled:
                continue
            if spec.min_tier is not None and rank < TIER_ORDER.index(spec.min_tier):
                continue
            out.append(spec)
        return out
