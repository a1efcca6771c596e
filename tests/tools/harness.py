"""Real Services for in-process tool tests and the benchmark: SQLite, memory cache and limiter,
the ProviderManager with the synthetic provider. No mocks of Pierre's components."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pierre.auth.principal import Principal
from pierre.config.loader import load_config
from pierre.plugins.base import PluginContext
from pierre.plugins.registry import PluginRegistry
from pierre.services import Services
from pierre.tools.base import ToolContext, ToolRegistry
from pierre.wiring import Closer, start_backends
from tests.support import toml
from tests.support.daemon import base_config, deep_merge


@asynccontextmanager
async def real_services(tmp: Path, overrides: dict[str, Any] | None = None
                        ) -> AsyncIterator[Services]:
    cfg = deep_merge(base_config(tmp), overrides or {})
    path = tmp / "pierre.toml"
    path.write_text(toml.dumps(cfg))
    config = load_config(path, environ={})
    (tmp / "var").mkdir(parents=True, exist_ok=True)
    plugins = PluginRegistry()
    plugins.discover()
    services = Services(config=config, plugins=plugins, tools=ToolRegistry())
    closers: list[Closer] = []
    try:
        await start_backends(services, PluginContext(config=config, data_dir=str(tmp / "var")),
                             closers)
        yield services
    finally:
        for close in reversed(closers):
            await close()


async def new_user(services: Services, email: str = "athlete@example.com",
                   connect: str | None = "synthetic") -> ToolContext:
    tenant = await services.db.create_tenant(f"t-{email}")
    user = await services.db.create_user(tenant.id, email)
    principal = Principal(tenant_id=tenant.id, user_id=user.id)
    if connect:
        await services.providers.connect(principal, connect)
    return ToolContext(principal=principal, services=services)


async def call(ctx: ToolContext, name: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
    spec = ctx.services.tools.get(name)
    assert spec is not None, name
    return await spec.handler(ctx, dict(args or {}))
