"""The raw MCP WebSocket listener: one JSON-RPC message per text frame.

Authentication, path and capacity checks happen in `process_request`, so a
refused client gets a plain HTTP answer (401, 404, 503) before any upgrade.
Per connection we hold the websockets connection, its handler task and one
slotted :class:`McpSession`; compression is off unless configured (memory).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import structlog
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from pierre.errors import AuthError, PierreError, RateLimited
from pierre.protocol import jsonrpc as rpc
from pierre.protocol.mcp import McpEngine, get_engine
from pierre.transports.auth import authenticate, bearer, www_authenticate

if TYPE_CHECKING:
    from pierre.auth.principal import Principal
    from pierre.services import Services

log = structlog.get_logger("pierre.mcp.websocket")
# websockets logs request lines (with ?token=) at DEBUG: keep its logger above that.
_wslog = logging.getLogger("pierre.mcp.websockets")
_wslog.setLevel(logging.INFO)

# Small buffers keep an idle connection cheap; MCP frames are small and few.
MAX_QUEUE = 4
WRITE_LIMIT = 16_384
MCP_SUBPROTOCOL = Subprotocol("mcp")
BINARY_REFUSED = rpc.error(None, rpc.INVALID_REQUEST,
                           "Invalid request: binary frames are not accepted; send one JSON-RPC "
                           "message per text frame")


def _select_subprotocol(conn: ServerConnection,
                        offered: Sequence[Subprotocol]) -> Subprotocol | None:
    """Echo `mcp` when offered; clients that offer nothing are still served."""
    return MCP_SUBPROTOCOL if MCP_SUBPROTOCOL in offered else None


def _plain(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    h = Headers({"Content-Type": "text/plain; charset=utf-8", "Connection": "close"})
    for k, v in (headers or {}).items():
        h[k] = v
    body = (text + "\n").encode()
    h["Content-Length"] = str(len(body))
    reason = {401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests",
              503: "Service Unavailable"}.get(status, "Error")
    return Response(status, reason, h, body)


class McpWebSocketServer:
    """Owns the websockets server; the daemon starts it, reads its count and closes it."""

    def __init__(self, services: Services, ssl_context: ssl.SSLContext | None = None) -> None:
        self.services = services
        self.ssl_context = ssl_context
        self.engine: McpEngine = get_engine(services)
        self._server: Server | None = None
        # Admitted by process_request, waiting for the handler: (principal, connection ticket).
        self._principals: dict[ServerConnection, tuple[Principal, Any]] = {}
        self._open = 0

    @property
    def connection_count(self) -> int:
        return self._open

    async def start(self, sock: socket.socket | None = None) -> tuple[str, int]:
        cfg = self.services.config.mcp
        await self.engine.start()  # cross-instance events (idempotent; HTTP starts it too)
        kwargs: dict[str, Any] = {"sock": sock} if sock is not None else {
            "host": cfg.host, "port": cfg.port, "reuse_address": True}
        self._server = await serve(
            self._handler, ssl=self.ssl_context,
            process_request=self._process_request, process_response=self._process_response,
            select_subprotocol=_select_subprotocol,
            compression="deflate" if cfg.compression else None,
            max_size=cfg.max_message_bytes, max_queue=MAX_QUEUE, write_limit=WRITE_LIMIT,
            ping_interval=cfg.ping_interval_s or None, ping_timeout=cfg.ping_timeout_s or None,
            server_header="Pierre", logger=_wslog, **kwargs,
        )
        if self.services.metrics is not None:
            self.services.metrics.track_connections("websocket", lambda: self._open)
        addr = next(iter(self._server.sockets)).getsockname()
        return addr[0], addr[1]

    # -- handshake ---------------------------------------------------------------
    async def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        cfg = self.services.config.mcp
        url = urlsplit(request.path)
        if url.path != cfg.path:
            return _plain(404, f"Not found: the MCP endpoint is {cfg.path}")
        if self.engine.draining:
            return _plain(503, "Server is shutting down", {"Retry-After": "5"})
        if self._open + len(self._principals) >= cfg.max_connections:
            log.warning("mcp_connection_refused", reason="max_connections",
                        limit=cfg.max_connections)
            return _plain(503, "Too many connections; retry later", {"Retry-After": "5"})
        ip = _peer_ip(conn)
        token = bearer(request.headers.get("Authorization"))
        if token is None and cfg.allow_query_token:
            values = parse_qs(url.query).get("token")
            token = values[0] if values else None
        try:
            principal = await authenticate(self.services, token, ip=ip,
                                           user_agent=request.headers.get("User-Agent"))
        except AuthError as exc:
            log.info("mcp_auth_failed", ip=ip, reason=exc.code)
            return _plain(401, exc.message, {"WWW-Authenticate": www_authenticate(self.services)})
        except RateLimited as exc:
            return _plain(429, exc.message, {"Retry-After": str(max(1, int(exc.retry_after)))})
        except PierreError as exc:
            return _plain(503, exc.message)
        except Exception:
            log.exception("mcp_auth_crashed")
            return _plain(503, "Authentication failed unexpectedly; retry later")
        ticket = None
        if self.services.limits is not None:
            try:
                ticket = await self.services.limits.open_connection(ip, principal.limit_key)
            except RateLimited as exc:
                return _plain(429, exc.message,
                              {"Retry-After": str(max(1, int(exc.retry_after + 0.999)))})
        self._principals[conn] = (principal, ticket)
        return None

    async def _process_response(self, conn: ServerConnection, request: Request,
                                response: Response) -> None:
        """A handshake that did not upgrade gives its connection slot back."""
        if response.status_code != 101:
            admitted = self._principals.pop(conn, None)
            if admitted is not None and admitted[1] is not None:
                await admitted[1].release()

    # -- connection ----------------------------------------------------------------
    async def _handler(self, ws: ServerConnection) -> None:
        admitted = self._principals.pop(ws, None)
        if admitted is None:  # cannot happen: process_request admitted it
            await ws.close(1008, "unauthenticated")
            return
        principal, ticket = admitted
        ip = _peer_ip(ws)
        self._open += 1
        started = time.monotonic()

        async def send(message: Any) -> None:
            await ws.send(rpc.encode(message), text=True)

        session = self.engine.open(principal, send, transport="websocket")
        log.info("mcp_connection_open", tenant=principal.tenant_id, ip=ip,
                 subprotocol=ws.subprotocol)
        try:
            async for frame in ws:
                if isinstance(frame, str):
                    await session.feed(frame)
                else:
                    await session.emit(BINARY_REFUSED)
        except ConnectionClosed:
            pass
        finally:
            session.close()
            self._open -= 1
            if ticket is not None:
                await ticket.release()
            log.info("mcp_connection_closed", tenant=principal.tenant_id,
                     code=ws.close_code, seconds=round(time.monotonic() - started, 1))

    # -- shutdown ------------------------------------------------------------------
    async def close(self, grace_s: float) -> None:
        """Stop accepting, let in-flight calls finish within the grace, then close with 1001."""
        if self._server is None:
            return
        self.engine.draining = True
        self._server.close(close_connections=False)
        calls = [t for s in self.engine.sessions if s.transport == "websocket"
                 for t in (s._inflight or {}).values()]
        if calls:
            await asyncio.wait(calls, timeout=grace_s)
        for session in list(self.engine.sessions):
            if session.transport == "websocket":
                session.cancel_all()
        # websockets runs close() once, so the 1001 frames are sent here, after the drain.
        conns = list(self._server.connections)
        if conns:
            await asyncio.wait([asyncio.ensure_future(c.close(1001, "server shutting down"))
                                for c in conns], timeout=max(1.0, grace_s))
        try:
            await asyncio.wait_for(self._server.wait_closed(), timeout=max(1.0, grace_s))
        except TimeoutError:
            log.warning("mcp_close_timeout")


def _peer_ip(conn: ServerConnection) -> str:
    addr = conn.remote_address
    return str(addr[0]) if addr else "?"
