"""Live changes against running daemons: a plan or tool switch changed by an admin moves
the tool list of connected sessions, and Streamable HTTP cancels, duplicate ids and
server-stream notifications work across two instances sharing Redis."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.mcp.support import Raw, api_key, start

PW = "correct horse battery staple 9"
LIST_CHANGED = "notifications/tools/list_changed"
ACCEPT = "application/json, text/event-stream"
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "t", "version": "1"}}}


async def tool_names(c: Raw) -> set[str]:
    out: set[str] = set()
    params: dict[str, Any] = {}
    while True:
        res = (await c.call("tools/list", params))["result"]
        out |= {t["name"] for t in res["tools"]}
        if "nextCursor" not in res:
            return out
        params = {"cursor": res["nextCursor"]}


async def next_message(c: Raw) -> dict[str, Any]:
    """The next frame; a ping answered after it proves nothing else came first."""
    return await c.recv(timeout=5)


async def quiet(c: Raw) -> None:
    """Nothing was sent before the answer to this ping (notifications go out before the
    admin's REST call returns, so a late one cannot hide behind it)."""
    await c.send({"jsonrpc": "2.0", "id": "quiet", "method": "ping"})
    assert await c.recv(timeout=5) == {"jsonrpc": "2.0", "id": "quiet", "result": {}}


async def test_plan_and_tool_switch_changes_reach_live_sessions(daemon_factory):
    d = start(daemon_factory)
    d.cli("admin", "create-tenant", "--name", "live")
    d.cli("admin", "create-user", "--tenant", "live", "--email", "boss@live.example",
          "--role", "admin", "--password-file", "-", input=PW)
    trial = api_key(d, tier="trial", tenant="live")
    starter = api_key(d, tier="starter", tenant="live")
    async with httpx.AsyncClient(base_url=d.http_url, timeout=10) as h:
        r = await h.post("/api/auth/login", json={"email": "boss@live.example", "password": PW})
        assert r.status_code == 200, r.text
        jwt = r.json()["access_token"]
        admin = {"Authorization": f"Bearer {jwt}"}
        tenant_id = r.json()["user"]["tenant_id"]

        by_jwt, by_trial, by_user = [await Raw.open(d.ws_url, t) for t in (jwt, trial, starter)]
        for c in (by_jwt, by_trial, by_user):
            await c.initialize()
        seen_trial, seen_user = await tool_names(by_trial), await tool_names(by_user)
        assert seen_user - seen_trial == {"detect_patterns", "analyze_performance_trends"}
        assert "test_pro_only" not in await tool_names(by_jwt)

        # Refusals first: wrong tier, unknown tool, a plain user.
        r = await h.patch(f"/api/admin/tenants/{tenant_id}", json={"tier": "gold"},
                          headers=admin)
        assert r.status_code == 400 and r.json()["details"]["field"] == "tier"
        r = await h.patch("/api/tenant/settings", json={"disabled_tools": ["nope"]},
                          headers=admin)
        assert r.status_code == 400 and "nope" in r.json()["message"]
        r = await h.patch("/api/tenant/settings", json={"disabled_tools": []},
                          headers={"Authorization": f"Bearer {starter}"})
        assert r.status_code == 403
        await quiet(by_jwt)

        # The plan moves the JWT session (its tier is the plan); keys keep their own tier.
        r = await h.patch("/api/admin/tenants/live", json={"tier": "professional"},
                          headers=admin)
        assert r.status_code == 200 and r.json()["settings"]["tier"] == "professional"
        assert (await next_message(by_jwt))["method"] == LIST_CHANGED
        assert "test_pro_only" in await tool_names(by_jwt)
        await quiet(by_trial)
        await quiet(by_user)

        # The tenant switch moves everyone in the tenant.
        r = await h.patch("/api/tenant/settings", json={"disabled_tools": ["test_echo"]},
                          headers=admin)
        assert r.json() == {"tier": "professional", "disabled_tools": ["test_echo"]}
        for c in (by_jwt, by_trial, by_user):
            assert (await next_message(c))["method"] == LIST_CHANGED
        assert "test_echo" not in await tool_names(by_user)
        res = await by_user.call("tools/call", {"name": "test_echo", "arguments": {"count": 1}})
        assert res["error"]["code"] == -32602
        assert (await h.get("/api/tenant/settings", headers=admin)).json()[
            "disabled_tools"] == ["test_echo"]
        for c in (by_jwt, by_trial, by_user):
            await c.close()


@pytest.fixture
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    """A key prefix (and so pub/sub channels) of this test alone, removed afterwards."""
    import redis.asyncio as aioredis

    prefix = f"pierre-test-{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = aioredis.from_url(redis_url)
    try:
        keys = [k async for k in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.unlink(*keys)
    finally:
        await client.aclose()


def _events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


@pytest.mark.redis
async def test_cancel_duplicates_and_server_stream_across_instances(
        daemon_factory, redis_url, redis_prefix, tmp_path):
    shared = {"cache": {"backend": "redis", "url": redis_url, "prefix": redis_prefix},
              "database": {"path": str(tmp_path / "shared.db")},
              "server": {"data_dir": str(tmp_path / "shared")}}
    a = start(daemon_factory, shared, name="a")
    key = api_key(a)
    b = start(daemon_factory, shared, name="b")
    auth = {"Authorization": f"Bearer {key}", "Accept": ACCEPT}
    async with httpx.AsyncClient(timeout=15) as h:
        r = await h.post(f"{a.http_url}/mcp", json=INIT, headers=auth)
        s = {**auth, "Mcp-Session-Id": r.headers["Mcp-Session-Id"]}
        plain = {**s, "Accept": "application/json"}
        note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert (await h.post(f"{b.http_url}/mcp", json=note, headers=s)).status_code == 202

        # A long call on A; the same id posted to B is refused; a cancel posted to B ends it.
        slow = {"jsonrpc": "2.0", "id": "long", "method": "tools/call", "params": {
            "name": "test_slow", "arguments": {"steps": 100, "delay_ms": 100}}}
        loop = asyncio.get_running_loop()
        began = loop.time()
        running = asyncio.ensure_future(h.post(f"{a.http_url}/mcp", json=slow, headers=plain))
        await asyncio.sleep(0.5)
        assert not running.done()
        r = await h.post(f"{b.http_url}/mcp", json=slow, headers=plain)
        assert r.json()["error"]["code"] == -32600 and "in flight" in r.json()["error"]["message"]
        cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled",
                  "params": {"requestId": "long", "reason": "user stop"}}
        assert (await h.post(f"{b.http_url}/mcp", json=cancel, headers=s)).status_code == 202
        r = await asyncio.wait_for(running, 5)
        assert r.status_code == 202 and r.content == b""  # cancelled: no response at all
        assert loop.time() - began < 5  # the call alone would take 10 s
        assert any(e.get("event") == "mcp_cancelled" and e.get("request_id") == "long"
                   for e in a.log_events())

        # The server stream is held by A; everything below is posted to B.
        async with h.stream("GET", f"{a.http_url}/mcp",
                            headers={**s, "Accept": "text/event-stream"}) as stream:
            lines = stream.aiter_lines()

            async def next_event() -> dict[str, Any]:
                line = ""
                while not line.startswith("data: "):
                    line = await asyncio.wait_for(anext(lines), 10)
                return json.loads(line[6:])

            sub = {"jsonrpc": "2.0", "id": 2, "method": "resources/subscribe",
                   "params": {"uri": "pierre://athlete"}}
            assert (await h.post(f"{b.http_url}/mcp", json=sub, headers=plain)).json()[
                "result"] == {}
            touch = {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                     "params": {"name": "test_touch", "arguments": {}}}
            r = await h.post(f"{b.http_url}/mcp", json=touch, headers=plain)
            assert r.json()["result"]["isError"] is False
            assert await next_event() == {"jsonrpc": "2.0",
                                          "method": "notifications/resources/updated",
                                          "params": {"uri": "pierre://athlete"}}
            # The operator's CLI (configured like B) publishes through Redis.
            out = await asyncio.to_thread(b.cli, "admin", "set-tools", "--tenant", "t1",
                                          "--disable", "test_echo")
            assert "live MCP sessions updated" in out.stdout
            assert (await next_event())["method"] == LIST_CHANGED
            echo = {"jsonrpc": "2.0", "id": 4, "method": "tools/call",
                    "params": {"name": "test_echo", "arguments": {"count": 1}}}
            r = await h.post(f"{b.http_url}/mcp", json=echo, headers=plain)
            assert r.json()["error"]["code"] == -32602
            # DELETE on B ends the stream held by A.
            assert (await h.delete(f"{b.http_url}/mcp", headers=s)).status_code == 204
            with pytest.raises(StopAsyncIteration):
                while True:
                    await asyncio.wait_for(anext(lines), 10)
