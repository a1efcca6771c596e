"""The MCP session engine: lifecycle, routing and encoding, shared by every transport.

A transport gives a session decoded frames (`feed`, or `process` when it needs
the reply back, as Streamable HTTP does) and a `send` coroutine for what the
server emits on its own (responses of concurrent calls, progress, log messages,
list-changed and resource-updated notifications). The session never touches a
socket, so tests drive it with plain strings and a list as the peer.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import importlib
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import structlog

from pierre import __version__
from pierre.errors import (
    AuthError,
    Forbidden,
    InvalidArguments,
    NotFound,
    PierreError,
    RateLimited,
)
from pierre.mcp import completion, prompts, resources
from pierre.mcp.bus import EventBus
from pierre.mcp.tiers import current_tier, forget_tenant
from pierre.ops.tracing import SERVER, tracer
from pierre.protocol import jsonrpc as rpc
from pierre.protocol.jsonrpc import Notification, Request, Response, RpcError
from pierre.tools.invoke import UnknownTool, invoke_tool, visible_tools

if TYPE_CHECKING:
    from pierre.auth.principal import Principal
    from pierre.services import Services

log = structlog.get_logger("pierre.mcp")

SUPPORTED_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
LATEST_VERSION = SUPPORTED_VERSIONS[0]
# JSON-RPC batching was removed from MCP in 2025-06-18.
FIRST_VERSION_WITHOUT_BATCH = "2025-06-18"
LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
_LEVEL_RANK = {name: i for i, name in enumerate(LOG_LEVELS)}
# Small on purpose so clients exercise pagination; a page is cheap to produce.
PAGE_SIZE = 10
# Completed request ids remembered per session to refuse reuse (bounded memory).
RECENT_IDS = 64
# Methods that may wait on I/O run as tasks so one slow call never blocks the others.
# How often live sessions' tiers and tool switches are re-checked without an event.
SWEEP_S = 30.0
CONCURRENT = frozenset({"tools/call", "resources/read", "completion/complete", "tools/list",
                        "resources/list", "resources/templates/list"})

INSTRUCTIONS = (
    "Pierre gives you the user's fitness data (Strava, Fitbit, Garmin, local GPX/TCX/FIT "
    "files) and sports-science analysis. Start with get_connection_status; list activities "
    "with get_activities, then analyse them (analyze_activity, analyze_training_load, "
    "predict_performance, ...). Every result says which activities, dates and assumptions "
    "it used; quote them. Resources: pierre://athlete, pierre://activities/{id}, "
    "pierre://training-load. Prompts: weekly_training_review, race_preparation."
)

Send = Callable[[Any], Awaitable[None]]


@dataclass(slots=True)
class SessionState:
    """What a session must remember between messages (stored as-is by Streamable HTTP)."""

    version: str | None = None
    client_capabilities: dict[str, Any] = field(default_factory=dict)
    client_info: dict[str, Any] | None = None
    log_level: str = "info"
    initialized: bool = False
    ready: bool = False
    subscriptions: set[str] | None = None

    def dump(self) -> dict[str, Any]:
        return {"v": self.version, "caps": self.client_capabilities, "info": self.client_info,
                "lvl": self.log_level, "init": self.initialized, "ready": self.ready,
                "subs": sorted(self.subscriptions or ())}

    @classmethod
    def load(cls, data: dict[str, Any]) -> SessionState:
        subs = data.get("subs") or None
        return cls(version=data.get("v"), client_capabilities=data.get("caps") or {},
                   client_info=data.get("info"), log_level=data.get("lvl", "info"),
                   initialized=bool(data.get("init")), ready=bool(data.get("ready")),
                   subscriptions=set(subs) if subs else None)


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: Any) -> int:
    if cursor is None:
        return 0
    if not isinstance(cursor, str):
        raise RpcError(rpc.INVALID_PARAMS, "Invalid params: cursor must be a string")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("o:"):
            raise ValueError(raw)
        offset = int(raw[2:])
        if offset < 0:
            raise ValueError(raw)
        return offset
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise RpcError(rpc.INVALID_PARAMS, "Invalid params: unknown cursor") from None


def negotiate(requested: Any) -> str:
    """Echo the client's version when we speak it, else offer our latest."""
    return requested if requested in SUPPORTED_VERSIONS else LATEST_VERSION


