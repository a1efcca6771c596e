"""A running daemon with A2A on, plus a tenant, a user and a registered A2A client.

Identity (users, JWTs, API keys) belongs to another capability; the tenant, user
and client are provisioned straight into the daemon's database (SQLite in WAL
mode allows it) with Pierre's own `clients.register`, and everything after that
goes through the daemon's sockets: /a2a/token, the cards and /a2a.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from pierre.a2a import clients
from pierre.auth.principal import Principal
from pierre.db.sqlite import SQLiteDatabase
from tests.support.daemon import DaemonProcess


@dataclass
class Agent:
    daemon: DaemonProcess
    client_id: str
    client_secret: str
    tenant_id: str
    user_id: str

    @property
    def url(self) -> str:
        return self.daemon.http_url

    def token(self) -> str:
        r = httpx.post(f"{self.url}/a2a/token", data={
            "grant_type": "client_credentials", "client_id": self.client_id,
            "client_secret": self.client_secret})
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])


async def provision(db_path: Path, tenant: str, email: str) -> tuple[str, str, dict[str, Any]]:
    from pierre.config.schema import Config
    from pierre.plugins.registry import PluginRegistry
    from pierre.services import Services
    from pierre.tools.base import ToolRegistry

    db = SQLiteDatabase(str(db_path))
    await db.start()
    try:
        t = await db.create_tenant(tenant)
        u = await db.create_user(t.id, email)
        services = Services(config=Config(), plugins=PluginRegistry(), tools=ToolRegistry(), db=db)
        created = await clients.register(services, Principal(tenant_id=t.id, user_id=u.id),
                                         "test agent", "drives the A2A tests")
        return t.id, u.id, created
    finally:
        await db.close()


@pytest.fixture
def a2a_factory(daemon_factory: Callable[..., DaemonProcess]) -> Callable[..., Agent]:
    def make(a2a: dict[str, Any] | None = None, *, tenant: str = "acme",
             email: str = "ann@example.com", daemon: DaemonProcess | None = None) -> Agent:
        d = daemon or daemon_factory({"a2a": {"conformance_mode": True,
                                              "allow_private_webhooks": True,
                                              **(a2a or {})}})
        db_path = Path(d.config["database"]["path"])
        tid, uid, created = asyncio.run(provision(db_path, tenant, email))
        return Agent(d, created["client_id"], created["client_secret"], tid, uid)
    return make


@pytest.fixture
def agent(a2a_factory: Callable[..., Agent]) -> Agent:
    return a2a_factory()
