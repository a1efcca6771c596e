"""Builds the backends into :class:`Services`, in start order, and re-applies on reload.

Each capability owns its own module; this file only names the order they start
in and what each needs, so the daemon and the tests build the same thing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from pierre.config.schema import Config
from pierre.plugins.base import PluginContext
from pierre.services import Services

log = structlog.get_logger("pierre.wiring")
Closer = Callable[[], Awaitable[Any]]


def _options(section: Any) -> dict[str, Any]:
    opts = dict(getattr(section, "extra", {}) or {})
    url = getattr(section, "url", None)
    if url is not None:
        opts.setdefault("url", url)
    return opts


async def start_backends(s: Services, ctx: PluginContext, closers: list[Closer]) -> None:
    from pierre.auth.service import build_authenticator
    from pierre.bootstrap import ensure_demo
    from pierre.crypto import open_crypto
    from pierre.providers.manager import ProviderManager
    from pierre.ratelimit.service import RateLimitService
    from pierre.security.monitor import SecurityMonitor
    from pierre.tools.catalog import register_all

    cfg = s.config
    if cfg.tracing.enabled:  # first in, last out: spans from the drain are still exported
        from pierre import __version__
        from pierre.ops import tracing

        closers.append(tracing.start(cfg.tracing, version=__version__, base_dir=cfg.base_dir))
    db_cls = s.plugins.get("pierre.databases", cfg.database.backend)
    s.db = db_cls.from_config(_options(cfg.database), ctx)
    await s.db.start()
    closers.append(s.db.close)
    if s.metrics is not None and callable(in_use := getattr(s.db, "pool_in_use", None)):
        s.metrics.track_db_pool(in_use)
    if cfg.database.migrate_on_start:
        await s.db.migrate()
    await s.db.check_schema()

    s.crypto = await open_crypto(cfg, s.db, ctx)

    cache_cls = s.plugins.get("pierre.caches", cfg.cache.backend)
    s.cache = cache_cls.from_config(_options(cfg.cache), ctx)
    await s.cache.start()
    closers.append(s.cache.close)

    rl_cls = s.plugins.get("pierre.ratelimiters", cfg.ratelimit.backend)
    s.ratelimiter = rl_cls.from_config(_options(cfg.ratelimit), ctx)
    await s.ratelimiter.start()
    closers.append(s.ratelimiter.close)
    s.limits = RateLimitService(s)
    s.authenticator = build_authenticator(s)

    s.security = SecurityMonitor(s)
    await s.security.start()
    closers.append(s.security.close)

    s.providers = ProviderManager(s)
    await s.providers.start()
    closers.append(s.providers.close)

    s.tools.globally_disabled = frozenset(cfg.mcp.disabled_tools)
    register_all(s.tools)

    if cfg.server.demo:
        await ensure_demo(s)


async def on_reload(s: Services, old: Config, new: Config) -> None:
    """Apply what can change live: tiers, provider settings, disabled tools."""
    s.tools.globally_disabled = frozenset(new.mcp.disabled_tools)
    if s.providers is not None and hasattr(s.providers, "reload"):
        await s.providers.reload(new)
    if s.limits is not None and hasattr(s.limits, "reload"):
        s.limits.reload(new)
    if s.security is not None:
        s.security.reload(new)
    hook = s.extras.get("on_tools_changed")
    if hook is not None and old.mcp.disabled_tools != new.mcp.disabled_tools:
        await hook()
