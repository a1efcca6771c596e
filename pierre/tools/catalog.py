"""Every tool of the suite, registered in one call (`pierre.wiring` calls `register_all`).

Names follow the Rust Pierre's so existing prompts and clients keep working.
"""

from __future__ import annotations

from pierre.tools import analysis, config, data, goals, performance, recovery, training_load
from pierre.tools.base import ToolRegistry, ToolSpec

MODULES = (data, analysis, training_load, performance, goals, recovery, config)


def all_specs() -> list[ToolSpec]:
    return [spec for module in MODULES for spec in module.SPECS]


def register_all(registry: ToolRegistry) -> None:
    for spec in all_specs():
        registry.register(spec)
