"""What every plugin kind shares: API versioning and the load-time context."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from pierre.config.schema import Config


@dataclass(frozen=True)
class PluginContext:
    """Handed to a plugin factory: the whole config and where to keep state."""

    config: Config
    data_dir: str
    extras: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Lifecycle(Protocol):
    """Backends are created from config, started on the daemon's loop, closed in reverse."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def health(self) -> None:
        """Raise if the backend cannot serve (used by /ready)."""
        ...


def api_major(version: str) -> int:
    return int(str(version).split(".", 1)[0])
