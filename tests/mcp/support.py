"""Helpers for MCP integration tests: a daemon with the test tools, credentials, a raw client."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

from tests.support.daemon import ROOT, DaemonProcess

ENV = {"PIERRE_EXTRA_TOOLS": "tests.mcp.extra_tools:register", "PYTHONPATH": str(ROOT)}
_emails = itertools.count()


def start(daemon_factory: Callable[..., DaemonProcess],
          overrides: dict[str, Any] | None = None, **kw: Any) -> DaemonProcess:
    return daemon_factory(overrides, env=ENV, **kw)


def _find_key(value: Any) -> str | None:
    """The full key in the CLI output (the longest pk_ value: `prefix` is one too)."""
    found: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, str) and v.startswith(("pk_live_", "pk_trial_")):
            found.append(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(value)
    return max(found, key=len) if found else None


def api_key(d: DaemonProcess, tier: str = "starter", tenant: str = "t1") -> str:
    """A fresh user with an API key, made through the admin CLI like an operator would."""
    email = f"user{next(_emails)}@{tenant}.example.com"
    d.cli("admin", "create-tenant", "--name", tenant, check=False)  # may already exist
    d.cli_json("admin", "create-user", "--tenant", tenant, "--email", email)
    key = _find_key(d.cli_json("admin", "create-api-key", "--email", email, "--tier", tier))
    assert key, "create-api-key printed no pk_ key"
    return key


class Raw:
    """A bare JSON-RPC-over-WebSocket client, to send what polite SDKs never would."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.notes: list[dict[str, Any]] = []
        self.stash: dict[Any, dict[str, Any]] = {}

    @classmethod
    async def open(cls, url: str, token: str | None = None, *, query: bool = False,
                   **kw: Any) -> Raw:
        headers = {}
        if token and not query:
            headers["Authorization"] = f"Bearer {token}"
        if token and query:
            url = f"{url}?token={token}"
        ws = await connect(url, additional_headers=headers, subprotocols=["mcp"],  # type: ignore[list-item]
                           max_size=None, **kw)
        return cls(ws)

    async def send(self, obj: Any) -> None:
        await self.ws.send(obj if isinstance(obj, str | bytes) else orjson.dumps(obj).decode())

    async def recv(self, timeout: float = 5.0) -> Any:
        return orjson.loads(await asyncio.wait_for(self.ws.recv(), timeout))

    async def response(self, id: Any, timeout: float = 5.0) -> dict[str, Any]:
        while id not in self.stash:
            msg = await self.recv(timeout)
            if isinstance(msg, dict) and "method" in msg and "id" not in msg:
                self.notes.append(msg)
            elif isinstance(msg, dict):
                self.stash[msg.get("id")] = msg
            else:
                self.stash[None] = {"batch": msg}
        return self.stash.pop(id)

    async def call(self, method: str, params: dict[str, Any] | None = None,
                   id: Any = None) -> dict[str, Any]:
        rid = next(self.ids) if id is None else id
        msg: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        await self.send(msg)
        return await self.response(rid)

    async def initialize(self, version: str = "2025-06-18") -> dict[str, Any]:
        res = await self.call("initialize", {"protocolVersion": version, "capabilities": {},
                                             "clientInfo": {"name": "raw", "version": "0"}})
        await self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return res

    async def close(self) -> None:
        await self.ws.close()
