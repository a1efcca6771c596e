"""`pierre bridge`: stdio ↔ WebSocket, so stdio-only MCP clients can use a remote Pierre.

Reads newline-delimited JSON-RPC on stdin, sends each message as one text frame,
and writes every frame from the server as one line on stdout. When the server
goes away, every request still waiting gets a JSON-RPC error (so the client is
told instead of hanging), and the bridge reconnects with capped, jittered
exponential backoff, replaying the client's `initialize` on the new session.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import ssl
import sys
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from pierre.protocol import jsonrpc as rpc

REPLAY_ID = "pierre-bridge-init"
# How long a request waits for a (re)connection before it is answered with an error.
CONNECT_WAIT_S = 10.0


class Bridge:
    def __init__(self, url: str, token: str, *, ssl_context: ssl.SSLContext | None = None,
                 max_backoff_s: float = 30.0, max_message_bytes: int = 4 * 1_048_576) -> None:
        self.url = url
        self.token = token
        self.ssl_context = ssl_context
        self.max_backoff_s = max_backoff_s
        self.max_message_bytes = max_message_bytes
        self.ws: ClientConnection | None = None
        self.connected = asyncio.Event()
        self.pending: set[Any] = set()
        self.init_params: dict[str, Any] | None = None
        self.initialized_sent = False
        self.closing = False
        self.last_error = "not connected yet"
        self.replays = 0

    # -- output to the client ------------------------------------------------------------
    def write(self, data: bytes) -> None:
        sys.stdout.buffer.write(data.rstrip(b"\n") + b"\n")
        sys.stdout.flush()

    def note(self, text: str) -> None:
        sys.stderr.write(f"pierre bridge: {text}\n")
        sys.stderr.flush()

    def fail_request(self, rid: Any, message: str) -> None:
        self.write(rpc.encode(rpc.error(rid, rpc.CONNECTION_CLOSED, message)))

    # -- connection loop ------------------------------------------------------------------
    async def _open(self, replay: bool) -> ClientConnection:
        ws = await connect(self.url, additional_headers={"Authorization": f"Bearer {self.token}"},
                           subprotocols=[rpc_subprotocol()], ssl=self.ssl_context,
                           max_size=self.max_message_bytes, compression=None,
                           open_timeout=10)
        if replay and self.init_params is not None:  # a new session needs initialize
            self.replays += 1
            rid = f"{REPLAY_ID}-{self.replays}"
            await ws.send(rpc.encode(rpc.request(rid, "initialize", self.init_params)),
                          text=True)
            while True:
                reply = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
                if isinstance(reply, dict) and reply.get("id") == rid:
                    break
            if self.initialized_sent:
                await ws.send(rpc.encode(rpc.notification("notifications/initialized")),
                              text=True)
        return ws

    async def run_connection(self) -> None:
        backoff = 0.25
        was_connected = False
        while not self.closing:
            try:
                self.ws = await self._open(replay=was_connected)
            except InvalidStatus as exc:
                status = exc.response.status_code
                self.last_error = f"server refused the connection (HTTP {status})"
            except (OSError, WebSocketException, TimeoutError, ValueError) as exc:
                self.last_error = f"cannot reach {self.url}: {type(exc).__name__}"
            else:
                if was_connected:
                    self.note("reconnected")
                was_connected = True
                backoff = 0.25
                self.connected.set()
                await self._pump(self.ws)
                self.connected.clear()
                self.ws = None
                if self.closing:
                    return
                self._server_gone("the Pierre server closed the connection")
            self.note(f"{self.last_error}; retrying in {backoff:.1f}s")
            await asyncio.sleep(backoff * (0.5 + random.random() / 2))
            backoff = min(self.max_backoff_s, backoff * 2)

    async def _pump(self, ws: ClientConnection) -> None:
        try:
            async for frame in ws:
                data = frame.encode() if isinstance(frame, str) else frame
                with contextlib.suppress(orjson.JSONDecodeError):
                    msg = orjson.loads(data)
                    if isinstance(msg, dict) and "method" not in msg:
                        self.pending.discard(msg.get("id"))
                self.write(data)
        except ConnectionClosed as exc:
            self.last_error = f"connection lost (code {exc.code})"
        else:
            self.last_error = f"connection closed (code {ws.close_code})"

    def _server_gone(self, why: str) -> None:
        for rid in sorted(self.pending, key=str):
            self.fail_request(rid, f"{why}; the request may not have completed. "
                              "Reconnecting; retry it.")
        self.pending.clear()
        if self.initialized_sent:
            self.write(rpc.encode(rpc.notification("notifications/message", {
                "level": "warning", "logger": "pierre.bridge",
                "data": f"{why}; reconnecting"})))

    # -- input from the client ------------------------------------------------------------
    async def handle_line(self, line: bytes) -> None:
        line = line.strip()
        if not line:
            return
        try:
            msg = orjson.loads(line)
        except orjson.JSONDecodeError:
            msg = None
        rid = msg.get("id") if isinstance(msg, dict) and "method" in msg else None
        if isinstance(msg, dict):
            if msg.get("method") == "initialize" and isinstance(msg.get("params"), dict):
                self.init_params = msg["params"]
            elif msg.get("method") == "notifications/initialized":
                self.initialized_sent = True
        if not self.connected.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.connected.wait(), CONNECT_WAIT_S)
        ws = self.ws
        if ws is None:
            if rid is not None:
                self.fail_request(rid, f"Pierre server is unreachable ({self.last_error}); "
                                  "the bridge keeps retrying")
            return
        if rid is not None:
            self.pending.add(rid)
        try:
            await ws.send(line.decode(), text=True)
        except ConnectionClosed:
            if rid is not None and rid in self.pending:
                self.pending.discard(rid)
                self.fail_request(rid, "Pierre server connection lost; retry the request")

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=self.max_message_bytes)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        conn_task = loop.create_task(self.run_connection())
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break  # the client closed stdin: we are done
                await self.handle_line(line)
        finally:
            self.closing = True
            if self.ws is not None:
                await self.ws.close()
            conn_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await conn_task
        return 0


def rpc_subprotocol() -> Any:
    from websockets.typing import Subprotocol

    return Subprotocol("mcp")


def cmd_bridge(args: argparse.Namespace) -> int:
    from pierre.cli import fail, run_async

    try:
        token = Path(args.token_file).read_text().strip()
    except OSError as exc:
        return fail(f"cannot read --token-file {args.token_file}: {exc.strerror}")
    if not token:
        return fail(f"--token-file {args.token_file} is empty")
    if not args.url.startswith(("ws://", "wss://")):
        return fail("--url must start with ws:// or wss://")
    ctx = None
    if args.url.startswith("wss://"):
        ctx = ssl.create_default_context(cafile=args.ca_file)
    bridge = Bridge(args.url, token, ssl_context=ctx, max_backoff_s=args.max_backoff)
    return run_async(bridge.run)


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "bridge", help="stdio <-> WebSocket bridge for stdio-only MCP clients",
        description="Connect a stdio MCP client (e.g. Claude Desktop) to a remote Pierre.")
    p.add_argument("--url", required=True, help="wss://host:port/mcp")
    p.add_argument("--token-file", required=True, help="file holding the API key or token")
    p.add_argument("--ca-file", help="CA bundle to trust for wss:// (default: system store)")
    p.add_argument("--max-backoff", type=float, default=30.0,
                   help="longest wait between reconnection attempts, seconds")
    p.add_argument("--config", "-c", help=argparse.SUPPRESS)  # accepted, unused
    p.set_defaults(func=cmd_bridge)
