"""MCP events shared between instances over the cache plugin's publish/subscribe.

Some things happen on one instance but matter to sessions held by another: an
admin changes a tenant's plan or tool switches, a tool call changes a user's
data, a Streamable HTTP client posts `notifications/cancelled` to instance B for a
call running on A, or a subscription is added on B while the session's GET
stream is held by A. Each instance subscribes once to one channel; an event is a
small JSON object `{"o": origin, "k": kind, ...}`. The instance that caused an
event applies it locally first and then publishes it, and every instance ignores
its own events, so the memory backend (one process) and Redis (many) behave the
same. Delivery is best effort: a lost event costs a late notification, never a
wrong answer (visibility and state are always re-read from their stores).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import structlog

log = structlog.get_logger("pierre.mcp.bus")

CHANNEL = "mcp:events"
# Kinds a receiver acts on; anything else (a newer instance's event) is ignored.
KINDS = frozenset({"tenant", "resources", "cancel", "state"})
# Reconnect backoff after the backend fails (Redis restarted, network blip).
BACKOFF_S = (0.2, 0.5, 1.0, 2.0, 5.0)

Handler = Callable[[str, dict[str, Any]], Awaitable[None]]


def encode(origin: str, kind: str, fields: dict[str, Any]) -> bytes:
    return orjson.dumps({**fields, "o": origin, "k": kind})


def decode(raw: bytes, own: str) -> tuple[str, dict[str, Any]] | None:
    """(kind, fields) of another instance's event; None for our own or malformed ones."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict) or obj.get("o") == own or obj.get("k") not in KINDS:
        return None
    kind = obj.pop("k")
    obj.pop("o", None)
    return kind, obj


class EventBus:
    """One subscription per instance; `publish` never raises (events are best effort)."""

    def __init__(self, handler: Handler) -> None:
        self.instance = secrets.token_hex(8)
        self._handler = handler
        self._cache: Any = None
        self._task: asyncio.Task[None] | None = None
        self._sub: Any = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self, cache: Any) -> None:
        """Subscribe and wait until the backend confirmed it (or failed: then retry later)."""
        if self._task is not None or cache is None:
            return
        self._cache = cache
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._task = asyncio.get_running_loop().create_task(self._run(ready))
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(ready), 5.0)

    async def publish(self, kind: str, **fields: Any) -> None:
        if self._cache is None:
            return
        try:
            await self._cache.publish(CHANNEL, encode(self.instance, kind, fields))
        except Exception as exc:
            log.warning("mcp_event_publish_failed", kind=kind, error=type(exc).__name__)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._drop_sub()

    async def _drop_sub(self) -> None:
        sub, self._sub = self._sub, None
        if sub is not None:
            with contextlib.suppress(Exception):
                await sub.close()

    async def _run(self, ready: asyncio.Future[None]) -> None:
        failures = 0
        while True:
            try:
                self._sub = self._cache.subscribe(CHANNEL)
                await self._sub.ready()
                if not ready.done():
                    ready.set_result(None)
                failures = 0
                while True:
                    raw = await self._sub.get()
                    if raw is None:
                        return  # closed
                    event = decode(raw, self.instance)
                    if event is not None:
                        await self._dispatch(*event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not ready.done():
                    ready.set_result(None)
                await self._drop_sub()
                wait = BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]
                failures += 1
                log.warning("mcp_event_subscription_lost", error=type(exc).__name__,
                            retry_in_s=wait)
                await asyncio.sleep(wait)

    async def _dispatch(self, kind: str, fields: dict[str, Any]) -> None:
        try:
            await self._handler(kind, fields)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("mcp_event_failed", kind=kind)


async def publish_once(cache: Any, kind: str, **fields: Any) -> None:
    """Publish without joining the bus (processes that hold no sessions)."""
    if cache is None:
        return
    try:
        await cache.publish(CHANNEL, encode("x-" + secrets.token_hex(8), kind, fields))
    except Exception as exc:
        log.warning("mcp_event_publish_failed", kind=kind, error=type(exc).__name__)


async def announce_tenant_changed(services: Any, tenant_id: str) -> None:
    """Call after changing a tenant's plan or tool switches: live MCP sessions of the
    tenant, on every instance, re-read their tier and tools and get list_changed."""
    hook = services.extras.get("on_tenant_changed")
    if hook is not None:
        await hook(tenant_id)
    else:
        await publish_once(services.cache, "tenant", t=tenant_id)


async def announce_tenant_changed_from_cli(config: Any, tenant_id: str) -> bool:
    """The admin CLI runs outside the daemon: publish through the configured cache backend.

    False when the backend is the in-process memory cache, which no daemon shares; the
    daemons' periodic sweep (`SWEEP_S` in pierre.protocol.mcp) picks the change up then."""
    from pierre.plugins.base import PluginContext
    from pierre.plugins.registry import PluginRegistry
    from pierre.wiring import _options

    if config.cache.backend == "memory":
        return False
    reg = PluginRegistry().discover()
    ctx = PluginContext(config=config, data_dir=config.resolve_path(config.server.data_dir))
    cache = reg.get("pierre.caches", config.cache.backend).from_config(
        _options(config.cache), ctx)
    await cache.start()
    try:
        await publish_once(cache, "tenant", t=tenant_id)
    finally:
        await cache.close()
    return True
