"""Every tool of the suite, registered in one call (`pierre.wiring` calls `register_all`).

Names follow the Rust Pierre's so existing prompts and clients keep working.
"""

from __future__ import annotations

from dataclasses import replace

from pierre.tools import analysis, config, data, goals, performance, recovery, training_load
from pierre.tools.base import ToolRegistry, ToolSpec

MODULES = (data, analysis, training_load, performance, goals, recovery, config)

# Lowest tier that sees a tool, in one place. The two multi-week history scans are the
# heaviest calls a trial key could repeat; every other tool (and everything the demo
# and the starter tier rely on) stays open to all tiers. A plan change moves a live
# session's tool list (tools/list_changed).
MIN_TIER: dict[str, str] = {
    "detect_patterns": "starter",
    "analyze_performance_trends": "starter",
}


def all_specs() -> list[ToolSpec]:
    return [replace(spec, min_tier=MIN_TIER[spec.name]) if spec.name in MIN_TIER else spec
            for module in MODULES for spec in module.SPECS]


def register_all(registry: ToolRegistry) -> None:
    for spec in all_specs():
        registry.register(spec)
