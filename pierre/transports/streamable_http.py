"""MCP Streamable HTTP (2025-06-18 transport) on the aiohttp listener.

POST carries one JSON-RPC message (or a batch for versions that allow it). A
request's answer is JSON, or an SSE stream when the client accepts one and the
call emits progress or log messages before its result: the stream is opened
lazily at the first notification, so quick calls stay plain JSON. Session
state lives in the shared session store (`services.cache`), so with the Redis
plugin any instance can serve any request of a session. GET opens the
session's server stream, which carries tools/list_changed and resources/updated.

Across instances (the cache plugin's pub/sub, see :mod:`pierre.mcp.bus`): a
`notifications/cancelled` posted to one instance cancels the call wherever it
runs, a request id in flight anywhere is refused as a duplicate (a marker in the
session store), DELETE ends the session's calls and stream everywhere, and
subscription or log-level changes reach the instance holding the GET stream, whose
notifications are produced by engine events that every instance sees.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson
import structlog
from aiohttp import web

from pierre.errors import AuthError, ServiceUnavailable
from pierre.protocol import jsonrpc as rpc
from pierre.protocol.mcp import (
    SUPPORTED_VERSIONS,
    McpEngine,
    McpSession,
    SessionState,
    batches_allowed,
    get_engine,
    known_method,
)
from pierre.transports.auth import authenticate, bearer

if TYPE_CHECKING:
    from pierre.auth.principal import Principal
    from pierre.services import Services

log = structlog.get_logger("pierre.mcp.http")

SESSION_HEADER = "Mcp-Session-Id"
VERSION_HEADER = "MCP-Protocol-Version"
# Clients that send no version header speak the revision before the header existed.
DEFAULT_HEADER_VERSION = "2025-03-26"
KEY_PREFIX = "mcp:s:"
# Marks a request id in flight in a session, for duplicate checks on any instance.
INFLIGHT_PREFIX = "mcp:r:"
# Longer than any call should run; only a crashed instance leaves a marker this long.
INFLIGHT_TTL_S = 600.0
# A comment line on an idle server stream keeps proxies from timing it out.
KEEPALIVE_S = 15.0
STREAM_QUEUE = 64


def _rpc_response(status: int, msg: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=rpc.encode(msg), content_type="application/json",
                        headers=headers)


def _http_error(status: int, message: str, code: int = rpc.INVALID_REQUEST) -> web.Response:
    return _rpc_response(status, rpc.error(None, code, message))


async def _nothing(message: Any) -> None:
    return None


class StreamableHttp:
    def __init__(self, services: Services, engine: McpEngine) -> None:
        self.services = services
        self.engine = engine
        # (session id, request id) -> running request, for notifications/cancelled.
        self.inflight: dict[tuple[str, Any], asyncio.Task[Any]] = {}
        # session id -> the open GET stream on this instance (its session and queue).
        self.streams: dict[str, tuple[McpSession, asyncio.Queue[bytes | None]]] = {}
        engine.event_handlers["cancel"] = self._on_cancel_event
        engine.event_handlers["state"] = self._on_state_event

    # -- shared checks -----------------------------------------------------------------
    def _origin_ok(self, request: web.Request) -> bool:
        """Browsers send Origin: only configured origins or this host itself may call us."""
        origin = request.headers.get("Origin")
        if not origin:
            return True
        allowed = self.services.config.mcp.allowed_origins
        if origin in allowed or "*" in allowed:
            return True
        return urlsplit(origin).netloc == request.host

    async def _principal(self, request: web.Request) -> Principal:
        token = bearer(request.headers.get("Authorization"))
        if token is None:
            raise AuthError("Missing credentials: send Authorization: Bearer <API key or token>")
        return await authenticate(self.services, token, ip=request.remote,
                                  user_agent=request.headers.get("User-Agent"))

    def _cache(self) -> Any:
        if self.services.cache is None:
            raise ServiceUnavailable("The session store is not available")
        return self.services.cache

    async def _load(self, sid: str, principal: Principal) -> SessionState | None:
        raw = await self._cache().get(KEY_PREFIX + sid)
        if raw is None:
            return None
        data = orjson.loads(raw)
        if data.get("t") != principal.tenant_id or data.get("u") != principal.user_id:
            return None  # another user's session id: indistinguishable from unknown
        await self._cache().touch(KEY_PREFIX + sid, self.services.config.mcp.session_ttl_s)
        return SessionState.load(data["s"])

    async def _save(self, sid: str, principal: Principal, state: SessionState) -> None:
        blob = orjson.dumps({"t": principal.tenant_id, "u": principal.user_id,
                             "c": principal.credential_id, "s": state.dump()})
        await self._cache().set(KEY_PREFIX + sid, blob, self.services.config.mcp.session_ttl_s)

    async def _session_for(self, request: web.Request, principal: Principal
                           ) -> tuple[str, SessionState] | web.Response:
        sid = request.headers.get(SESSION_HEADER)
        if not sid:
            return _http_error(400, f"Bad request: missing {SESSION_HEADER} header; "
                               "send initialize first")
        state = await self._load(sid, principal)
        if state is None:
            return _http_error(404, "Session not found or expired; initialize a new session")
        version = request.headers.get(VERSION_HEADER)
        if version is not None and (version not in SUPPORTED_VERSIONS or
                                    version != state.version):
            return _http_error(400, f"Bad request: {VERSION_HEADER} {version!r} does not match "
                               f"the negotiated version {state.version}")
        return sid, state

    # -- handlers ------------------------------------------------------------------
    async def post(self, request: web.Request) -> web.StreamResponse:
        if not self._origin_ok(request):
            return _http_error(403, "Forbidden: Origin not allowed")
        principal = await self._principal(request)
        accept = request.headers.get("Accept", "*/*")
        wants_sse = "text/event-stream" in accept
        if not (wants_sse or "application/json" in accept or "*/*" in accept):
            return _http_error(406, "Not acceptable: accept application/json or "
                               "text/event-stream")
        try:
            obj = rpc.decode(await request.read())
        except rpc.RpcError as exc:
            return _rpc_response(400, rpc.error_from(exc))
        if isinstance(obj, dict) and obj.get("method") == "initialize":
            return await self._initialize(obj, principal)
        if isinstance(obj, dict) and isinstance(obj.get("method"), str) and \
                rpc.valid_id(obj.get("id")) and not known_method(obj["method"]):
            # Unknown methods (e.g. server/discover of newer revisions) are -32601 with or
            # without a session, so newer clients fall back to initialize cleanly.
            return _rpc_response(200, rpc.error(obj["id"], rpc.METHOD_NOT_FOUND,
                                                f"Method not found: {obj['method']}"))
        found = await self._session_for(request, principal)
        if isinstance(found, web.Response):
            return found
        sid, state = found
        before = state.dump()
        try:
            if isinstance(obj, list):
                if not batches_allowed(state.version):
                    return _http_error(400, "Invalid request: JSON-RPC batches are not "
                                       f"supported in MCP {state.version}")
                session = McpSession(self.engine, principal, _nothing, transport="http",
                                     state=state)
                reply = await session.process(obj)
                return _rpc_response(200, reply) if reply else web.Response(status=202)
            try:
                msg = rpc.classify(obj)
            except rpc.RpcError as exc:
                return _rpc_response(400, rpc.error_from(exc))
            if not isinstance(msg, rpc.Request):
                if isinstance(msg, rpc.Notification) and msg.method == "notifications/cancelled":
                    await self._cancel(sid, msg.params)
                else:
                    session = McpSession(self.engine, principal, _nothing, transport="http",
                                         state=state)
                    await session.process(obj)
                return web.Response(status=202)
            return await self._request(request, sid, principal, state, msg, obj, wants_sse)
        finally:
            if state.dump() != before:
                await self._save(sid, principal, state)
                subs = sorted(state.subscriptions or ())
                # Keep the server stream's view current, here or where it is held.
                self._sync_stream(sid, subs, state.log_level)
                await self.engine.bus.publish("state", s=sid, subs=subs, lvl=state.log_level)

    async def _initialize(self, obj: dict[str, Any], principal: Principal) -> web.Response:
        state = SessionState()
        session = McpSession(self.engine, principal, _nothing, transport="http", state=state)
        reply = await session.process(obj)
        if reply is None or "error" in reply:
            return _rpc_response(400 if reply else 202, reply)
        sid = secrets.token_urlsafe(24)
        await self._save(sid, principal, state)
        log.info("mcp_http_session_created", tenant=principal.tenant_id, version=state.version)
        return _rpc_response(200, reply, {SESSION_HEADER: sid})

    def _sync_stream(self, sid: str, subs: list[str], level: str) -> None:
        stream = self.streams.get(sid)
        if stream is not None:
            stream[0].state.subscriptions = set(subs) if subs else None
            stream[0].state.log_level = level

    async def _on_state_event(self, fields: dict[str, Any]) -> None:
        sid, subs, level = fields.get("s"), fields.get("subs"), fields.get("lvl")
        if isinstance(sid, str) and isinstance(subs, list) and isinstance(level, str):
            self._sync_stream(sid, [u for u in subs if isinstance(u, str)], level)

    def _cancel_local(self, sid: str, rid: Any) -> bool:
        task = self.inflight.get((sid, rid))
        if task is None:
            return False
        task.cancel()
        log.info("mcp_cancelled", request_id=rid, transport="http")
        return True

    async def _cancel(self, sid: str, params: Any) -> None:
        """Cancel the call here, or tell the instance that runs it."""
        rid = params.get("requestId") if isinstance(params, dict) else None
        if not rpc.valid_id(rid):
            return
        if not self._cancel_local(sid, rid):
            await self.engine.bus.publish("cancel", s=sid, r=rid)

    def _end_local(self, sid: str) -> None:
        """The session was deleted: end its stream and calls on this instance."""
        stream = self.streams.get(sid)
        if stream is not None:
            with contextlib.suppress(asyncio.QueueFull):
                stream[1].put_nowait(None)
        for (s, _), task in list(self.inflight.items()):
            if s == sid:
                task.cancel()

    async def _on_cancel_event(self, fields: dict[str, Any]) -> None:
        sid = fields.get("s")
        if not isinstance(sid, str):
            return
        if fields.get("end"):
            self._end_local(sid)
        elif rpc.valid_id(fields.get("r")):
            self._cancel_local(sid, fields["r"])

    async def _request(self, request: web.Request, sid: str, principal: Principal,
                       state: SessionState, msg: rpc.Request, obj: Any,
                       wants_sse: bool) -> web.StreamResponse:
        key = (sid, msg.id)
        marker = INFLIGHT_PREFIX + sid + ":" + orjson.dumps(msg.id).decode()
        cache = self._cache()
        if key in self.inflight or await cache.get(marker) is not None:
            return _rpc_response(200, rpc.error(msg.id, rpc.INVALID_REQUEST,
                                                f"Invalid request: id {msg.id!r} is in flight"))
        # Not atomic across instances (the store has no set-if-absent): two posts of one id
        # racing within a round trip may both run; any later duplicate is refused.
        await cache.set(marker, b"1", INFLIGHT_TTL_S)
        stream: web.StreamResponse | None = None

        async def send(message: Any) -> None:
            nonlocal stream
            if not wants_sse:
                return  # a JSON-only client gets the result alone
            if stream is None:
                stream = web.StreamResponse(headers={
                    "Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                    SESSION_HEADER: sid})
                await stream.prepare(request)
            await stream.write(b"event: message\ndata: " + rpc.encode(message) + b"\n\n")

        session = McpSession(self.engine, principal, send, transport="http", state=state)
        task = asyncio.get_running_loop().create_task(session.process(obj))
        self.inflight[key] = task
        try:
            await asyncio.wait({task})
        finally:
            if not task.done():
                task.cancel()  # the client went away
            self.inflight.pop(key, None)
            with contextlib.suppress(Exception):
                await cache.delete(marker)
        reply = None if task.cancelled() else task.result()
        if stream is not None:
            if reply is not None:
                await send(reply)
            await stream.write_eof()
            return stream
        if reply is None:
            return web.Response(status=202)  # cancelled by the client: nothing to answer
        return _rpc_response(200, reply, {SESSION_HEADER: sid})

    async def get(self, request: web.Request) -> web.StreamResponse:
        """The server stream: list-changed and resource-updated notifications for a session."""
        if not self._origin_ok(request):
            return _http_error(403, "Forbidden: Origin not allowed")
        principal = await self._principal(request)
        if "text/event-stream" not in request.headers.get("Accept", ""):
            return _http_error(406, "Not acceptable: the server stream is text/event-stream")
        found = await self._session_for(request, principal)
        if isinstance(found, web.Response):
            return found
        sid, state = found
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=STREAM_QUEUE)

        async def send(message: Any) -> None:
            with contextlib.suppress(asyncio.QueueFull):  # a stalled reader loses extras
                queue.put_nowait(rpc.encode(message))

        session = McpSession(self.engine, principal, send, transport="http-stream",
                             state=state)
        old = self.streams.pop(sid, None)
        if old is not None:  # one stream per session: the newest wins
            with contextlib.suppress(asyncio.QueueFull):
                old[1].put_nowait(None)
        self.streams[sid] = (session, queue)
        self.engine.sessions.add(session)
        await self.engine.baseline(session)  # list_changed only when the view moves
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-cache", SESSION_HEADER: sid})
        await resp.prepare(request)
        try:
            while True:
                try:
                    data = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                except TimeoutError:
                    await resp.write(b": keepalive\n\n")
                    continue
                if data is None:
                    break
                await resp.write(b"event: message\ndata: " + data + b"\n\n")
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.engine.sessions.discard(session)
            if self.streams.get(sid, (None,))[0] is session:
                del self.streams[sid]
        return resp

    async def close_streams(self, app: web.Application) -> None:
        """On shutdown: end every server stream so the runner does not wait on them."""
        for _, queue in list(self.streams.values()):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)

    async def delete(self, request: web.Request) -> web.StreamResponse:
        if not self._origin_ok(request):
            return _http_error(403, "Forbidden: Origin not allowed")
        principal = await self._principal(request)
        sid = request.headers.get(SESSION_HEADER)
        if not sid:
            return _http_error(400, f"Bad request: missing {SESSION_HEADER} header")
        if await self._load(sid, principal) is None:
            return _http_error(404, "Session not found or expired")
        await self._cache().delete(KEY_PREFIX + sid)
        self._end_local(sid)
        await self.engine.bus.publish("cancel", s=sid, end=True)
        return web.Response(status=204)

    async def lifetime(self, app: web.Application) -> AsyncIterator[None]:
        """cleanup_ctx: the engine joins the event bus before serving, leaves it after."""
        await self.engine.start()
        yield
        await self.engine.close()


def setup(app: web.Application, services: Services) -> None:
    handler = StreamableHttp(services, get_engine(services))
    if services.metrics is not None:  # open GET server streams (the long-lived part)
        services.metrics.track_connections("http-stream", lambda: len(handler.streams))
    path = services.config.mcp.path
    app.router.add_route("POST", path, handler.post)
    app.router.add_route("GET", path, handler.get)
    app.router.add_route("DELETE", path, handler.delete)
    app.on_shutdown.append(handler.close_streams)
    app.cleanup_ctx.append(handler.lifetime)
