"""The raw WebSocket listener, driven over real sockets against a running daemon."""

from __future__ import annotations

import asyncio
import json
import signal
from typing import Any

import pytest
from mcp import ClientSession
from mcp.client.websocket import websocket_client
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.mcp.support import Raw, api_key, start

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def test_sdk1_websocket_client_with_query_token(daemon_factory):
    d = start(daemon_factory)
    key = api_key(d)
    logs: list[Any] = []
    updates: list[str] = []
    progress: list[float] = []

    async def on_log(params: Any) -> None:
        logs.append(params.data)

    async def on_message(msg: Any) -> None:
        root = getattr(msg, "root", None)
        if getattr(root, "method", None) == "notifications/resources/updated":
            updates.append(str(root.params.uri))

    async def on_progress(p: float, total: float | None, message: str | None) -> None:
        progress.append(p)

    async with websocket_client(f"{d.ws_url}?token={key}") as (read, write), \
            ClientSession(read, write, logging_callback=on_log,
                          message_handler=on_message) as s:
        init = await s.initialize()
        assert init.serverInfo.name == "pierre" and init.instructions
        assert init.capabilities.tools and init.capabilities.tools.listChanged
        names, cursor, pages = [], None, 0
        while True:
            page = await s.list_tools(cursor=cursor)
            names += [t.name for t in page.tools]
            pages += 1
            cursor = page.nextCursor
            if not cursor:
                break
        assert pages >= 2 and len(names) == len(set(names))
        assert {"test_echo", "test_slow", "get_athlete"} <= set(names)
        assert "test_pro_only" not in names  # starter tier

        res = await s.call_tool("test_echo", {"count": 5.0})
        assert not res.isError and res.structuredContent == {
            "count": 5, "label": "", "count_type": "int"}
        bad = await s.call_tool("test_echo", {"count": 0})
        assert bad.isError and bad.content[0].text.startswith("count: ")

        # Resources read the user's data through the catalog: connect the synthetic athlete.
        connected = await s.call_tool("connect_provider", {"provider": "synthetic"})
        assert not connected.isError, connected.content
        listed = await s.list_resources()
        assert "pierre://athlete" in {str(r.uri) for r in listed.resources}
        athlete = await s.read_resource("pierre://athlete")  # type: ignore[arg-type]
        assert json.loads(athlete.contents[0].text)  # type: ignore[union-attr]
        await s.subscribe_resource("pierre://athlete")  # type: ignore[arg-type]
        await s.call_tool("test_touch", {})
        prompts = await s.list_prompts()
        assert {p.name for p in prompts.prompts} == {"weekly_training_review",
                                                     "race_preparation"}
        got = await s.get_prompt("race_preparation", {"race_distance": "10k",
                                                       "race_date": "2027-05-01"})
        assert "10k" in got.messages[0].content.text  # type: ignore[union-attr]
        from mcp.types import PromptReference

        comp = await s.complete(PromptReference(type="ref/prompt", name="race_preparation"),
                                {"name": "race_distance", "value": "1"})
        assert comp.completion.values == ["10k", "15k"]
        await s.set_logging_level("info")
        slow = await s.call_tool("test_slow", {"steps": 3, "delay_ms": 5},
                                 progress_callback=on_progress)
        assert slow.structuredContent == {"steps": 3}
        await s.send_ping()
    assert progress == [1, 2, 3]
    assert logs == [{"step": 1}, {"step": 2}, {"step": 3}]
    assert updates == ["pierre://athlete"]
    assert key not in d.logs()  # the query token is never logged


async def test_authorization_header_concurrency_and_cancellation(daemon_factory):
    d = start(daemon_factory)
    key = api_key(d)
    c = await Raw.open(d.ws_url, key)
    assert c.ws.subprotocol == "mcp"
    init = await c.initialize("2025-11-25")
    assert init["result"]["protocolVersion"] == "2025-11-25"
    # A slow call and a fast one: the fast answer comes first.
    await c.send({"jsonrpc": "2.0", "id": "slow", "method": "tools/call", "params": {
        "name": "test_slow", "arguments": {"steps": 2, "delay_ms": 150}}})
    fast = await c.call("tools/call", {"name": "test_echo", "arguments": {"count": 3}}, id="fast")
    assert fast["result"]["structuredContent"]["count"] == 3
    assert "slow" not in c.stash
    assert (await c.response("slow"))["result"]["structuredContent"] == {"steps": 2}
    # Cancellation: the call stops and is never answered.
    await c.send({"jsonrpc": "2.0", "id": 50, "method": "tools/call", "params": {
        "name": "test_slow", "arguments": {"steps": 100, "delay_ms": 20}}})
    await asyncio.sleep(0.1)
    await c.send({"jsonrpc": "2.0", "method": "notifications/cancelled",
                  "params": {"requestId": 50, "reason": "user pressed stop"}})
    assert (await c.call("ping"))["result"] == {}
    await asyncio.sleep(0.3)
    assert (await c.call("ping"))["result"] == {}
    assert 50 not in c.stash
    await c.close()
    events = d.log_events()
    assert any(e.get("event") == "mcp_request" and e.get("outcome") == "cancelled"
               for e in events)


