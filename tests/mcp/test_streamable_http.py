"""Streamable HTTP: the official SDK 2.x client end to end, and the transport's rules."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.mcp.support import api_key, start
from tests.support.daemon import ROOT

MCP2 = ROOT / ".venv-mcp2" / "bin" / "python"
CLIENT = Path(__file__).parent / "clients" / "mcp2_streamable.py"
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "t", "version": "1"}}}
ACCEPT = "application/json, text/event-stream"


def test_official_sdk2_streamable_http_client(daemon_factory):
    if not MCP2.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(".venv-mcp2 is missing: `make test` builds it (target mcp2)")
        pytest.skip(".venv-mcp2 is missing: run `make mcp2`")
    d = start(daemon_factory)
    key = api_key(d)
    run = subprocess.run([str(MCP2), str(CLIENT), f"{d.http_url}/mcp", key],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-3000:]
    r = json.loads(run.stdout.strip().splitlines()[-1])
    assert r["protocol_version"] == "2025-11-25" and r["server_name"] == "pierre"
    assert r["has_instructions"] and r["tool_pages"] >= 2
    assert len(r["tool_names"]) == len(set(r["tool_names"])) and "test_echo" in r["tool_names"]
    assert r["echo"]["structured"] == {"count": 5, "label": "x", "count_type": "int"}
    assert r["echo"]["text"] == r["echo"]["structured"] and r["echo"]["is_error"] is False
    assert r["bad_args"]["is_error"] and r["bad_args"]["text"].startswith("count: ")
    assert r["unknown_tool_code"] == -32602 and r["unknown_resource_code"] == -32002
    assert r["connect_error"] is None and r["athlete"] is True
    assert "pierre://athlete" in r["resources"]
    assert r["templates"] == ["pierre://activities/{id}"]
    assert r["prompts"] == ["weekly_training_review", "race_preparation"]
    assert "recovery" in r["prompt_text"] and r["completion"] == ["half marathon"]
    assert r["slow"] == {"steps": 3} and r["progress"] == [1.0, 2.0, 3.0]
    assert r["logs"] == [{"step": 1}, {"step": 2}, {"step": 3}]
    assert r["ping"] is True and r["cancel_returned_after_s"] < 2
    assert r["after_cancel"]["count"] == 2
    events = d.log_events()
    assert any(e.get("event") == "mcp_request" and e.get("outcome") == "cancelled"
               and e.get("transport") == "http" for e in events)


async def test_transport_rules(daemon_factory):
    d = start(daemon_factory, {"mcp": {"allowed_origins": ["https://app.example"]}})
    key = api_key(d)
    auth = {"Authorization": f"Bearer {key}", "Accept": ACCEPT}
    url = f"{d.http_url}/mcp"
    async with httpx.AsyncClient(timeout=10) as h:
        r = await h.post(url, json=INIT, headers={"Accept": ACCEPT})
        assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
        r = await h.post(url, json=INIT, headers={**auth, "Origin": "https://evil.example"})
        assert r.status_code == 403
        r = await h.post(url, json=INIT, headers={**auth, "Origin": "https://app.example"})
        assert r.status_code == 200
        r = await h.post(url, json=INIT, headers=auth)
        sid = r.headers["Mcp-Session-Id"]
        assert r.json()["result"]["protocolVersion"] == "2025-06-18" and len(sid) >= 22
        s = {**auth, "Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-06-18"}
        r = await h.post(url, headers=s, json={"jsonrpc": "2.0",
                                               "method": "notifications/initialized"})
        assert r.status_code == 202
        ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
        assert (await h.post(url, json=ping, headers=auth)).status_code == 400  # no session
        r = await h.post(url, json=ping, headers={**s, "Mcp-Session-Id": "nope"})
        assert r.status_code == 404
        r = await h.post(url, json=ping, headers={**s, "MCP-Protocol-Version": "2025-03-26"})
        assert r.status_code == 400
        r = await h.post(url, json=ping, headers=s)
        assert r.status_code == 200 and r.json() == {"jsonrpc": "2.0", "id": 2, "result": {}}
        r = await h.post(url, content=b"{oops", headers=s)
        assert r.status_code == 400 and r.json()["error"]["code"] == -32700
        r = await h.post(url, json=[ping], headers=s)
        assert r.status_code == 400 and r.json()["error"]["code"] == -32600
        r = await h.post(url, json={"jsonrpc": "2.0", "id": 3, "method": "server/discover"},
                         headers=auth)
        assert r.json()["error"]["code"] == -32601
        call = {"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {
            "name": "test_echo", "arguments": {"count": 4.0}}}
        r = await h.post(url, json=call, headers={**s, "Accept": "application/json"})
        assert r.headers["Content-Type"].startswith("application/json")
        assert r.json()["result"]["structuredContent"]["count"] == 4
        slow = {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {
            "name": "test_slow", "arguments": {"steps": 2, "delay_ms": 1},
            "_meta": {"progressToken": "t"}}}
        r = await h.post(url, json=slow, headers=s)
        assert r.headers["Content-Type"].startswith("text/event-stream")
        events = [json.loads(line[6:]) for line in r.text.splitlines()
                  if line.startswith("data: ")]
        assert [e.get("method") for e in events].count("notifications/progress") == 2
        assert events[-1]["id"] == 5 and events[-1]["result"]["structuredContent"] == {
            "steps": 2}
        other = api_key(d, tenant="t2")
        r = await h.post(url, json=ping, headers={**s, "Authorization": f"Bearer {other}"})
        assert r.status_code == 404  # another user's session id is unknown to them
        # The server stream carries resources/updated for this session's subscriptions.
        async with h.stream("GET", url, headers=s) as stream:
            assert stream.headers["Content-Type"].startswith("text/event-stream")
            sub = {"jsonrpc": "2.0", "id": 6, "method": "resources/subscribe",
                   "params": {"uri": "pierre://athlete"}}
            assert (await h.post(url, json=sub, headers=s)).json()["result"] == {}
            touch = {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                     "params": {"name": "test_touch", "arguments": {}}}
            assert (await h.post(url, json=touch, headers=s)).status_code == 200
            lines = stream.aiter_lines()
            line = ""
            while not line.startswith("data: "):
                line = await asyncio.wait_for(anext(lines), 5)
            note = json.loads(line[6:])
            assert note == {"jsonrpc": "2.0", "method": "notifications/resources/updated",
                            "params": {"uri": "pierre://athlete"}}
        assert (await h.delete(url, headers=s)).status_code == 204
        assert (await h.post(url, json=ping, headers=s)).status_code == 404


@pytest.mark.redis
async def test_any_instance_serves_any_session_with_redis(daemon_factory, redis_url, tmp_path):
    shared = {"cache": {"backend": "redis", "url": redis_url},
              "database": {"path": str(tmp_path / "shared.db")},
              # One data folder: both instances use the same generated master key.
              "server": {"data_dir": str(tmp_path / "shared")}}
    a = start(daemon_factory, shared, name="a")
    key = api_key(a)
    b = start(daemon_factory, shared, name="b")
    async with httpx.AsyncClient(timeout=10) as h:
        r = await h.post(f"{a.http_url}/mcp", json=INIT,
                         headers={"Authorization": f"Bearer {key}", "Accept": ACCEPT})
        s = {"Authorization": f"Bearer {key}", "Accept": ACCEPT,
             "Mcp-Session-Id": r.headers["Mcp-Session-Id"]}
        r = await h.post(f"{b.http_url}/mcp", headers=s, json={
            "jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
                "name": "test_echo", "arguments": {"count": 9}}})
        assert r.json()["result"]["structuredContent"]["count"] == 9
        assert (await h.delete(f"{b.http_url}/mcp", headers=s)).status_code == 204
        r = await h.post(f"{a.http_url}/mcp", headers=s,
                         json={"jsonrpc": "2.0", "id": 3, "method": "ping"})
        assert r.status_code == 404
