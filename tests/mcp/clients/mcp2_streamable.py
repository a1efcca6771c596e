"""Drives Pierre's Streamable HTTP endpoint with the official MCP Python SDK 2.x client.

Run under .venv-mcp2 (mcp>=2): `python mcp2_streamable.py URL TOKEN`. Prints one JSON
report on stdout that tests/mcp/test_streamable_http.py checks.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import anyio
import mcp_types as types
from mcp.client._probe import negotiate_auto
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError


async def main(url: str, token: str) -> dict[str, Any]:
    report: dict[str, Any] = {}
    logs: list[Any] = []
    progress: list[float] = []

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logs.append(params.data)

    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with http, streamable_http_client(url, http_client=http) as (read, write), \
            ClientSession(read, write, logging_callback=on_log) as session:
        await negotiate_auto(session)  # probes server/discover, falls back to initialize
        init = session.initialize_result
        report["protocol_version"] = init.protocol_version if init else None
        report["server_name"] = init.server_info.name if init else None
        report["has_instructions"] = bool(init and init.instructions)

        names: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            page = await session.list_tools(params=types.PaginatedRequestParams(cursor=cursor))
            pages += 1
            names += [t.name for t in page.tools]
            cursor = page.next_cursor
            if not cursor:
                break
        report["tool_pages"] = pages
        report["tool_names"] = names

        res = await session.call_tool("test_echo", {"count": 5.0, "label": "x"})
        report["echo"] = {"is_error": res.is_error, "structured": res.structured_content,
                          "text": json.loads(res.content[0].text)}
        bad = await session.call_tool("test_echo", {"count": "five"})
        report["bad_args"] = {"is_error": bad.is_error, "text": bad.content[0].text}
        try:
            await session.call_tool("no_such_tool", {})
            report["unknown_tool_code"] = None
        except MCPError as exc:
            report["unknown_tool_code"] = exc.error.code

        # Resources read the user's data through the catalog: connect the synthetic athlete.
        connected = await session.call_tool("connect_provider", {"provider": "synthetic"})
        report["connect_error"] = connected.content[0].text if connected.is_error else None
        resources = await session.list_resources()
        report["resources"] = sorted(str(r.uri) for r in resources.resources)
        templates = await session.list_resource_templates()
        report["templates"] = [t.uri_template for t in templates.resource_templates]
        athlete = await session.read_resource("pierre://athlete")
        report["athlete"] = bool(json.loads(athlete.contents[0].text))
        try:
            await session.read_resource("pierre://nope")
            report["unknown_resource_code"] = None
        except MCPError as exc:
            report["unknown_resource_code"] = exc.error.code
        await session.subscribe_resource("pierre://athlete")

        prompts = await session.list_prompts()
        report["prompts"] = [p.name for p in prompts.prompts]
        got = await session.get_prompt("weekly_training_review", {"focus": "recovery"})
        report["prompt_text"] = got.messages[0].content.text
        comp = await session.complete(types.PromptReference(name="race_preparation"),
                                      {"name": "race_distance", "value": "half"})
        report["completion"] = comp.completion.values

        await session.set_logging_level("debug")

        async def on_progress(p: float, total: float | None, message: str | None) -> None:
            progress.append(p)

        slow = await session.call_tool("test_slow", {"steps": 3, "delay_ms": 5},
                                       progress_callback=on_progress)
        report["slow"] = slow.structured_content
        report["progress"] = progress
        report["logs"] = list(logs)

        await session.send_ping()
        report["ping"] = True

        # Cancellation: start a long call, cancel it from the client side.
        started = asyncio.get_running_loop().time()
        with anyio.move_on_after(0.4):
            await session.call_tool("test_slow", {"steps": 100, "delay_ms": 50})
        report["cancel_returned_after_s"] = round(asyncio.get_running_loop().time() - started, 2)
        await asyncio.sleep(0.3)
        # The session is still usable after a cancellation.
        again = await session.call_tool("test_echo", {"count": 2})
        report["after_cancel"] = again.structured_content
    return report


if __name__ == "__main__":
    out = asyncio.run(main(sys.argv[1], sys.argv[2]))
    sys.stdout.write(json.dumps(out) + "\n")
