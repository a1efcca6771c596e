"""`pierre bridge` as a subprocess: stdio on one side, the daemon's WebSocket on the other."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.mcp.support import api_key, start
from tests.support.daemon import BIN


class Stdio:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def send(self, obj: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(obj).encode() + b"\n")
        await self.proc.stdin.drain()

    async def read(self, timeout: float = 15.0) -> Any:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        assert line, "bridge closed stdout"
        return json.loads(line)

    async def until(self, id: Any, timeout: float = 15.0) -> dict[str, Any]:
        while True:
            msg = await self.read(timeout)
            if msg.get("id") == id and "method" not in msg:
                return msg


async def test_bridge_relays_reports_loss_and_reconnects(daemon_factory, tmp_path):
    d = start(daemon_factory, {"server": {"shutdown_grace_s": 0.3}})
    token_file = tmp_path / "token"
    token_file.write_text(api_key(d) + "\n")
    proc = await asyncio.create_subprocess_exec(
        str(BIN), "bridge", "--url", d.ws_url, "--token-file", str(token_file),
        "--max-backoff", "0.5", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    io = Stdio(proc)
    try:
        await io.send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "stdio", "version": "1"}}})
        first = await io.until(1)
        assert first.get("result", {}).get("serverInfo", {}).get("name") == "pierre", first
        await io.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        await io.send({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                       "params": {"name": "test_echo", "arguments": {"count": 7}}})
        assert (await io.until(2))["result"]["structuredContent"]["count"] == 7

        # The server goes away mid-call: the client gets an error, not silence.
        await io.send({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
            "name": "test_slow", "arguments": {"steps": 100, "delay_ms": 50}}})
        await asyncio.sleep(0.2)
        port = d.mcp_port
        await asyncio.to_thread(d.stop)
        lost = await io.until(3)
        assert lost["error"]["code"] == -32000 and "connection" in lost["error"]["message"]

        # Back on the same port: the bridge reconnects and replays initialize itself.
        d.config["mcp"]["port"] = port
        await asyncio.to_thread(d.start)
        await io.send({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
                       "params": {"name": "test_echo", "arguments": {"count": 8}}})
        assert (await io.until(4, timeout=20))["result"]["structuredContent"]["count"] == 8
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0


async def test_bridge_refuses_a_missing_token_file(tmp_path):
    proc = await asyncio.create_subprocess_exec(
        str(BIN), "bridge", "--url", "ws://127.0.0.1:9/mcp", "--token-file",
        str(tmp_path / "absent"), stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    assert proc.returncode == 1 and b"token-file" in err
