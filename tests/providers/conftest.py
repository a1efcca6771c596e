"""Real backends (SQLite, memory cache and limiter) around a ProviderManager, no daemon."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pierre.auth.principal import Principal
from pierre.config.schema import Config, ProviderConfig, SecurityConfig, ServerConfig
from pierre.plugins.base import PluginContext
from pierre.plugins.registry import PluginRegistry
from pierre.providers.manager import ProviderManager
from pierre.services import Services
from pierre.tools.base import ToolRegistry


async def build_services(tmp: Path, providers: dict[str, ProviderConfig]) -> Services:
    cfg = Config(server=ServerConfig(data_dir=str(tmp / "var")), providers=providers,
                 security=SecurityConfig(generate_master_key=True))
    (tmp / "var").mkdir(parents=True, exist_ok=True)
    reg = PluginRegistry().discover()
    ctx = PluginContext(config=cfg, data_dir=str(tmp / "var"))
    s = Services(config=cfg, plugins=reg, tools=ToolRegistry())
    s.db = reg.get("pierre.databases", "sqlite").from_config({"path": str(tmp / "p.db")}, ctx)
    await s.db.start()
    try:
        await _rest(s, cfg, reg, ctx)
    except BaseException:
        await s.db.close()
        raise
    return s


async def _rest(s: Services, cfg: Config, reg: PluginRegistry, ctx: PluginContext) -> None:
    await s.db.migrate()
    s.cache = reg.get("pierre.caches", "memory").from_config({}, ctx)
    await s.cache.start()
    s.ratelimiter = reg.get("pierre.ratelimiters", "memory").from_config({}, ctx)
    await s.ratelimiter.start()
    try:
        from pierre.crypto import open_crypto
    except ImportError:
        pass
    else:
        s.crypto = await open_crypto(cfg, s.db, ctx)
    s.providers = ProviderManager(s)
    await s.providers.start()


async def close_services(s: Services) -> None:
    await s.providers.close()
    await s.ratelimiter.close()
    await s.cache.close()
    await s.db.close()


async def new_user(s: Services, email: str = "a@example.com") -> Principal:
    tenant = await s.db.create_tenant(f"t-{email}")
    user = await s.db.create_user(tenant.id, email)
    return Principal(tenant_id=tenant.id, user_id=user.id, email=email)


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    s = await build_services(tmp_path, {"synthetic": ProviderConfig(extra={"seed": 7})})
    yield s
    await close_services(s)


@pytest.fixture
async def principal(services: Services) -> Principal:
    return await new_user(services)


