"""Live changes without sockets: tier and tool-switch re-evaluation, and two engines
(two "instances") sharing one memory cache's pub/sub as their event bus."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest

from pierre.auth.principal import Principal
from pierre.cache.memory import MemoryCache
from pierre.config.schema import Config
from pierre.mcp import bus
from pierre.plugins.registry import PluginRegistry
from pierre.protocol.mcp import McpEngine
from pierre.services import Services
from pierre.tools.base import ToolRegistry
from pierre.tools.catalog import MIN_TIER, all_specs
from tests.mcp import extra_tools
from tests.mcp.conftest import Peer, initialize, req

LIST_CHANGED = "notifications/tools/list_changed"
_ids = itertools.count()


@dataclass
class Key:
    tier: str


@dataclass
class Db:
    """Tenant settings and key tiers an admin edits between the assertions."""

    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    reads: int = 0

    async def get_tenant(self, tenant_id: str) -> dict[str, Any]:
        self.reads += 1
        return {"id": tenant_id, "settings": dict(self.settings.get(tenant_id, {}))}

    async def get_api_key(self, tenant_id: str, key_id: str) -> Key | None:
        self.reads += 1
        return Key(self.keys[key_id]) if key_id in self.keys else None


def build(db: Db, cache: MemoryCache | None = None) -> McpEngine:
    tools = ToolRegistry()
    extra_tools.register(tools)
    services = Services(config=Config(), plugins=PluginRegistry(groups={}), tools=tools,
                        db=db, cache=cache)
    return McpEngine(services)


async def names(engine: McpEngine, session: Any, peer: Peer) -> set[str]:
    out: set[str] = set()
    cursor = None
    for _ in range(20):
        rid = f"l{next(_ids)}"
        await session.feed(req(rid, "tools/list", {"cursor": cursor} if cursor else {}))
        await asyncio.sleep(0.01)
        res = peer.responses()[rid]["result"]
        out |= {t["name"] for t in res["tools"]}
        cursor = res.get("nextCursor")
        if cursor is None:
            return out
    raise AssertionError("pagination did not end")


async def eventually(check: Any, timeout: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await asyncio.sleep(0.01)


def test_bus_ignores_own_malformed_and_unknown_events():
    raw = bus.encode("me", "tenant", {"t": "t1"})
    assert bus.decode(raw, "me") is None
    assert bus.decode(raw, "other") == ("tenant", {"t": "t1"})
    assert bus.decode(b"{nope", "other") is None
    assert bus.decode(b"[1]", "other") is None
    assert bus.decode(bus.encode("x", "reboot", {}), "other") is None


def test_catalog_keeps_heavy_scans_from_trial_only():
    registry = ToolRegistry()
    for spec in all_specs():
        registry.register(spec)
    every = {s.name for s in registry.all()}
    trial = {s.name for s in registry.visible_to("trial")}
    assert every - trial == set(MIN_TIER) and MIN_TIER
    assert {s.name for s in registry.visible_to("starter")} == every


async def test_plan_change_moves_a_jwt_session_and_announces_once():
    db = Db()
    engine = build(db)
    peer = Peer()
    jwt = Principal(tenant_id="t1", user_id="u1", tier="starter", method="jwt")
    session = engine.open(jwt, peer.send, transport="test")
    await initialize(session, peer)
    assert "test_pro_only" not in await names(engine, session, peer)
    peer.take()
    db.settings["t1"] = {"tier": "professional"}
    await engine.tenant_changed("t1")
    assert len(peer.notifications(LIST_CHANGED)) == 1
    assert session.principal.tier == "professional"
    assert "test_pro_only" in await names(engine, session, peer)
    peer.take()
    await engine.tenant_changed("t1")  # nothing moved: no second notification
    await engine.tenant_changed("t2")  # another tenant: not even looked at
    assert peer.notifications(LIST_CHANGED) == []


async def test_key_tier_and_tenant_switch_are_reread_per_credential():
    db = Db(keys={"k1": "starter", "k2": "starter"})
    engine = build(db)
    peers = [Peer(), Peer()]
    sessions = []
    for i, peer in enumerate(peers):
        p = Principal(tenant_id="t1", user_id=f"u{i}", tier="starter", method="api_key",
                      credential_id=f"k{i + 1}")
        sessions.append(engine.open(p, peer.send, transport="test"))
        await initialize(sessions[-1], peer)
        await names(engine, sessions[-1], peer)
        peer.take()
    db.keys["k1"] = "enterprise"
    await engine.tenant_changed("t1")
    assert [s.principal.tier for s in sessions] == ["enterprise", "starter"]
    assert [len(p.notifications(LIST_CHANGED)) for p in peers] == [1, 0]
    for p in peers:
        p.take()
    db.settings["t1"] = {"disabled_tools": ["test_echo"]}
    await engine.tenant_changed("t1")
    assert [len(p.notifications(LIST_CHANGED)) for p in peers] == [1, 1]
    assert "test_echo" not in await names(engine, sessions[1], peers[1])


async def test_session_that_never_listed_tools_is_not_told():
    db = Db()
    engine = build(db)
    peer = Peer()
    session = engine.open(Principal(tenant_id="t1", user_id="u1", method="jwt"),
                          peer.send, transport="test")
    await initialize(session, peer)
    db.settings["t1"] = {"disabled_tools": ["test_echo"]}
    await engine.tenant_changed("t1")
    await engine.sweep()
    assert peer.notifications(LIST_CHANGED) == []


async def test_sweep_catches_a_plan_change_whose_event_was_lost():
    db = Db()
    engine = build(db)
    peer = Peer()
    session = engine.open(Principal(tenant_id="t1", user_id="u1", method="jwt"),
                          peer.send, transport="test")
    await initialize(session, peer)
    await names(engine, session, peer)
    peer.take()
    db.settings["t1"] = {"tier": "professional"}
    await engine.sweep()
    assert len(peer.notifications(LIST_CHANGED)) == 1


@pytest.fixture
async def pair() -> Any:
    """Two engines on one memory cache: what Redis gives two daemons."""
    cache = MemoryCache()
    db = Db()
    a, b = build(db, cache), build(db, cache)
    await a.start()
    await b.start()
    yield db, a, b
    await a.close()
    await b.close()


async def test_tenant_change_on_one_instance_reaches_sessions_on_another(pair):
    db, a, b = pair
    peer = Peer()
    session = b.open(Principal(tenant_id="t1", user_id="u1", method="jwt"), peer.send,
                     transport="test")
    await initialize(session, peer)
    await names(b, session, peer)
    peer.take()
    db.settings["t1"] = {"tier": "professional"}
    await a.tenant_changed("t1")
    await eventually(lambda: peer.notifications(LIST_CHANGED))
    assert session.principal.tier == "professional"


async def test_resources_updated_reaches_a_subscriber_on_another_instance(pair):
    _, a, b = pair
    peer = Peer()
    session = b.open(Principal(tenant_id="t1", user_id="u1"), peer.send, transport="test")
    await initialize(session, peer)
    await session.feed(req(1, "resources/subscribe", {"uri": "pierre://athlete"}))
    peer.take()
    await a.resources_changed("t1", "u2")  # another user's data: nothing
    await a.resources_changed("t1", "u1", {"pierre://training-load"})  # not subscribed
    await a.resources_changed("t1", "u1")
    await eventually(lambda: peer.notifications("notifications/resources/updated"))
    await asyncio.sleep(0.05)
    assert peer.notifications("notifications/resources/updated") == [
        {"jsonrpc": "2.0", "method": "notifications/resources/updated",
         "params": {"uri": "pierre://athlete"}}]


async def test_transport_events_reach_their_handler_and_survive_a_failing_one(pair):
    _, a, b = pair
    seen: list[dict[str, Any]] = []

    async def boom(fields: dict[str, Any]) -> None:
        raise RuntimeError("handler bug")

    async def record(fields: dict[str, Any]) -> None:
        seen.append(fields)

    b.event_handlers["state"] = boom
    b.event_handlers["cancel"] = record
    await a.bus.publish("state", s="x")
    await a.bus.publish("cancel", s="sid", r=7)
    await eventually(lambda: seen)
    assert seen == [{"s": "sid", "r": 7}]
