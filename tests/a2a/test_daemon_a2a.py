"""A2A against a running daemon, with the official a2a-sdk 1.x client and raw JSON-RPC."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
from a2a.types.a2a_pb2 import (
    CancelTaskRequest,
    GetTaskRequest,
    Message,
    Part,
    Role,
    SendMessageRequest,
    TaskState,
)
from a2a.utils.errors import TaskNotCancelableError
from aiohttp import web
from google.protobuf import struct_pb2

from tests.a2a.conftest import Agent, make_agent
from tests.support.daemon import DaemonProcess


def _rpc(agent: Agent, token: str, method: str, params: Any, *, version: str | None = "1.0",
         rid: Any = 1, headers: dict[str, str] | None = None) -> dict[str, Any]:
    h = {"Authorization": f"Bearer {token}", **(headers or {})}
    if version is not None:
        h["A2A-Version"] = version
    r = httpx.post(f"{agent.url}/a2a", json={"jsonrpc": "2.0", "id": rid, "method": method,
                                              "params": params}, headers=h)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _tool_message(tool: str, args: dict[str, Any] | None = None) -> Message:
    data = struct_pb2.Value()
    data.struct_value.update({"tool": tool, "arguments": args or {}})
    return Message(message_id=str(uuid.uuid4()), role=Role.ROLE_USER, parts=[Part(data=data)])


async def _client(agent: Agent, token: str, *, streaming: bool = False) -> Any:
    http = httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
    card = await A2ACardResolver(http, agent.url).get_agent_card()
    return ClientFactory(ClientConfig(httpx_client=http, streaming=streaming)).create(card), http


async def test_sdk_reads_card_and_runs_a_tool_then_gets_the_task(agent: Agent) -> None:
    token = agent.token()
    client, http = await _client(agent, token)
    try:
        events = [e async for e in client.send_message(
            SendMessageRequest(message=_tool_message("get_connection_status")))]
        task = events[-1].task
        assert task.status.state == TaskState.TASK_STATE_COMPLETED, task
        parts = task.artifacts[0].parts
        assert parts[0].HasField("data") and parts[1].text.startswith("get_connection_status")
        got = await client.get_task(GetTaskRequest(id=task.id, history_length=1))
        assert got.id == task.id and len(got.history) == 1
        assert got.history[0].role == Role.ROLE_AGENT
    finally:
        await http.aclose()


async def test_sdk_streams_status_and_artifact_updates(agent: Agent) -> None:
    client, http = await _client(agent, agent.token(), streaming=True)
    try:
        events = [e async for e in client.send_message(
            SendMessageRequest(message=_tool_message("get_connection_status")))]
        kinds = [e.WhichOneof("payload") for e in events]
        assert kinds[0] == "task" and "artifact_update" in kinds
        assert events[-1].status_update.status.state == TaskState.TASK_STATE_COMPLETED
    finally:
        await http.aclose()


async def test_text_without_a_tool_asks_for_input_until_a_follow_up_names_one(
        a2a_factory: Callable[..., Agent]) -> None:
    """Outside conformance mode: input-required, a vague follow-up asks again (never fails
    the task), a follow-up naming a tool runs it, and the finished task cannot be canceled."""
    agent = a2a_factory({"conformance_mode": False})
    client, http = await _client(agent, agent.token())
    try:
        msg = Message(message_id=str(uuid.uuid4()), role=Role.ROLE_USER,
                      parts=[Part(text="sing me a song about pancakes")])
        task = [e async for e in client.send_message(SendMessageRequest(message=msg))][-1].task
        assert task.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
        assert "get_connection_status" in task.status.message.parts[0].text
        vague = Message(message_id=str(uuid.uuid4()), role=Role.ROLE_USER, task_id=task.id,
                        parts=[Part(text="and one about waffles")])
        again = [e async for e in client.send_message(SendMessageRequest(message=vague))][-1]
        assert again.task.id == task.id
        assert again.task.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
        follow = Message(message_id=str(uuid.uuid4()), role=Role.ROLE_USER, task_id=task.id,
                         context_id=task.context_id,
                         parts=[Part(text="what is my training load")])
        done = [e async for e in client.send_message(SendMessageRequest(message=follow))][-1]
        assert done.task.id == task.id
        assert done.task.status.state in (TaskState.TASK_STATE_COMPLETED,
                                          TaskState.TASK_STATE_FAILED)
        assert done.task.status.message.parts[0].text  # says what happened
        got = await client.get_task(GetTaskRequest(id=task.id))
        assert [m.role for m in got.history].count(Role.ROLE_USER) == 3
        with pytest.raises(TaskNotCancelableError):
            await client.cancel_task(CancelTaskRequest(id=task.id))  # terminal now
    finally:
        await http.aclose()


def test_conformance_mode_text_works_like_the_kit_reference_agent(agent: Agent) -> None:
    """Plain text starts work that stays `working`; follow-ups are accepted; cancel ends it;
    a stream of such a message closes after the working update."""
    token = agent.token()
    first = _rpc(agent, token, "SendMessage", {"message": {
        "messageId": str(uuid.uuid4()), "role": "ROLE_USER", "parts": [{"text": "Hello"}]}}
    )["result"]["task"]
    assert first["status"]["state"] == "TASK_STATE_WORKING"
    more = _rpc(agent, token, "SendMessage", {"message": {
        "messageId": str(uuid.uuid4()), "role": "ROLE_USER", "taskId": first["id"],
        "parts": [{"text": "More"}]}})["result"]["task"]
    assert more["id"] == first["id"] and more["status"]["state"] == "TASK_STATE_WORKING"
    assert len(more["history"]) == 2
    canceled = _rpc(agent, token, "CancelTask", {"id": first["id"]})["result"]
    assert canceled["status"]["state"] == "TASK_STATE_CANCELED"
    with httpx.stream("POST", f"{agent.url}/a2a", json={
        "jsonrpc": "2.0", "id": 2, "method": "SendStreamingMessage", "params": {"message": {
            "messageId": str(uuid.uuid4()), "role": "ROLE_USER", "parts": [{"text": "hi"}]}}},
            headers={"Authorization": f"Bearer {token}"}, timeout=10) as r:
        import json

        events = [json.loads(line[5:]) for line in r.iter_lines() if line.startswith("data:")]
    assert [next(iter(e["result"])) for e in events] == ["task", "statusUpdate"]
    assert events[1]["result"]["statusUpdate"]["status"]["state"] == "TASK_STATE_WORKING"


def test_list_tasks_pages_count_and_filter(agent: Agent) -> None:
    token = agent.token()
    ctx = f"list-{uuid.uuid4()}"
    ids = [_rpc(agent, token, "SendMessage", {"message": {
        "messageId": str(uuid.uuid4()), "role": "ROLE_USER", "contextId": ctx,
        "parts": [{"text": f"task {i}"}]}})["result"]["task"]["id"] for i in range(3)]
    page1 = _rpc(agent, token, "ListTasks", {"contextId": ctx, "pageSize": 2})["result"]
    assert (page1["pageSize"], page1["totalSize"], len(page1["tasks"])) == (2, 3, 2)
    assert [t["id"] for t in page1["tasks"]] == ids[::-1][:2]  # newest first
    assert page1["nextPageToken"]
    page2 = _rpc(agent, token, "ListTasks", {"context_id": ctx, "page_size": 2,
                                             "page_token": page1["nextPageToken"]})["result"]
    assert [t["id"] for t in page2["tasks"]] == ids[:1]
    assert (page2["pageSize"], page2["totalSize"], page2["nextPageToken"]) == (1, 3, "")
    later = _rpc(agent, token, "ListTasks", {"contextId": ctx,
                                             "statusTimestampAfter": "2999-01-01T00:00:00Z"})
    assert later["result"] == {"tasks": [], "nextPageToken": "", "pageSize": 0, "totalSize": 0}
    since = _rpc(agent, token, "ListTasks", {"contextId": ctx,
                                             "statusTimestampAfter": "2000-01-01T00:00:00Z"})
    assert since["result"]["totalSize"] == 3
    for bad in ({"pageSize": 0}, {"pageSize": 101}, {"statusTimestampAfter": "-1"},
                {"pageToken": "nope"}):
        assert _rpc(agent, token, "ListTasks", bad)["error"]["code"] == -32602, bad


def test_streaming_errors_arrive_as_an_event_stream(agent: Agent) -> None:
    with httpx.stream("POST", f"{agent.url}/a2a", json={
        "jsonrpc": "2.0", "id": 7, "method": "SubscribeToTask", "params": {"id": "no-such"}},
            headers={"Authorization": f"Bearer {agent.token()}"}, timeout=10) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        import json

        events = [json.loads(line[5:]) for line in r.iter_lines() if line.startswith("data:")]
    assert len(events) == 1 and events[0]["id"] == 7
    assert events[0]["error"]["code"] == -32001


def test_push_configs_by_proto_field_names(agent: Agent) -> None:
    """ProtoJSON accepts `task_id` as well as `taskId`; the kit sends the former."""
    token = agent.token()
    task = _rpc(agent, token, "SendMessage", {"message": {
        "messageId": "tck-input-required-pc", "role": "ROLE_USER", "parts": [{"text": "x"}]}}
    )["result"]["task"]
    made = _rpc(agent, token, "CreateTaskPushNotificationConfig", {
        "task_id": task["id"], "id": "cfg-1", "url": "https://example.com/hook"})["result"]
    assert made == {"taskId": task["id"], "id": "cfg-1", "url": "https://example.com/hook"}
    listed = _rpc(agent, token, "ListTaskPushNotificationConfigs", {"task_id": task["id"]})
    assert [c["id"] for c in listed["result"]["configs"]] == ["cfg-1"]
    got = _rpc(agent, token, "GetTaskPushNotificationConfig", {"task_id": task["id"],
                                                               "id": "cfg-1"})
    assert got["result"]["url"] == "https://example.com/hook"
    assert _rpc(agent, token, "DeleteTaskPushNotificationConfig",
                {"task_id": task["id"], "id": "cfg-1"})["result"] is None
    gone = _rpc(agent, token, "GetTaskPushNotificationConfig", {"task_id": task["id"],
                                                                "id": "cfg-1"})
    assert gone["error"]["code"] == -32001


def test_cards_one_shape_per_dialect(agent: Agent) -> None:
    v1 = httpx.get(f"{agent.url}/.well-known/agent-card.json").json()
    assert all(len(s) == 1 for s in v1["securitySchemes"].values())
    key = v1["securitySchemes"]["apiKey"]["apiKeySecurityScheme"]
    assert key["location"] == key["in"] == "header"
    assert v1["supportedInterfaces"][0]["protocolVersion"] == "1.0"
    assert (v1["url"], v1["protocolVersion"]) == (f"{agent.url}/a2a", "0.3.0")
    v03 = httpx.get(f"{agent.url}/.well-known/agent.json").json()
    assert v03["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": v1["securitySchemes"]["bearer"]["httpAuthSecurityScheme"]["description"]}
    assert "supportedInterfaces" not in v03
    asked = httpx.get(f"{agent.url}/a2a/.well-known/agent-card.json",
                      headers={"A2A-Version": "0.3"}).json()
    assert asked == v03


async def test_cancel_an_input_required_task(agent: Agent) -> None:
    client, http = await _client(agent, agent.token())
    try:
        msg = Message(message_id="tck-input-required-1", role=Role.ROLE_USER,
                      parts=[Part(text="x")])
        task = [e async for e in client.send_message(SendMessageRequest(message=msg))][-1].task
        canceled = await client.cancel_task(CancelTaskRequest(id=task.id))
        assert canceled.status.state == TaskState.TASK_STATE_CANCELED
    finally:
        await http.aclose()


def test_raw_errors_travel_with_http_200(agent: Agent) -> None:
    token = agent.token()
    h = {"Authorization": f"Bearer {token}", "A2A-Version": "1.0"}
    bad = httpx.post(f"{agent.url}/a2a/", content=b"{nope", headers=h)
    assert bad.status_code == 200 and bad.json()["error"]["code"] == -32700
    assert bad.json()["id"] is None
    ctype = httpx.post(f"{agent.url}/a2a", content=b"{}", headers={**h, "Content-Type":
                                                                    "text/plain"})
    assert ctype.json()["error"]["code"] == -32005
    missing = _rpc(agent, token, "GetTask", {"id": "no-such-task"})
    assert missing["error"]["code"] == -32001
    assert missing["error"]["data"][0]["domain"] == "a2a-protocol.org"
    v03 = _rpc(agent, token, "tasks/get", {"id": "nope"}, version=None)
    assert v03["error"]["code"] == -32001 and "data" not in v03["error"]
    assert _rpc(agent, token, "GetTask", {"id": "x"}, version="9.0")["error"]["code"] == -32009
    assert _rpc(agent, token, "Bogus", {})["error"]["code"] == -32601


def test_v03_dialect_shapes_and_tck_scenarios(agent: Agent) -> None:
    token = agent.token()
    sent = _rpc(agent, token, "message/send", {"message": {
        "kind": "message", "messageId": "tck-artifact-data-1", "role": "user",
        "parts": [{"kind": "text", "text": "x"}]}}, version=None)["result"]
    assert sent["kind"] == "task" and sent["status"]["state"] == "completed"
    assert sent["artifacts"][0]["parts"][0] == {"kind": "data",
                                                "data": {"key": "value", "count": 42}}
    direct = _rpc(agent, token, "message/send", {"message": {
        "messageId": "tck-message-response-1", "role": "user",
        "parts": [{"kind": "text", "text": "x"}]}}, version=None)["result"]
    assert direct["kind"] == "message" and direct["parts"][0]["text"] == "Direct message response"
    other_ctx = _rpc(agent, token, "message/send", {"message": {
        "messageId": "m2", "role": "user", "taskId": sent["id"], "contextId": "other",
        "parts": [{"kind": "text", "text": "x"}]}}, version=None)
    assert other_ctx["error"]["code"] in (-32004, -32602)


def test_sse_stream_is_task_working_artifact_completed(agent: Agent) -> None:
    token = agent.token()
    with httpx.stream("POST", f"{agent.url}/a2a", json={
        "jsonrpc": "2.0", "id": "s1", "method": "SendStreamingMessage", "params": {"message": {
            "messageId": "tck-stream-001", "role": "ROLE_USER", "parts": [{"text": "go"}]}}},
            headers={"Authorization": f"Bearer {token}", "A2A-Version": "1.0"}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        import json

        events = [json.loads(line[5:]) for line in r.iter_lines() if line.startswith("data:")]
    results = [e["result"] for e in events]
    assert [next(iter(x)) for x in results] == ["task", "statusUpdate", "artifactUpdate",
                                                "statusUpdate"]
    assert results[1]["statusUpdate"]["status"]["state"] == "TASK_STATE_WORKING"
    assert results[-1]["statusUpdate"]["status"]["state"] == "TASK_STATE_COMPLETED"
    assert all(e["id"] == "s1" for e in events)


def test_other_tenants_task_is_not_found_and_tasks_survive_restart(
        a2a_factory: Callable[..., Agent]) -> None:
    ann = a2a_factory()
    bob = a2a_factory(tenant="globex", email="bob@example.com", daemon=ann.daemon)
    t_ann = ann.token()
    task = _rpc(ann, t_ann, "SendMessage", {"message": {
        "messageId": "tck-complete-task-1", "role": "ROLE_USER", "parts": [{"text": "x"}]}}
    )["result"]["task"]
    assert task["status"]["message"]["parts"][0]["text"] == "Hello from TCK"
    assert _rpc(bob, bob.token(), "GetTask", {"id": task["id"]})["error"]["code"] == -32001
    ann.daemon.stop()
    ann.daemon.start()
    again = _rpc(ann, ann.token(), "GetTask", {"id": task["id"]})["result"]
    assert again["status"]["state"] == "TASK_STATE_COMPLETED"


def test_token_endpoint_and_credentials(agent: Agent) -> None:
    r = httpx.post(f"{agent.url}/a2a/token", json={"grant_type": "client_credentials",
                                                   "client_id": agent.client_id,
                                                   "client_secret": "wrong"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = httpx.post(f"{agent.url}/a2a", json={"jsonrpc": "2.0", "id": 1, "method": "GetTask",
                                             "params": {"id": "x"}},
                   headers={"Authorization": "Bearer a2at_expired-or-made-up"})
    assert r.status_code == 401 and "secret" not in r.text


def test_expired_token_is_refused(strict: DaemonProcess) -> None:
    agent = make_agent(strict, "expiry", "exp@example.com")
    token = agent.token()
    assert "result" in _rpc(agent, token, "ListTasks", {})
    time.sleep(1.3)
    r = httpx.post(f"{agent.url}/a2a", json={"jsonrpc": "2.0", "id": 1, "method": "ListTasks",
                                             "params": {}},
                   headers={"Authorization": f"Bearer {token}", "A2A-Version": "1.0"})
    assert r.status_code == 401 and "expired" in r.text


async def test_push_notification_reaches_a_local_webhook(agent: Agent) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []
    got = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get("Authorization"), await request.json()))
        got.set()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        token = agent.token()
        async with httpx.AsyncClient() as http:
            r = await http.post(f"{agent.url}/a2a", headers={
                "Authorization": f"Bearer {token}", "A2A-Version": "1.0"}, json={
                "jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {
                    "message": {"messageId": "tck-complete-task-p", "role": "ROLE_USER",
                                "parts": [{"text": "x"}]},
                    "configuration": {"taskPushNotificationConfig": {
                        "url": f"http://127.0.0.1:{port}/hook",
                        "authentication": {"scheme": "Bearer", "credentials": "hook-secret"}}}}})
        assert "result" in r.json(), r.text
        await asyncio.wait_for(got.wait(), 10)
        await asyncio.sleep(0.3)
        assert received[0][0] == "Bearer hook-secret"
        states = [body["statusUpdate"]["status"]["state"] for _, body in received]
        assert "TASK_STATE_COMPLETED" in states
    finally:
        await runner.cleanup()


def test_private_webhook_refused_when_not_allowed(strict: DaemonProcess) -> None:
    agent = make_agent(strict, "hooks", "hook@example.com")
    resp = _rpc(agent, agent.token(), "SendMessage", {
        "message": {"messageId": "tck-complete-task-q", "role": "ROLE_USER",
                    "parts": [{"text": "x"}]},
        "configuration": {"taskPushNotificationConfig": {"url": "http://127.0.0.1:9/hook"}}})
    assert resp["error"]["code"] == -32602
    assert "private" in resp["error"]["message"]


def test_every_a2a_request_is_rate_limited_once(strict: DaemonProcess) -> None:
    """Plan of 3 calls: a message that runs a tool costs one (not two), then two reads,
    then a JSON-RPC error (HTTP 200, as A2A clients expect) with a retry time."""
    agent = make_agent(strict, "limits", "lim@example.com")
    token = agent.token()
    sent = _rpc(agent, token, "SendMessage", {"message": {
        "messageId": str(uuid.uuid4()), "role": "ROLE_USER",
        "parts": [{"data": {"tool": "get_connection_status", "arguments": {}}}]}})
    assert sent["result"]["task"]["status"]["state"] == "TASK_STATE_COMPLETED", sent
    assert "result" in _rpc(agent, token, "ListTasks", {})
    assert "result" in _rpc(agent, token, "ListTasks", {})
    r = httpx.post(f"{agent.url}/a2a", json={"jsonrpc": "2.0", "id": 9, "method": "ListTasks",
                                             "params": {}},
                   headers={"Authorization": f"Bearer {token}", "A2A-Version": "1.0"})
    assert r.status_code == 200 and int(r.headers["Retry-After"]) >= 1
    err = r.json()["error"]
    assert r.json()["id"] == 9 and err["code"] == -32603
    assert err["data"][0]["reason"] == "RATE_LIMITED" and "rate limit" in err["message"]


def test_official_v03_client_from_its_own_venv(agent: Agent) -> None:
    import json
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    py = root / ".venv-a2a03" / "bin" / "python"
    assert py.exists(), "run `make .venv-a2a03/.installed` (make test does)"
    out = subprocess.run([str(py), str(Path(__file__).with_name("client03.py")), agent.url,
                          agent.token()], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout)
    assert report == {"card_url": f"{agent.url}/a2a", "protocol": "0.3.0",
                      "state": "completed", "artifact_text": "Generated text content",
                      "got_state": "completed"}


def test_task_running_at_shutdown_is_failed_with_a_reason_not_left_working(
        daemon_factory: Callable[..., DaemonProcess]) -> None:
    from tests.a2a.conftest import A2A_ON
    from tests.mcp.support import ENV

    d = daemon_factory({"a2a": A2A_ON, "server": {"shutdown_grace_s": 1.0}}, env=ENV)
    ann = make_agent(d)
    token = ann.token()
    sent = _rpc(ann, token, "SendMessage", {
        "message": {"messageId": str(uuid.uuid4()), "role": "ROLE_USER", "parts": [
            {"data": {"tool": "test_slow", "arguments": {"steps": 100, "delay_ms": 100}}}]},
        "configuration": {"returnImmediately": True}})["result"]["task"]
    assert sent["status"]["state"] in ("TASK_STATE_SUBMITTED", "TASK_STATE_WORKING")
    d.stop()  # SIGTERM while the 10 s tool runs; the grace is 1 s
    d.start()
    task = _rpc(ann, ann.token(), "GetTask", {"id": sent["id"]})["result"]
    assert task["status"]["state"] == "TASK_STATE_FAILED"
    assert "send the message again" in task["status"]["message"]["parts"][0]["text"]
