"""Every tool over MCP (official SDK 1.x WebSocket client) against a running daemon, for the
synthetic athlete and a local-files athlete; structuredContent must match the outputSchema."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from mcp import ClientSession
from mcp.client.websocket import websocket_client

from tests.mcp.support import _find_key

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
DATA = Path(__file__).resolve().parents[1] / "data"
FUTURE = (date.today() + timedelta(days=120)).isoformat()
_n = itertools.count()


def _user(d: Any) -> tuple[str, str]:
    email = f"tools{next(_n)}@example.com"
    d.cli("admin", "create-tenant", "--name", "tools", check=False)
    d.cli_json("admin", "create-user", "--tenant", "tools", "--email", email)
    key = _find_key(d.cli_json("admin", "create-api-key", "--email", email,
                               "--tier", "enterprise"))
    assert key
    return email, key


def _args(name: str, state: dict[str, Any]) -> dict[str, Any] | None:
    if name in ("get_activity", "analyze_activity", "calculate_metrics",
                "get_activity_intelligence", "compare_activities"):
        return {"activity_id": state["activity_id"]}
    if name == "set_goal":
        return {"title": "300 km", "goal_type": "distance", "target_value": 300,
                "target_date": FUTURE}
    if name in ("track_progress", "analyze_goal_feasibility"):
        return {"goal_id": state["goal_id"]}
    if name == "set_fitness_config":
        return {"ftp_w": 240, "birth_year": 1985}
    if name in ("connect_provider", "disconnect_provider"):
        return None  # run last, separately
    return {}


async def _run_all(url: str, provider: str) -> dict[str, int]:
    outcome = {"ok": 0, "error": 0}
    async with websocket_client(url) as (read, write), ClientSession(read, write) as s:
        await s.initialize()
        tools, cursor = {}, None
        while True:
            page = await s.list_tools(cursor=cursor)
            tools.update({t.name: t for t in page.tools})
            if not (cursor := page.nextCursor):
                break
        connected = await s.call_tool("connect_provider", {"provider": provider})
        assert not connected.isError, connected.content
        jsonschema.validate(connected.structuredContent, tools["connect_provider"].outputSchema)
        listed = await s.call_tool("get_activities", {"limit": 5.0, "provider": provider})
        assert not listed.isError and listed.structuredContent
        assert listed.structuredContent["count"] >= 1
        state: dict[str, Any] = {
            "activity_id": listed.structuredContent["activities"][0]["provider_id"]}
        from pierre.tools.catalog import all_specs

        for spec in all_specs():
            args = _args(spec.name, state)
            if args is None:
                continue
            assert spec.name in tools, spec.name
            res = await s.call_tool(spec.name, args)
            if res.isError:
                text = res.content[0].text  # type: ignore[union-attr]
                assert text and "Traceback" not in text and "nan" not in text.lower().split()
                outcome["error"] += 1
                continue
            assert res.structuredContent is not None, spec.name
            jsonschema.validate(res.structuredContent, tools[spec.name].outputSchema,
                                cls=jsonschema.Draft202012Validator)
            outcome["ok"] += 1
            if spec.name == "set_goal":
                state["goal_id"] = res.structuredContent["goal"]["goal_id"]
        gone = await s.call_tool("disconnect_provider", {"provider": provider})
        assert not gone.isError and gone.structuredContent["disconnected"] is True
        after = await s.call_tool("get_activities", {"provider": provider})
        assert after.isError and "connect_provider" in after.content[0].text  # type: ignore[union-attr]
    return outcome


async def test_every_tool_over_mcp_for_synthetic_and_local_files_athletes(daemon):
    _, key = _user(daemon)
    synthetic = await _run_all(f"{daemon.ws_url}?token={key}", "synthetic")
    assert synthetic["error"] == 0, synthetic  # the synthetic athlete has every kind of data

    email, key2 = _user(daemon)
    daemon.cli_json("import", str(DATA / "sample_run.gpx"), str(DATA / "sample_ride.tcx"),
                    str(DATA / "sample_run.fit"), "--email", email)
    files = await _run_all(f"{daemon.ws_url}?token={key2}", "localfiles")
    assert files["ok"] >= 10, files


async def test_edge_cases_are_is_error_results_over_mcp(daemon):
    _, key = _user(daemon)
    async with websocket_client(f"{daemon.ws_url}?token={key}") as (read, write), \
            ClientSession(read, write) as s:
        await s.initialize()
        none = await s.call_tool("analyze_training_load", {})
        assert none.isError and "connect_provider" in none.content[0].text  # type: ignore[union-attr]
        await s.call_tool("connect_provider", {"provider": "localfiles"})
        empty = await s.call_tool("analyze_training_load", {})
        assert empty.isError and "activit" in empty.content[0].text  # type: ignore[union-attr]
        bad = await s.call_tool("set_fitness_config", {"max_hr_bpm": 999})
        assert bad.isError and "max_hr_bpm" in bad.content[0].text  # type: ignore[union-attr]
        missing = await s.call_tool("track_progress", {"goal_id": "nope"})
        assert missing.isError