async def test_handshake_refusals_happen_before_the_upgrade(daemon_factory):
    d = start(daemon_factory, {"mcp": {"allow_query_token": False, "max_connections": 2}})
    key = api_key(d)
    for url, headers, status in [
        (d.ws_url, {}, 401),
        (d.ws_url, {"Authorization": "Bearer pk_live_not_a_real_key_000000000000"}, 401),
        (f"{d.ws_url}?token={key}", {}, 401),  # query tokens disabled here
        (d.ws_url.replace("/mcp", "/elsewhere"), {"Authorization": f"Bearer {key}"}, 404),
    ]:
        with pytest.raises(InvalidStatus) as info:
            await connect(url, additional_headers=headers)
        assert info.value.response.status_code == status
        if status == 401:
            assert "Bearer" in info.value.response.headers.get("WWW-Authenticate", "")
    # No subprotocol offered: still served, none echoed.
    plain = await connect(d.ws_url, additional_headers={"Authorization": f"Bearer {key}"})
    assert plain.subprotocol is None
    second = await Raw.open(d.ws_url, key)
    with pytest.raises(InvalidStatus) as info:
        await connect(d.ws_url, additional_headers={"Authorization": f"Bearer {key}"})
    assert info.value.response.status_code == 503
    await plain.close()
    await second.close()


async def test_malformed_input_keeps_the_connection_and_the_daemon(daemon_factory):
    d = start(daemon_factory, {"mcp": {"max_message_bytes": 65_536}})
    key = api_key(d)
    c = await Raw.open(d.ws_url, key)
    # Before initialize only ping is served.
    assert (await c.call("tools/list"))["error"]["code"] == -32600
    assert (await c.call("ping"))["result"] == {}
    await c.initialize()
    await c.send("{not json")
    assert (await c.response(None))["error"]["code"] == -32700
    await c.send(b"\x00\x01binary")
    assert (await c.response(None))["error"]["code"] == -32600
    await c.send('{"jsonrpc": "2.0", "id": null, "method": "ping"}')
    assert (await c.response(None))["error"]["code"] == -32600
    await c.send('{"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": [1, 2]}')
    assert (await c.response(9))["error"]["code"] == -32602
    await c.send("[1, 2]")  # batches are refused for 2025-06-18
    assert (await c.response(None))["batch"][0]["error"]["code"] == -32600
    for method in ("server/discover", "nope"):
        assert (await c.call(method, {}))["error"]["code"] == -32601
    assert (await c.call("ping", id=77))["result"] == {}
    assert (await c.call("ping", id=77))["error"]["code"] == -32600  # ids are not reused
    assert (await c.call("tools/call", {"name": "test_echo", "arguments": {"count": "x"}}))[
        "result"]["isError"] is True
    assert (await c.call("ping"))["result"] == {}
    # A frame over max_message_bytes closes this connection with 1009, nothing else.
    await c.send('{"jsonrpc": "2.0", "id": 1000, "method": "ping", "pad": "'
                 + "x" * 70_000 + '"}')
    with pytest.raises(ConnectionClosed):
        await c.recv(timeout=5)
    assert c.ws.close_code == 1009
    again = await Raw.open(d.ws_url, key)
    await again.initialize()
    assert (await again.call("ping"))["result"] == {}
    await again.close()
    assert d.proc is not None and d.proc.poll() is None


async def test_list_changed_after_reload_and_drain_on_shutdown(daemon_factory):
    d = start(daemon_factory)
    key = api_key(d)
    c = await Raw.open(d.ws_url, key)
    await c.initialize()
    await c.call("tools/list")
    d.config["mcp"]["disabled_tools"] = ["test_echo"]
    d.write_config()
    d.signal(signal.SIGHUP)
    note = await c.recv(timeout=10)
    assert note["method"] == "notifications/tools/list_changed"
    assert (await c.call("tools/call", {"name": "test_echo", "arguments": {"count": 1}}))[
        "error"]["code"] == -32602
    # SIGTERM: the in-flight call finishes, then the socket closes with 1001.
    await c.send({"jsonrpc": "2.0", "id": "last", "method": "tools/call", "params": {
        "name": "test_slow", "arguments": {"steps": 3, "delay_ms": 100}}})
    await asyncio.sleep(0.1)
    d.signal(signal.SIGTERM)
    assert (await c.response("last", timeout=10))["result"]["structuredContent"] == {"steps": 3}
    with pytest.raises(ConnectionClosed):
        await c.recv(timeout=10)
    assert c.ws.close_code == 1001
