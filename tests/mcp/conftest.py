"""Builds a set of services around the real tool registry for the pure engine tests."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from pierre.auth.principal import Principal
from pierre.config.schema import Config
from pierre.plugins.registry import PluginRegistry
from pierre.protocol.mcp import McpEngine, McpSession
from pierre.services import Services
from pierre.tools.base import ToolRegistry
from tests.mcp import extra_tools


class Peer:
    """The client side of a session: collects what the server sends."""

    def __init__(self) -> None:
        self.out: list[Any] = []

    async def send(self, msg: Any) -> None:
        self.out.append(orjson.loads(orjson.dumps(msg)))

    def take(self) -> list[Any]:
        out, self.out = self.out, []
        return out

    def responses(self) -> dict[Any, Any]:
        return {m["id"]: m for m in self.out if isinstance(m, dict) and "id" in m
                and "method" not in m}

    def notifications(self, method: str) -> list[dict[str, Any]]:
        return [m for m in self.out if isinstance(m, dict) and m.get("method") == method]


@pytest.fixture
def services() -> Services:
    tools = ToolRegistry()
    extra_tools.register(tools)
    return Services(config=Config(), plugins=PluginRegistry(groups={}), tools=tools)


@pytest.fixture
def principal() -> Principal:
    return Principal(tenant_id="t1", user_id="u1", tier="starter", method="api_key",
                     credential_id="k1")


@pytest.fixture
def engine(services: Services) -> McpEngine:
    return McpEngine(services)


@pytest.fixture
def peer() -> Peer:
    return Peer()


@pytest.fixture
def session(engine: McpEngine, principal: Principal, peer: Peer) -> McpSession:
    return engine.open(principal, peer.send, transport="test")


def req(id: Any, method: str, params: dict[str, Any] | None = None) -> str:
    msg: dict[str, Any] = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        msg["params"] = params
    return orjson.dumps(msg).decode()


def note(method: str, params: dict[str, Any] | None = None) -> str:
    msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        msg["params"] = params
    return orjson.dumps(msg).decode()


async def initialize(session: McpSession, peer: Peer, version: str = "2025-06-18") -> Any:
    await session.feed(req("init", "initialize", {"protocolVersion": version,
                                                 "capabilities": {},
                                                 "clientInfo": {"name": "t", "version": "1"}}))
    await session.feed(note("notifications/initialized"))
    return peer.take()[0]
