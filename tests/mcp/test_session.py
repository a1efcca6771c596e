"""The MCP session engine, driven with strings in and messages out (no sockets)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from pierre.errors import RateLimited
from pierre.protocol import jsonrpc as rpc
from pierre.protocol.mcp import (
    LATEST_VERSION,
    PAGE_SIZE,
    SUPPORTED_VERSIONS,
    McpEngine,
    McpSession,
    decode_cursor,
    encode_cursor,
)
from pierre.services import Services
from tests.mcp.conftest import Peer, initialize, note, req


async def settle(session: McpSession) -> None:
    """Wait for every concurrent call of the session to finish."""
    for _ in range(200):
        tasks = list((session._inflight or {}).values())
        if not tasks:
            return
        await asyncio.gather(*tasks, return_exceptions=True)


async def call(session: McpSession, peer: Peer, id: Any, method: str,
               params: dict[str, Any] | None = None) -> dict[str, Any]:
    await session.feed(req(id, method, params))
    await settle(session)
    return peer.responses()[id]


# -- JSON-RPC framing -------------------------------------------------------------
async def test_invalid_json_is_a_parse_error_with_null_id(session: McpSession, peer: Peer):
    await session.feed('{"jsonrpc": "2.0", "id": 1, "method": ')
    [msg] = peer.take()
    assert msg["id"] is None and msg["error"]["code"] == rpc.PARSE_ERROR
    assert "result" not in msg


@pytest.mark.parametrize("raw", [
    "5", '"text"', "null", "true",
    '{"id": 1, "method": "ping"}',
    '{"jsonrpc": "1.0", "id": 1, "method": "ping"}',
    '{"jsonrpc": "2.0", "id": 1, "method": 7}',
    '{"jsonrpc": "2.0", "id": null, "method": "ping"}',
    '{"jsonrpc": "2.0", "id": 1.5, "method": "ping"}',
    '{"jsonrpc": "2.0", "id": true, "method": "ping"}',
    '{"jsonrpc": "2.0", "id": {"a": 1}, "method": "ping"}',
    '{"jsonrpc": "2.0", "id": 3, "method": "ping", "params": "x"}',
    '{"jsonrpc": "2.0", "id": 3}',
])
async def test_malformed_messages_are_invalid_requests(session: McpSession, peer: Peer, raw):
    await session.feed(raw)
    [msg] = peer.take()
    assert msg["error"]["code"] == rpc.INVALID_REQUEST
    assert msg["id"] in (None, 1, 3)
    # The session stays usable afterwards.
    await session.feed(req(99, "ping"))
    assert peer.take() == [{"jsonrpc": "2.0", "id": 99, "result": {}}]


async def test_ping_works_before_initialize_and_other_requests_do_not(session, peer):
    await session.feed(req(1, "ping"))
    await session.feed(req(2, "tools/list"))
    out = peer.take()
    assert out[0] == {"jsonrpc": "2.0", "id": 1, "result": {}}
    assert out[1]["error"]["code"] == rpc.INVALID_REQUEST
    assert "initialize" in out[1]["error"]["message"]


@pytest.mark.parametrize("asked,expected", [
    *[(v, v) for v in SUPPORTED_VERSIONS], ("1999-01-01", LATEST_VERSION),
    ("2026-12-31", LATEST_VERSION)])
async def test_version_negotiation(session, peer, asked, expected):
    res = (await initialize(session, peer, asked))["result"]
    assert res["protocolVersion"] == expected
    assert set(res["capabilities"]) >= {"tools", "resources", "prompts", "logging",
                                        "completions"}
    assert res["capabilities"]["resources"]["subscribe"] is True
    assert res["serverInfo"]["name"] == "pierre" and "Pierre" in res["instructions"]


async def test_second_initialize_is_refused(session, peer):
    await initialize(session, peer)
    await session.feed(req(2, "initialize", {"protocolVersion": LATEST_VERSION}))
    assert peer.take()[0]["error"]["code"] == rpc.INVALID_REQUEST


async def test_initialize_without_version_is_invalid_params(session, peer):
    await session.feed(req(1, "initialize", {"capabilities": {}}))
    assert peer.take()[0]["error"]["code"] == rpc.INVALID_PARAMS


@pytest.mark.parametrize("method", ["server/discover", "tools/frobnicate", "sampling/x", "x"])
async def test_unknown_methods_are_method_not_found(session, peer, method):
    await initialize(session, peer)
    msg = await call(session, peer, 5, method, {})
    assert msg["error"]["code"] == rpc.METHOD_NOT_FOUND and method in msg["error"]["message"]


@pytest.mark.parametrize("version", ["2025-06-18", "2025-11-25"])
async def test_batches_are_refused_from_2025_06_18(session, peer, version):
    await initialize(session, peer, version)
    await session.feed(f"[{req(1, 'ping')}, {req(2, 'ping')}]")
    [msg] = peer.take()
    assert isinstance(msg, list) and msg[0]["error"]["code"] == rpc.INVALID_REQUEST


async def test_batches_work_for_2025_03_26(session, peer):
    await initialize(session, peer, "2025-03-26")
    await session.feed(f"[{req(1, 'ping')}, {note('notifications/x')}, 7, {req(2, 'ping')}]")
    [batch] = peer.take()
    assert [m.get("id") for m in batch] == [1, None, 2]
    assert batch[1]["error"]["code"] == rpc.INVALID_REQUEST


async def test_request_ids_are_never_reused(session, peer):
    await initialize(session, peer)
    await session.feed(req(7, "ping"))
    await session.feed(req(7, "ping"))
    await session.feed(req("init", "ping"))
    a, b, c = peer.take()
    assert "result" in a
    assert b["error"]["code"] == rpc.INVALID_REQUEST and b["id"] == 7
    assert c["error"]["code"] == rpc.INVALID_REQUEST


async def test_duplicate_id_of_call_in_flight_is_refused(session, peer):
    await initialize(session, peer)
    await session.feed(req(1, "tools/call", {"name": "test_slow",
                                             "arguments": {"steps": 1, "delay_ms": 50}}))
    await session.feed(req(1, "tools/call", {"name": "test_echo", "arguments": {"count": 1}}))
    await settle(session)
    out = [m for m in peer.take() if "id" in m]
    assert out[0]["error"]["code"] == rpc.INVALID_REQUEST
    assert out[1]["result"]["structuredContent"] == {"steps": 1}


# -- tools ------------------------------------------------------------------------
async def test_tools_list_paginates_with_opaque_cursors(session, peer, services: Services):
    await initialize(session, peer)
    names, cursor, pages = [], None, 0
    while True:
        res = (await call(session, peer, f"l{pages}", "tools/list",
                          {"cursor": cursor} if cursor else {}))["result"]
        assert len(res["tools"]) <= PAGE_SIZE
        names += [t["name"] for t in res["tools"]]
        pages += 1
        cursor = res.get("nextCursor")
        if cursor is None:
            break
        assert not cursor.isdigit()
    expected = [s.name for s in services.tools.visible_to("starter")]
    assert names == expected and pages == -(-len(expected) // PAGE_SIZE) and pages > 1
    assert "test_pro_only" not in names
    tool = next(t for t in res["tools"]) if res["tools"] else None
    assert tool is None or {"name", "title", "description", "inputSchema", "outputSchema",
                            "annotations"} <= set(tool)


@pytest.mark.parametrize("cursor", ["nope", 12, encode_cursor(-1)[:-1] + "x", "bzotMQ"])
async def test_bad_cursor_is_invalid_params(session, peer, cursor):
    await initialize(session, peer)
    msg = await call(session, peer, 1, "tools/list", {"cursor": cursor})
    assert msg["error"]["code"] == rpc.INVALID_PARAMS


def test_cursor_round_trip():
    assert decode_cursor(encode_cursor(30)) == 30 and decode_cursor(None) == 0


async def test_integral_float_is_an_integer_and_reaches_the_tool_as_int(session, peer):
    await initialize(session, peer)
    res = (await call(session, peer, 1, "tools/call",
                      {"name": "test_echo", "arguments": {"count": 5.0}}))["result"]
    assert res["isError"] is False
    assert res["structuredContent"] == {"count": 5, "label": "", "count_type": "int"}
    assert orjson.loads(res["content"][0]["text"]) == res["structuredContent"]


@pytest.mark.parametrize("args,field", [
    ({"count": 5.5}, "count"), ({"count": "5"}, "count"), ({}, "count"),
    ({"count": 0}, "count"), ({"count": 1, "label": 3}, "label"),
    ({"count": 1, "colour": "red"}, "colour")])
async def test_bad_arguments_are_tool_errors_naming_the_field(session, peer, args, field):
    await initialize(session, peer)
    res = (await call(session, peer, 1, "tools/call",
                      {"name": "test_echo", "arguments": args}))["result"]
    assert res["isError"] is True and "structuredContent" not in res
    assert res["content"][0]["text"].startswith(f"{field}: ")


@pytest.mark.parametrize("name", ["no_such_tool", "test_pro_only"])
async def test_unknown_or_hidden_tool_is_invalid_params(session, peer, name):
    await initialize(session, peer)
    msg = await call(session, peer, 1, "tools/call", {"name": name, "arguments": {}})
    assert msg["error"]["code"] == rpc.INVALID_PARAMS and name in msg["error"]["message"]


@pytest.mark.parametrize("params", [{}, {"name": 3}, {"name": "test_echo", "arguments": [1]}])
async def test_malformed_call_params_are_invalid_params(session, peer, params):
    await initialize(session, peer)
    msg = await call(session, peer, 1, "tools/call", params)
    assert msg["error"]["code"] == rpc.INVALID_PARAMS


async def test_provider_failure_is_a_tool_error_not_a_protocol_error(session, peer):
    await initialize(session, peer)
    res = (await call(session, peer, 1, "tools/call", {"name": "test_fail"}))["result"]
    assert res["isError"] is True and "Strava" in res["content"][0]["text"]


async def test_crash_gives_generic_message_without_internals(session, peer):
    await initialize(session, peer)
    res = (await call(session, peer, 1, "tools/call", {"name": "test_crash"}))["result"]
    text = res["content"][0]["text"]
    assert res["isError"] is True and "passwd" not in text and "Traceback" not in text


async def test_progress_and_log_messages_follow_the_token_and_level(session, peer):
    await initialize(session, peer)
    await call(session, peer, 1, "tools/call", {"name": "test_slow", "_meta": {
        "progressToken": "p1"}, "arguments": {"steps": 3, "delay_ms": 1}})
    progress = peer.notifications("notifications/progress")
    assert [p["params"]["progress"] for p in progress] == [1, 2, 3]
    assert all(p["params"]["progressToken"] == "p1" and p["params"]["total"] == 3
               for p in progress)
    assert len(peer.notifications("notifications/message")) == 3
    peer.take()
    await call(session, peer, 2, "logging/setLevel", {"level": "warning"})
    await call(session, peer, 3, "tools/call", {"name": "test_slow",
                                                "arguments": {"steps": 2, "delay_ms": 1}})
    assert peer.notifications("notifications/message") == []
    assert peer.notifications("notifications/progress") == []  # no token, no progress


async def test_set_level_rejects_unknown_levels(session, peer):
    await initialize(session, peer)
    msg = await call(session, peer, 1, "logging/setLevel", {"level": "loud"})
    assert msg["error"]["code"] == rpc.INVALID_PARAMS


async def test_cancelled_call_stops_and_gets_no_response(session, peer):
    await initialize(session, peer)
    await session.feed(req(1, "tools/call", {"name": "test_slow",
                                             "arguments": {"steps": 50, "delay_ms": 20}}))
    await asyncio.sleep(0.05)
    task = session._inflight[1]  # type: ignore[index]
    await session.feed(note("notifications/cancelled", {"requestId": 1, "reason": "user"}))
    await settle(session)
    assert task.done()
    assert 1 not in peer.responses()
    assert len(peer.notifications("notifications/message")) < 10


async def test_calls_run_concurrently_and_answer_out_of_order(session, peer):
    await initialize(session, peer)
    await session.feed(req(1, "tools/call", {"name": "test_slow",
                                             "arguments": {"steps": 1, "delay_ms": 100}}))
    await session.feed(req(2, "tools/call", {"name": "test_echo", "arguments": {"count": 2}}))
    await settle(session)
    ids = [m["id"] for m in peer.out if "id" in m]
    assert ids == [2, 1]


async def test_rate_limit_is_a_json_rpc_error_with_retry_time(session, peer, services):
    class Limits:
        async def check_call(self, principal: Any) -> None:
            raise RateLimited("over the limit", retry_after=2.5, scope="key")

    services.limits = Limits()
    await initialize(session, peer)
    msg = await call(session, peer, 1, "tools/call", {"name": "test_echo",
                                                      "arguments": {"count": 1}})
    assert msg["error"]["code"] == rpc.RATE_LIMITED
    assert msg["error"]["data"]["retry_after_s"] == 2.5 and "3 s" in msg["error"]["message"]


async def test_tenant_switch_hides_a_tool(session, peer, services):
    class Db:
        async def get_tenant(self, tenant_id: str) -> dict[str, Any]:
            return {"id": tenant_id, "settings": {"disabled_tools": ["test_echo"]}}

    services.db = Db()
    await initialize(session, peer)
    msg = await call(session, peer, 1, "tools/call", {"name": "test_echo",
                                                      "arguments": {"count": 1}})
    assert msg["error"]["code"] == rpc.INVALID_PARAMS


async def test_list_changed_only_when_the_visible_set_moves(session, peer, engine: McpEngine,
                                                            services):
    await initialize(session, peer)
    await call(session, peer, 1, "tools/list")
    peer.take()
    await engine.on_tools_changed()
    assert peer.notifications("notifications/tools/list_changed") == []
    services.tools.globally_disabled = frozenset({"test_echo"})
    await engine.on_tools_changed()
    assert len(peer.notifications("notifications/tools/list_changed")) == 1


# -- resources, prompts, completion -----------------------------------------------------
async def test_resources_list_read_and_unknown(session, peer):
    await initialize(session, peer)
    listed = (await call(session, peer, 1, "resources/list"))["result"]["resources"]
    assert {r["uri"] for r in listed} == {"pierre://athlete", "pierre://training-load"}
    tmpl = (await call(session, peer, 2, "resources/templates/list"))["result"]
    assert tmpl["resourceTemplates"][0]["uriTemplate"] == "pierre://activities/{id}"
    read = (await call(session, peer, 3, "resources/read",
                       {"uri": "pierre://activities/1001"}))["result"]["contents"][0]
    assert read["mimeType"] == "application/json"
    assert orjson.loads(read["text"])["id"] == "1001"
    for i, uri in enumerate(["pierre://nothing", "pierre://activities/9", "https://x"]):
        msg = await call(session, peer, f"u{i}", "resources/read", {"uri": uri})
        assert msg["error"]["code"] == rpc.RESOURCE_NOT_FOUND


async def test_subscribed_resource_is_announced_after_a_change(session, peer, engine,
                                                               principal):
    other = Peer()
    stranger = engine.open(principal.__class__(tenant_id="t2", user_id="u9"), other.send,
                           transport="test")
    await initialize(session, peer)
    await initialize(stranger, other)
    for s in (session, stranger):
        await s.feed(req(1, "resources/subscribe", {"uri": "pierre://athlete"}))
    await call(session, peer, 2, "tools/call", {"name": "test_touch"})
    assert [n["params"]["uri"] for n in peer.notifications(
        "notifications/resources/updated")] == ["pierre://athlete"]
    assert other.notifications("notifications/resources/updated") == []
    await call(session, peer, 3, "resources/unsubscribe", {"uri": "pierre://athlete"})
    peer.take()
    await call(session, peer, 4, "tools/call", {"name": "test_touch"})
    assert peer.notifications("notifications/resources/updated") == []


async def test_prompts_and_completion(session, peer):
    await initialize(session, peer)
    names = [p["name"] for p in (await call(session, peer, 1, "prompts/list"))["result"][
        "prompts"]]
    assert names == ["weekly_training_review", "race_preparation"]
    got = (await call(session, peer, 2, "prompts/get", {"name": "race_preparation", "arguments": {
        "race_distance": "marathon", "race_date": "2027-04-18"}}))["result"]
    assert "marathon" in got["messages"][0]["content"]["text"]
    missing = await call(session, peer, 3, "prompts/get", {"name": "race_preparation"})
    assert missing["error"]["code"] == rpc.INVALID_PARAMS
    assert "race_distance" in missing["error"]["message"]
    comp = (await call(session, peer, 4, "completion/complete", {
        "ref": {"type": "ref/prompt", "name": "race_preparation"},
        "argument": {"name": "race_distance", "value": "ma"}}))["result"]["completion"]
    assert comp["values"] == ["marathon"] and comp["hasMore"] is False
    ids = (await call(session, peer, 5, "completion/complete", {
        "ref": {"type": "ref/resource", "uri": "pierre://activities/{id}"},
        "argument": {"name": "id", "value": "100"}}))["result"]["completion"]["values"]
    assert ids == [str(1000 + i) for i in range(5)]


async def test_server_can_ping_the_client(session, peer):
    async def answer() -> None:
        while not peer.out:  # noqa: ASYNC110 - polling a plain list
            await asyncio.sleep(0.001)
        ping = peer.take()[0]
        assert ping["method"] == "ping"
        await session.feed(orjson.dumps({"jsonrpc": "2.0", "id": ping["id"], "result": {}}))

    responder = asyncio.create_task(answer())
    assert await session.request_peer("ping", timeout=2) == {}
    await responder


async def test_close_cancels_in_flight_calls(session, peer, engine):
    await initialize(session, peer)
    await session.feed(req(1, "tools/call", {"name": "test_slow",
                                             "arguments": {"steps": 50, "delay_ms": 20}}))
    await asyncio.sleep(0.01)
    task = session._inflight[1]  # type: ignore[index]
    session.close()
    await asyncio.gather(task, return_exceptions=True)
    assert task.done() and 1 not in peer.responses() and session not in engine.sessions