def batches_allowed(version: str | None) -> bool:
    return version is None or version < FIRST_VERSION_WITHOUT_BATCH


class McpEngine:
    """Server-wide MCP state: the services, live sessions and server-initiated fan-out.

    Events that other instances must see (tenant changes, data changes, Streamable
    HTTP cancels and state) go through :class:`pierre.mcp.bus.EventBus`; `start` joins
    the bus and the periodic sweep, `close` leaves them.
    """

    def __init__(self, services: Services) -> None:
        self.services = services
        self.sessions: set[McpSession] = set()
        self.draining = False
        self.bus = EventBus(self._on_event)
        # Transport handlers for bus events they own ("cancel", "state": Streamable HTTP).
        self.event_handlers: dict[str, Callable[[dict[str, Any]], Awaitable[None]]] = {}
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Join the event bus and start the sweep; idempotent (every transport calls it)."""
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())
            await self.bus.start(self.services.cache)

    async def close(self) -> None:
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sweeper
        await self.bus.close()

    def server_info(self) -> dict[str, Any]:
        return {"name": "pierre", "title": "Pierre fitness intelligence", "version": __version__}

    def capabilities(self) -> dict[str, Any]:
        return {
            "tools": {"listChanged": True},
            "resources": {"subscribe": True, "listChanged": False},
            "prompts": {"listChanged": False},
            "logging": {},
            "completions": {},
        }

    # -- tool visibility -------------------------------------------------------------
    async def on_tools_changed(self) -> None:
        """Called after a reload changed tool switches: tell every session whose view moved."""
        await self._reevaluate(list(self.sessions), retier=False)

    async def tenant_changed(self, tenant_id: str) -> None:
        """A tenant's plan or tool switches changed (REST, CLI, dashboard): re-evaluate
        its sessions here and on every other instance."""
        await self._apply_tenant(tenant_id)
        await self.bus.publish("tenant", t=tenant_id)

    async def _apply_tenant(self, tenant_id: str) -> None:
        forget_tenant(self.services, tenant_id)
        await self._reevaluate([s for s in self.sessions if s.principal.tenant_id == tenant_id],
                               retier=True)

    async def sweep(self) -> None:
        """Catch changes whose event was lost (memory cache + CLI, Redis outage): tenant
        plans and switches are re-read (cached briefly), key tiers only via events."""
        await self._reevaluate(list(self.sessions), retier=True, keys=False)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_S)
            try:
                await self.sweep()
            except Exception:
                log.exception("mcp_sweep_failed")

    async def baseline(self, session: McpSession) -> None:
        """Record what the session sees now, so only a later move is announced."""
        session.tools_seen = await self._view_hash(session.principal, {})

    async def _view_hash(self, p: Principal, memo: dict[tuple[str, str], int]) -> int:
        key = (p.tier, p.tenant_id)
        if key not in memo:
            memo[key] = hash(tuple(s.name for s in await visible_tools(self.services, p)))
        return memo[key]

    async def _reevaluate(self, sessions: list[McpSession], *, retier: bool,
                          keys: bool = True) -> None:
        tiers: dict[str, str | None] = {}
        views: dict[tuple[str, str], int] = {}
        for session in sessions:
            p = session.principal
            if retier:
                tier = await current_tier(self.services, p, tiers, keys=keys)
                if tier != p.tier:
                    log.info("mcp_session_tier_changed", tenant=p.tenant_id, old=p.tier,
                             new=tier, transport=session.transport)
                    session.principal = p = replace(p, tier=tier)
            seen = await self._view_hash(p, views)
            if session.tools_seen != seen:
                # A session that never listed tools has no view to invalidate.
                announce = session.tools_seen != 0
                session.tools_seen = seen
                if announce:
                    await session.notify("notifications/tools/list_changed")

    # -- data changes ------------------------------------------------------------------
    async def resources_changed(self, tenant_id: str, user_id: str,
                                uris: set[str] | None = None) -> None:
        """A user's data changed: send resources/updated to their subscribed sessions,
        here and on every other instance (a Streamable HTTP GET stream may be there)."""
        await self._resources_local(tenant_id, user_id, uris)
        await self.bus.publish("resources", t=tenant_id, u=user_id,
                               uris=sorted(uris) if uris is not None else None)

    async def _resources_local(self, tenant_id: str, user_id: str,
                               uris: set[str] | None) -> None:
        for session in list(self.sessions):
            p = session.principal
            subs = session.state.subscriptions
            if not subs or p.tenant_id != tenant_id or p.user_id != user_id:
                continue
            for uri in sorted(subs if uris is None else subs & uris):
                await session.notify("notifications/resources/updated", {"uri": uri})

    async def _on_event(self, kind: str, fields: dict[str, Any]) -> None:
        """An event published by another instance."""
        if kind == "tenant" and isinstance(fields.get("t"), str):
            await self._apply_tenant(fields["t"])
        elif kind == "resources" and isinstance(fields.get("t"), str) and \
                isinstance(fields.get("u"), str):
            raw = fields.get("uris")
            uris = {u for u in raw if isinstance(u, str)} if isinstance(raw, list) else None
            await self._resources_local(fields["t"], fields["u"], uris)
        elif (handler := self.event_handlers.get(kind)) is not None:
            await handler(fields)

    def open(self, principal: Principal, send: Send, *, transport: str) -> McpSession:
        session = McpSession(self, principal, send, transport=transport)
        self.sessions.add(session)
        return session

    def inflight(self) -> int:
        return sum(len(s._inflight) for s in self.sessions if s._inflight)


def get_engine(services: Services) -> McpEngine:
    """The one engine per server, shared by all transports; installs the reload hook."""
    engine = services.extras.get("mcp_engine")
    if engine is None:
        _load_extra_tools(services)
        engine = McpEngine(services)
        services.extras["mcp_engine"] = engine
        services.extras["on_tools_changed"] = engine.on_tools_changed
        services.extras["on_resources_changed"] = engine.resources_changed
        services.extras["on_tenant_changed"] = engine.tenant_changed
    assert isinstance(engine, McpEngine)
    return engine


def _load_extra_tools(services: Services) -> None:
    """`PIERRE_EXTRA_TOOLS=module:function` registers more tools (tests, local development)."""
    spec = os.environ.get("PIERRE_EXTRA_TOOLS")
    if not spec:
        return
    module, _, fn = spec.partition(":")
    getattr(importlib.import_module(module), fn or "register")(services.tools)
    log.info("extra_tools_loaded", source=spec)


Handler = Callable[["McpSession", dict[str, Any], Request], Awaitable[Any]]


class McpSession:
    """One MCP session: negotiated state, in-flight calls, and routing to the features."""

    __slots__ = ("_engine", "_inflight", "_next_out", "_pending", "_recent", "_send",
                 "principal", "state", "tools_seen", "transport")

    def __init__(self, engine: McpEngine, principal: Principal, send: Send, *,
                 transport: str, state: SessionState | None = None) -> None:
        self._engine = engine
        self.principal = principal
        self._send = send
        self.transport = transport
        self.state = state or SessionState()
        self._inflight: dict[rpc.RequestId, asyncio.Task[None]] | None = None
        self._recent: dict[rpc.RequestId, None] | None = None
        self._pending: dict[rpc.RequestId, asyncio.Future[Any]] | None = None
        self._next_out = 0
        self.tools_seen = 0

    # -- output ----------------------------------------------------------------
    async def emit(self, message: Any) -> None:
        """Send, swallowing a closed peer: the transport notices and closes the session."""
        try:
            await self._send(message)
        except asyncio.CancelledError:
            raise
        except Exception:
            pass

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        await self.emit(rpc.notification(method, params))

    async def request_peer(self, method: str, params: dict[str, Any] | None = None,
                           timeout: float = 10.0) -> Any:
        """Server-to-client request (e.g. ping); returns the result or raises RpcError."""
        self._next_out += 1
        rid = f"pierre-{self._next_out}"
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self._pending is None:
            self._pending = {}
        self._pending[rid] = fut
        try:
            await self.emit(rpc.request(rid, method, params))
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._pending.pop(rid, None)

    # -- input -----------------------------------------------------------------
    async def feed(self, raw: str | bytes) -> None:
        """One frame from a streaming transport; slow requests continue as tasks."""
        try:
            obj = rpc.decode(raw)
        except RpcError as exc:
            await self.emit(rpc.error_from(exc))
            return
        if isinstance(obj, list):
            replies = await self._batch(obj)
            if replies:
                await self.emit(replies)
            return
        try:
            msg = rpc.classify(obj)
        except RpcError as exc:
            await self.emit(rpc.error_from(exc))
            return
        if isinstance(msg, Request):
            refusal = self._admit(msg)
            if refusal is not None:
                await self.emit(refusal)
            elif msg.method in CONCURRENT and self.state.initialized:
                task = asyncio.get_running_loop().create_task(self._run(msg))
                if self._inflight is None:
                    self._inflight = {}
                self._inflight[msg.id] = task
            else:
                reply = await self.handle_request(msg)
                await self.emit(reply)
        elif isinstance(msg, Notification):
            await self.handle_notification(msg)
        else:
            self._on_response(msg)

    async def process(self, obj: Any) -> Any:
        """Handle one decoded value (message or batch) to completion; return the reply.

        Used by request/response transports. Returns None when nothing is to be sent
        (only notifications or responses, or a cancelled request).
        """
        if isinstance(obj, list):
            return await self._batch(obj) or None
        try:
            msg = rpc.classify(obj)
        except RpcError as exc:
            return rpc.error_from(exc)
        return await self._one(msg)

    async def _one(self, msg: rpc.Message) -> dict[str, Any] | None:
        if isinstance(msg, Request):
            refusal = self._admit(msg)
            if refusal is not None:
                return refusal
            try:
                return await self.handle_request(msg)
            finally:
                self._done(msg.id)
        if isinstance(msg, Notification):
            await self.handle_notification(msg)
        else:
            self._on_response(msg)
        return None

    async def _batch(self, items: list[Any]) -> list[dict[str, Any]]:
        if not batches_allowed(self.state.version):
            return [rpc.error(None, rpc.INVALID_REQUEST,
                              f"Invalid request: JSON-RPC batches are not supported in MCP "
                              f"{self.state.version}; send one message per frame")]
        if not items:
            return [rpc.error(None, rpc.INVALID_REQUEST, "Invalid request: empty batch")]
        msgs: list[rpc.Message | dict[str, Any]] = []
        for item in items:
            try:
                msgs.append(rpc.classify(item))
            except RpcError as exc:
                msgs.append(rpc.error_from(exc))
        replies = await asyncio.gather(*(self._one(m) if not isinstance(m, dict)
                                         else _const(m) for m in msgs))
        return [r for r in replies if r is not None]

    def _admit(self, req: Request) -> dict[str, Any] | None:
        """Refuse a request id that is in flight or was used recently in this session."""
        rid = req.id
        if (self._inflight and rid in self._inflight) or (self._recent and rid in self._recent):
            return rpc.error(rid, rpc.INVALID_REQUEST,
                             f"Invalid request: id {rid!r} was already used in this session")
        if self._recent is None:
            self._recent = {}
        self._recent[rid] = None
        if len(self._recent) > RECENT_IDS:
            del self._recent[next(iter(self._recent))]
        return None

    def _done(self, rid: rpc.RequestId) -> None:
        if self._inflight:
            self._inflight.pop(rid, None)

    async def _run(self, req: Request) -> None:
        try:
            reply = await self.handle_request(req)
        except asyncio.CancelledError:
            return  # cancelled by the client (or the connection closed): no response
        finally:
            self._done(req.id)
        await self.emit(reply)

    def _on_response(self, msg: Response) -> None:
        fut = self._pending.get(msg.id) if self._pending and msg.id is not None else None
        if fut is None or fut.done():
            return  # a response to nothing we asked: ignore, per JSON-RPC
        if msg.error is not None:
            err = msg.error if isinstance(msg.error, dict) else {}
            fut.set_exception(RpcError(int(err.get("code", rpc.INTERNAL_ERROR)),
                                       str(err.get("message", "error"))))
        else:
            fut.set_result(msg.result)

    def cancel_all(self) -> None:
        for task in list((self._inflight or {}).values()):
            task.cancel()

    def close(self) -> None:
        """The transport is gone: stop its calls and forget it."""
        self.cancel_all()
        for fut in (self._pending or {}).values():
            if not fut.done():
                fut.set_exception(RpcError(rpc.CONNECTION_CLOSED, "connection closed"))
        self._engine.sessions.discard(self)

    # -- notifications -----------------------------------------------------------
    async def handle_notification(self, msg: Notification) -> None:
        params = msg.params if isinstance(msg.params, dict) else {}
        if msg.method == "notifications/initialized":
            self.state.ready = True
        elif msg.method == "notifications/cancelled":
            rid = params.get("requestId")
            task = self._inflight.get(rid) if self._inflight and rpc.valid_id(rid) else None  # type: ignore[arg-type]
            if task is not None:
                task.cancel()
                log.info("mcp_cancelled", request_id=rid, reason=params.get("reason"))
        # Anything else (roots/list_changed, progress from the client, unknown): ignored.

    # -- requests ----------------------------------------------------------------
    async def handle_request(self, req: Request) -> dict[str, Any]:
        method = req.method
        if method == "ping":
            return rpc.result(req.id, {})
        if not tracer.enabled:
            return await self._handle_request(req)
        # One span per request; the tool run inside (pierre.tools.invoke) is its child.
        label = method if known_method(method) else "unknown"
        name = label
        attrs: dict[str, str] = {"mcp.method.name": label, "network.transport": self.transport}
        if method == "tools/call" and isinstance(req.params, dict):
            tool = req.params.get("name")
            if isinstance(tool, str) and self._engine.services.tools.get(tool) is not None:
                name = f"{label} {tool}"
                attrs["gen_ai.tool.name"] = tool
        with tracer.span(name, attrs, SERVER) as span:
            reply = await self._handle_request(req)
            if isinstance(err := reply.get("error"), dict):
                span.set("rpc.jsonrpc.error_code", err.get("code", 0))
                span.fail(str(err.get("code")))
            return reply

    async def _handle_request(self, req: Request) -> dict[str, Any]:
        method = req.method
        start = time.perf_counter()
        outcome = "ok"
        try:
            if method == "initialize":
                return rpc.result(req.id, self._initialize(req.params))
            if not self.state.initialized:
                outcome = "not_initialized"
                return rpc.error(req.id, rpc.INVALID_REQUEST,
                                 "Invalid request: the session is not initialized; "
                                 "send initialize first")
            handler = _METHODS.get(method)
            if handler is None:
                outcome = "method_not_found"
                return rpc.error(req.id, rpc.METHOD_NOT_FOUND, f"Method not found: {method}")
            if self._engine.draining:
                outcome = "draining"
                return rpc.error(req.id, rpc.SERVER_SHUTTING_DOWN,
                                 "The server is shutting down; reconnect and retry")
            if req.params is not None and not isinstance(req.params, dict):
                outcome = "invalid_params"
                return rpc.error(req.id, rpc.INVALID_PARAMS,
                                 "Invalid params: params must be an object")
            value = await handler(self, req.params or {}, req)
            return rpc.result(req.id, value)
        except RpcError as exc:
            outcome = str(exc.code)
            return rpc.error(req.id, exc.code, exc.message, exc.data)
        except PierreError as exc:
            outcome = exc.code
            return _map_error(req, exc)
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except Exception:
            outcome = "internal_error"
            log.exception("mcp_handler_failed", method=method)
            return rpc.error(req.id, rpc.INTERNAL_ERROR, "Internal error")
        finally:
            elapsed = time.perf_counter() - start
            if method != "initialize" or outcome != "ok":
                log.info("mcp_request", method=method, transport=self.transport,
                         tenant=self.principal.tenant_id, outcome=outcome,
                         ms=round(elapsed * 1000, 2))
            if (metrics := self._engine.services.metrics) is not None:
                # Only known method names: a client must not grow the label set.
                label = method if known_method(method) else "unknown"
                metrics.requests.labels(self.transport, label, outcome).inc()
                metrics.request_seconds.labels(self.transport).observe(elapsed)

    def _initialize(self, params: Any) -> dict[str, Any]:
        if self.state.initialized:
            raise RpcError(rpc.INVALID_REQUEST, "Invalid request: already initialized")
        if not isinstance(params, dict) or not isinstance(params.get("protocolVersion"), str):
            raise RpcError(rpc.INVALID_PARAMS,
                           "Invalid params: initialize needs protocolVersion (a string)")
        caps = params.get("capabilities")
        info = params.get("clientInfo")
        st = self.state
        st.version = negotiate(params["protocolVersion"])
        st.client_capabilities = caps if isinstance(caps, dict) else {}
        st.client_info = info if isinstance(info, dict) else None
        st.initialized = True
        log.info("mcp_initialized", version=st.version, transport=self.transport,
                 tenant=self.principal.tenant_id,
                 client=(st.client_info or {}).get("name"))
        return {"protocolVersion": st.version, "capabilities": self._engine.capabilities(),
                "serverInfo": self._engine.server_info(), "instructions": INSTRUCTIONS}

    def _log_fn(self) -> Callable[[str, Any], Awaitable[None]]:
        async def send_log(level: str, data: Any) -> None:
            if _LEVEL_RANK.get(level, 1) >= _LEVEL_RANK.get(self.state.log_level, 1):
                await self.notify("notifications/message",
                                  {"level": level if level in _LEVEL_RANK else "info",
                                   "logger": "pierre", "data": data})
        return send_log

    def _progress_fn(self, token: Any) -> Callable[[float, float | None, str | None],
                                                   Awaitable[None]] | None:
        if not rpc.valid_id(token):
            return None
        with_message = (self.state.version or "") >= "2025-03-26"

        async def send_progress(progress: float, total: float | None,
                                message: str | None) -> None:
            params: dict[str, Any] = {"progressToken": token, "progress": progress}
            if total is not None:
                params["total"] = total
            if message and with_message:
                params["message"] = message
            await self.notify("notifications/progress", params)
        return send_progress


async def _const(value: dict[str, Any]) -> dict[str, Any]:
    return value


def _map_error(req: Request, exc: PierreError) -> dict[str, Any]:
    """The one place errors below the session become JSON-RPC errors."""
    if isinstance(exc, RateLimited):
        wait = max(1, int(exc.retry_after + 0.999))
        return rpc.error(req.id, rpc.RATE_LIMITED,
                         f"Rate limit exceeded: {exc.message}; retry in {wait} s",
                         {"retry_after_s": round(exc.retry_after, 3), "scope": exc.scope})
    if isinstance(exc, UnknownTool):
        return rpc.error(req.id, rpc.INVALID_PARAMS, exc.message, exc.details or None)
    if isinstance(exc, NotFound):
        code = rpc.RESOURCE_NOT_FOUND if req.method.startswith("resources/") else \
            rpc.INVALID_PARAMS
        return rpc.error(req.id, code, exc.message, exc.details or None)
    if isinstance(exc, InvalidArguments):
        return rpc.error(req.id, rpc.INVALID_PARAMS, f"Invalid params: {exc.message}",
                         exc.details or None)
    if isinstance(exc, AuthError | Forbidden):
        return rpc.error(req.id, rpc.INVALID_REQUEST, exc.message)
    return rpc.error(req.id, rpc.INTERNAL_ERROR, exc.message)


# -- method handlers -------------------------------------------------------------
def _str_param(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value:
        raise RpcError(rpc.INVALID_PARAMS, f"Invalid params: {name} must be a non-empty string")
    return value


async def _tools_list(s: McpSession, params: dict[str, Any], req: Request) -> Any:
    offset = decode_cursor(params.get("cursor"))
    specs = await visible_tools(s._engine.services, s.principal)
    s.tools_seen = hash(tuple(spec.name for spec in specs))
    out: dict[str, Any] = {"tools": [spec.to_mcp() for spec in specs[offset:offset + PAGE_SIZE]]}
    if offset + PAGE_SIZE < len(specs):
        out["nextCursor"] = encode_cursor(offset + PAGE_SIZE)
    return out


async def _tools_call(s: McpSession, params: dict[str, Any], req: Request) -> Any:
    name = _str_param(params, "name")
    arguments = params.get("arguments")
    if arguments is not None and not isinstance(arguments, dict):
        raise RpcError(rpc.INVALID_PARAMS, "Invalid params: arguments must be an object")
    meta = params.get("_meta")
    token = meta.get("progressToken") if isinstance(meta, dict) else None
    services = s._engine.services
    outcome = await invoke_tool(services, s.principal, name, arguments,
                                progress=s._progress_fn(token), log=s._log_fn(),
                                transport="mcp")
    if outcome.is_error:
        return {"content": [{"type": "text", "text": outcome.text}], "isError": True}
    spec = services.tools.get(name)
    if spec is not None and not spec.annotations.read_only:
        p = s.principal
        await s._engine.resources_changed(p.tenant_id, p.user_id)
    return {"content": [{"type": "text", "text": outcome.text}],
            "structuredContent": outcome.structured, "isError": False}


async def _resources_list(s: McpSession, params: dict[str, Any], req: Request) -> Any:
    decode_cursor(params.get("cursor"))
    return {"resources": await resources.list_resources(s._engine.services, s.principal)}


async def _templates_list(s: McpSession, params: dict[str, Any], req: Request) -> Any:
    decode_cursor(params.get("cursor"))
    return {"resourceTemplates": await resources.list_templates(s._engine.services,
                                                                s.principal)}


async def _resources_read(s: McpSession, params: dict[str, Any], req: Request) -> Any:
    uri = _str_param(params, "uri")
    return await resources.read_resource(s._engine.services, s.principal, uri)


async def _subscribe(s: McpSession, params: dict[str, Any], req: Request) -> Any:
    uri = _str_param(params, "uri")
    resources.resolve(uri)  # NotFound -> -32002
    if s.state.subscriptions is None:
        s.state.subscriptions = set()
    s.state.subscriptions.add(uri)
    return {}


async def _unsubscribe(s: McpSession, params: dict[str, Any], req: Request) -> Any:
    uri = _str_param(params, "uri")
    if s.state.subscriptions:
        s.state.subscriptions.discard(uri)
    return {}


async def _prompts_list(s: McpSession, params: dict[str, Any], req: Request) -> Any:
    decode_cursor(params.get("cursor"))
    return {"prompts": prompts.list_prompts()}


async def _prompts_get(s: McpSession, params: dict[str, Any], req: Request) -> Any:
    name = _str_param(params, "name")
    args = params.get("arguments")
    if args is not None and not isinstance(args, dict):
        raise RpcError(rpc.INVALID_PARAMS, "Invalid params: arguments must be an object")
    return prompts.get_prompt(name, args)


async def _complete(s: McpSession, params: dict[str, Any], req: Request) -> Any:
    return await completion.complete(s._engine.services, s.principal, params)


async def _set_level(s: McpSession, params: dict[str, Any], req: Request) -> Any:
    level = params.get("level")
    if level not in _LEVEL_RANK:
        raise RpcError(rpc.INVALID_PARAMS,
                       f"Invalid params: level must be one of {', '.join(LOG_LEVELS)}")
    s.state.log_level = level
    return {}


def known_method(method: str) -> bool:
    return method in _METHODS or method in ("ping", "initialize")


_METHODS: dict[str, Handler] = {
    "tools/list": _tools_list,
    "tools/call": _tools_call,
    "resources/list": _resources_list,
    "resources/templates/list": _templates_list,
    "resources/read": _resources_read,
    "resources/subscribe": _subscribe,
    "resources/unsubscribe": _unsubscribe,
    "prompts/list": _prompts_list,
    "prompts/get": _prompts_get,
    "completion/complete": _complete,
    "logging/setLevel": _set_level,
}
