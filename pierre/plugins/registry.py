"""Entry-point plugin registry, loaded one plugin at a time (stevedore/keyring style).

A plugin that fails to import, or speaks another major API version, is
recorded with its distribution and error and reported by ``pierre plugins``;
it only becomes fatal when the configuration selects it.
"""

from __future__ import annotations

import importlib.metadata as md
from dataclasses import dataclass, field
from typing import Any

import structlog

from pierre.errors import PluginError
from pierre.plugins.base import api_major

log = structlog.get_logger("pierre.plugins")

# group -> (core API version, the distribution that usually provides a missing name)
GROUPS: dict[str, str] = {
    "pierre.databases": "1.0",
    "pierre.providers": "1.0",
    "pierre.ratelimiters": "1.0",
    "pierre.caches": "1.0",
}
KNOWN_PACKAGES: dict[tuple[str, str], str] = {
    ("pierre.databases", "postgres"): "pierre-postgres",
    ("pierre.ratelimiters", "redis"): "pierre-redis",
    ("pierre.caches", "redis"): "pierre-redis",
    ("pierre.providers", "strava"): "pierre-strava",
    ("pierre.providers", "fitbit"): "pierre-fitbit",
    ("pierre.providers", "google_health"): "pierre-fitbit",
    ("pierre.providers", "garmin"): "pierre-garmin",
    ("pierre.providers", "weather"): "pierre-weather",
}


@dataclass
class PluginInfo:
    group: str
    name: str
    value: str
    distribution: str | None
    version: str | None
    api_version: str | None = None
    status: str = "unloaded"  # ok | error | incompatible | unloaded
    error: str | None = None
    obj: Any = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "name": self.name,
            "entry_point": self.value,
            "distribution": self.distribution,
            "version": self.version,
            "api_version": self.api_version,
            "status": self.status,
            "error": self.error,
        }


class PluginRegistry:
    def __init__(self, groups: dict[str, str] | None = None) -> None:
        self.groups = dict(GROUPS if groups is None else groups)
        self._plugins: dict[str, dict[str, PluginInfo]] = {g: {} for g in self.groups}

    def discover(self) -> PluginRegistry:
        """Find and load every entry point; never raises for a broken plugin."""
        eps = md.entry_points()
        for group in self.groups:
            for ep in eps.select(group=group):
                dist = getattr(ep, "dist", None)
                info = PluginInfo(
                    group=group,
                    name=ep.name,
                    value=ep.value,
                    distribution=dist.name if dist else None,
                    version=dist.version if dist else None,
                )
                self._plugins[group][ep.name] = info
                self._load(info, ep)
        return self

    def _load(self, info: PluginInfo, ep: md.EntryPoint) -> None:
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin must not take the daemon down
            info.status = "error"
            info.error = f"{type(exc).__name__}: {exc}"
            log.warning(
                "plugin_load_failed",
                group=info.group,
                plugin=info.name,
                distribution=info.distribution,
                error=info.error,
            )
            return
        version = getattr(obj, "API_VERSION", None)
        info.api_version = str(version) if version is not None else None
        core = self.groups[info.group]
        if version is None:
            info.status = "incompatible"
            info.error = f"declares no API_VERSION; this Pierre speaks {core}"
        elif api_major(str(version)) != api_major(core):
            info.status = "incompatible"
            info.error = (
                f"built for plugin API {version}; this Pierre speaks {core}: "
                f"install a release of {info.distribution or info.name} made for API {core}"
            )
        else:
            info.status = "ok"
            info.obj = obj
        if info.status != "ok":
            log.warning("plugin_incompatible", group=info.group, plugin=info.name,
                        distribution=info.distribution, error=info.error)

    def add(self, group: str, name: str, obj: Any, *, distribution: str = "<runtime>") -> None:
        """Register an object directly (tests, embedding)."""
        info = PluginInfo(group, name, repr(obj), distribution, None,
                          str(getattr(obj, "API_VERSION", None)), "ok", None, obj)
        self._plugins.setdefault(group, {})[name] = info

    def all(self) -> list[PluginInfo]:
        return [i for g in self._plugins.values() for i in sorted(g.values(), key=lambda i: i.name)]

    def names(self, group: str, *, only_ok: bool = True) -> list[str]:
        return sorted(
            n for n, i in self._plugins.get(group, {}).items() if i.status == "ok" or not only_ok
        )

    def get(self, group: str, name: str) -> Any:
        """The loaded plugin object, or a PluginError a sysadmin can act on."""
        info = self._plugins.get(group, {}).get(name)
        if info is None:
            installed = ", ".join(self.names(group)) or "none"
            hint = KNOWN_PACKAGES.get((group, name))
            more = f"; install the '{hint}' package to get it" if hint else ""
            raise PluginError(
                f"{group} plugin '{name}' is not installed (installed: {installed}){more}"
            )
        if info.status != "ok":
            raise PluginError(
                f"{group} plugin '{name}' from {info.distribution} cannot be used: {info.error}"
            )
        return info.obj
