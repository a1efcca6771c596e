"""Runs A2A tasks: persistence, the tool run, live streams and push delivery.

The transport hands this a validated :class:`pierre.a2a.rpc.Call` and a
:class:`Principal`; it answers with the JSON-RPC `result` in the caller's dialect
(or an async iterator of them for streams) and raises A2AError otherwise. Tasks
are stored in the database (`a2a_tasks`) as `{"task": ..., "push": [...]}`, so
they outlive the process; live subscribers and running work are per process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from pierre import __version__
from pierre.a2a import card as card_mod
from pierre.a2a import codec, conformance, intent, tasks, webhooks
from pierre.a2a.dialect import Dialect
from pierre.a2a.errors import (
    A2AError,
    InvalidParams,
    RateLimitedError,
    TaskNotFound,
    UnsupportedOperation,
)
from pierre.a2a.rpc import Call, ListQuery, PushRef, SendParams, TaskQuery
from pierre.auth.principal import Principal
from pierre.errors import NotFound, RateLimited
from pierre.services import Services

log = structlog.get_logger("pierre.a2a")
Json = dict[str, Any]

# At shutdown, running tasks get this long (at most [server] shutdown_grace_s) to finish.
SHUTDOWN_GRACE_S = 5.0
INTERRUPTED = ("interrupted: the server stopped before this task finished; send the "
               "message again")
# How long a blocking SendMessage waits for the task to settle before returning it as is.
BLOCKING_WAIT_S = 60.0
# ListTasks reads at most this many of a user's tasks to filter by time and count them.
LIST_SCAN_MAX = 10_000


@dataclass(slots=True)
class Record:
    principal: Principal
    task: Json
    push: list[Json] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Event:
    kind: str  # "status" | "artifact"
    task: Json
    artifact: Json | None = None
    final: bool = False


@dataclass(slots=True)
class Plan:
    """What a message asks for: a tool run, a scripted TCK scenario, a question back."""

    tool: str | None = None
    arguments: Json = field(default_factory=dict)
    scenario: conformance.Scenario | None = None
    ask: str | None = None
    cancel: bool = False
    # Conformance mode only: the kit's reference agent behaviour for text naming no tool.
    park: bool = False


def _snapshot(task: Json) -> Json:
    import copy

    return copy.deepcopy(task)


class A2AEngine:
    def __init__(self, services: Services) -> None:
        self.s = services
        self._subs: dict[str, set[asyncio.Queue[Event]]] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._bg: set[asyncio.Task[Any]] = set()
        self._http: Any = None
        self._closing = False

    # -- lifecycle -------------------------------------------------------------------
    async def close(self) -> None:
        """Give running tasks a short grace, then fail what is left with a message saying
        to send again: a task must never stay `working` after its server has stopped."""
        running = [t for t in self._running.values() if not t.done()]
        if running:
            grace = min(SHUTDOWN_GRACE_S, float(self.s.config.server.shutdown_grace_s))
            await asyncio.wait(running, timeout=grace)
        self._closing = True
        for t in list(self._running.values()) + list(self._bg):
            t.cancel()
        for t in list(self._running.values()) + list(self._bg):
            with contextlib.suppress(BaseException):
                await t
        if self._http is not None:
            await self._http.close()

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        t = asyncio.get_running_loop().create_task(coro)
        self._bg.add(t)
        t.add_done_callback(self._bg.discard)
        return t

    # -- storage ---------------------------------------------------------------------
    async def _load(self, principal: Principal, task_id: str) -> Record:
        row = await self.s.db.get_a2a_task(principal.tenant_id, task_id)
        if row is None or row.get("user_id") != principal.user_id:
            raise TaskNotFound(f"Task {task_id} not found")
        data = row["data"]
        if isinstance(data, str | bytes):
            import orjson

            data = orjson.loads(data)
        return Record(principal, data["task"], list(data.get("push") or []))

    async def _save(self, rec: Record) -> None:
        t = rec.task
        await self.s.db.save_a2a_task(rec.principal.tenant_id, rec.principal.user_id, t["id"],
                                      t["contextId"], t["status"]["state"],
                                      {"task": t, "push": rec.push})

    # -- dispatch --------------------------------------------------------------------
    async def handle(self, principal: Principal, call: Call) -> Any:
        op = call.op
        if op == "send":
            return await self.send(principal, call.params, call.dialect)
        if op == "get":
            q: TaskQuery = call.params
            rec = await self._load(principal, q.id)
            return codec.encode_task(rec.task, call.dialect, history_length=q.history_length)
        if op == "list":
            return await self.list(principal, call.params, call.dialect)
        if op == "cancel":
            return await self.cancel(principal, call.params.id, call.dialect)
        if op == "push_set":
            return await self.push_set(principal, call.params, call.dialect)
        if op in ("push_get", "push_list", "push_delete"):
            return await self.push_other(principal, op, call.params, call.dialect)
        if op == "card":
            return await self.extended_card(principal, call.dialect)
        raise UnsupportedOperation(f"{call.method} is not supported")

    def stream(self, principal: Principal, call: Call) -> AsyncIterator[Json]:
        if call.op == "stream":
            return self.send_stream(principal, call.params, call.dialect)
        return self.subscribe(principal, call.params.id, call.dialect)

    # -- cards -----------------------------------------------------------------------
    async def visible(self, principal: Principal) -> list[Any]:
        from pierre.tools.invoke import visible_tools

        return await visible_tools(self.s, principal)

    def full_card(self) -> Json:
        """Both dialects' fields; see `card.public_card` for what is served."""
        return card_mod.build_card(base_url=self.s.public_http_url(), version=__version__,
                                   tools=self.s.tools.visible_to("enterprise"))

    def public_card(self, dialect: Dialect) -> Json:
        return card_mod.public_card(self.full_card(), dialect is Dialect.V1)

    async def extended_card(self, principal: Principal, dialect: Dialect) -> Json:
        full = card_mod.extended_card(self.full_card(), await self.visible(principal))
        return card_mod.for_dialect(full, dialect is Dialect.V1)

    # -- sending -----------------------------------------------------------------------
    async def _plan(self, principal: Principal, message: Json, paused: bool) -> Plan:
        if self.s.config.a2a.conformance_mode:
            scenario = conformance.scenario_for(message["messageId"])
            if scenario is not None:
                return Plan(scenario=scenario)
        for part in message["parts"]:
            data = part.get("data")
            if isinstance(data, dict) and isinstance(data.get("tool"), str):
                args = data.get("arguments") or {}
                if not isinstance(args, dict):
                    raise InvalidParams("data part 'arguments' must be an object")
                return Plan(tool=data["tool"], arguments=args)
        text = " ".join(p["text"] for p in message["parts"] if "text" in p).strip()
        if paused and intent.is_cancel(text):
            return Plan(cancel=True)
        visible = await self.visible(principal)
        found = intent.parse(text, visible) if text else None
        if found is None:
            if self.s.config.a2a.conformance_mode:
                # The test kit's reference agent (and its ListTasks/history tests) expect
                # plain text to start work that stays `working` until continued or
                # canceled; outside conformance mode Pierre asks which tool is meant.
                return Plan(park=True)
            return Plan(ask=intent.capabilities_text(visible))
        return Plan(tool=found.tool, arguments=found.arguments)

    async def _prepare(self, principal: Principal, params: SendParams, dialect: Dialect
                       ) -> tuple[Record | None, Plan, Json | None]:
        """Create or continue the task (persisted, submitted); no work started yet.

        Returns (record, plan, direct_message) — a direct message means no task at all.
        """
        msg = params.message
        if params.push is not None:
            await self._check_push(params.push)
        rec: Record | None = None
        if msg.get("taskId"):
            rec = await self._load(principal, msg["taskId"])
            tasks.check_follow_up(rec.task, msg)
        plan = await self._plan(principal, msg, paused=rec is not None)
        if rec is None and plan.scenario is not None and plan.scenario.kind == "message":
            reply = tasks.agent_message(plan.scenario.status_text or "",
                                        context_id=msg.get("contextId") or tasks.new_id())
            return None, plan, reply
        if rec is None:
            rec = Record(principal, tasks.new_task(msg))
        else:
            tasks.append_user_message(rec.task, msg)
        if params.push is not None:
            rec.push.append({**params.push, "taskId": rec.task["id"],
                             "id": params.push.get("id") or tasks.new_id(),
                             "dialect": dialect.value})
        await self._save(rec)
        return rec, plan, None

    async def send(self, principal: Principal, params: SendParams, dialect: Dialect) -> Json:
        rec, plan, reply = await self._prepare(principal, params, dialect)
        if reply is not None:
            return codec.message_event(reply, dialect)
        assert rec is not None
        done = self._start(rec, plan)
        if params.blocking:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(done), BLOCKING_WAIT_S)
            if done.done() and not done.cancelled() and isinstance(done.exception(), RateLimited):
                exc = done.exception()
                assert isinstance(exc, RateLimited)
                raise RateLimitedError(exc.message,
                                       metadata={"retryAfterSeconds": str(exc.retry_after)})
        return codec.task_event(rec.task, dialect, history_length=params.history_length)

    async def send_stream(self, principal: Principal, params: SendParams, dialect: Dialect
                          ) -> AsyncIterator[Json]:
        rec, plan, reply = await self._prepare(principal, params, dialect)
        if reply is not None:
            yield codec.message_event(reply, dialect)
            return
        assert rec is not None
        queue = self._subscribe(rec.task["id"])
        first = codec.task_event(_snapshot(rec.task), dialect,
                                 history_length=params.history_length)
        # Started before the first event goes out: a client that reads only the Task and
        # hangs up must not leave the work undone (push subscribers still hear of it).
        self._start(rec, plan)
        try:
            yield first
            async for item in self._drain(queue, dialect):
                yield item
        finally:
            self._unsubscribe(rec.task["id"], queue)

    async def subscribe(self, principal: Principal, task_id: str, dialect: Dialect
                        ) -> AsyncIterator[Json]:
        rec = await self._load(principal, task_id)
        if tasks.is_terminal(rec.task):
            raise UnsupportedOperation(
                f"Task {task_id} is in terminal state {rec.task['status']['state']}")
        queue = self._subscribe(task_id)
        try:
            yield codec.task_event(rec.task, dialect)
            async for item in self._drain(queue, dialect):
                yield item
        finally:
            self._unsubscribe(task_id, queue)

    async def _drain(self, queue: asyncio.Queue[Event], dialect: Dialect) -> AsyncIterator[Json]:
        while True:
            ev = await queue.get()
            if ev.kind == "artifact" and ev.artifact is not None:
                yield codec.artifact_event(ev.task, ev.artifact, dialect)
            else:
                yield codec.status_event(ev.task, dialect, final=ev.final)
            if ev.final:
                return

    def _subscribe(self, task_id: str) -> asyncio.Queue[Event]:
        q: asyncio.Queue[Event] = asyncio.Queue()
        self._subs.setdefault(task_id, set()).add(q)
        return q

    def _unsubscribe(self, task_id: str, q: asyncio.Queue[Event]) -> None:
        subs = self._subs.get(task_id)
        if subs is not None:
            subs.discard(q)
            if not subs:
                self._subs.pop(task_id, None)

    # -- running -----------------------------------------------------------------------
    def _start(self, rec: Record, plan: Plan) -> asyncio.Task[None]:
        tid = rec.task["id"]
        t = asyncio.get_running_loop().create_task(self._run(rec, plan))
        self._running[tid] = t

        def _done(_: asyncio.Task[None]) -> None:
            if self._running.get(tid) is t:
                self._running.pop(tid, None)

        t.add_done_callback(_done)
        return t

    async def _emit(self, rec: Record, kind: str = "status", artifact: Json | None = None,
                    *, last: bool = False) -> None:
        """Persist, tell live streams, push; `last` ends streams on a non-final state."""
        await self._save(rec)
        state = rec.task["status"]["state"]
        final = kind == "status" and (last or state in tasks.TERMINAL or state in tasks.PAUSED)
        ev = Event(kind, _snapshot(rec.task), artifact, final)
        for q in list(self._subs.get(rec.task["id"], ())):
            q.put_nowait(ev)
        if kind == "status" and rec.push:
            for cfg in rec.push:
                self._spawn(self._push(cfg, ev.task))

    async def _set(self, rec: Record, state: str, text: str | None = None) -> None:
        msg = tasks.agent_message(text, rec.task) if text is not None else None
        tasks.transition(rec.task, state, msg)
        await self._emit(rec)

    async def _run(self, rec: Record, plan: Plan) -> None:
        lock = self._locks.setdefault(rec.task["id"], asyncio.Lock())
        async with lock:
            try:
                await self._run_plan(rec, plan)
            except asyncio.CancelledError:
                if self._closing:  # shutdown, not a CancelTask: record why it stopped
                    await self._finish_failed(rec, INTERRUPTED)
                raise
            except RateLimited as exc:
                await self._finish_failed(rec, exc.message)
                raise
            except Exception:
                log.exception("a2a_task_failed", task=rec.task["id"])
                await self._finish_failed(rec, "internal error; it has been logged")
            finally:
                self._locks.pop(rec.task["id"], None)

    async def _finish_failed(self, rec: Record, text: str) -> None:
        if not tasks.is_terminal(rec.task):
            with contextlib.suppress(tasks.InvalidTransition):
                await self._set(rec, tasks.FAILED, text)

    async def _run_plan(self, rec: Record, plan: Plan) -> None:
        if plan.cancel:
            await self._set(rec, tasks.CANCELED, "Canceled as you asked.")
            return
        if plan.ask is not None:
            await self._set(rec, tasks.INPUT_REQUIRED, plan.ask)
            return
        if plan.park:
            # Like the kit's reference agent: accepted and working, nothing more to stream.
            tasks.transition(rec.task, tasks.WORKING)
            await self._emit(rec, last=True)
            return
        await self._set(rec, tasks.WORKING)
        if plan.scenario is not None:
            sc = plan.scenario
            for parts in sc.artifacts:
                art = tasks.add_artifact(rec.task, list(parts), name="result")
                await self._emit(rec, "artifact", art)
            await self._set(rec, sc.final_state, sc.status_text)
            return
        assert plan.tool is not None
        await self._run_tool(rec, plan.tool, plan.arguments)

    async def _run_tool(self, rec: Record, name: str, arguments: Json) -> None:
        from pierre.tools.invoke import invoke_tool

        async def progress(done: float, total: float | None, message: str | None) -> None:
            text = message or (f"{done:g}/{total:g}" if total else f"{done:g}")
            await self._set(rec, tasks.WORKING, text)

        try:
            # The /a2a request that asked for this run was charged at the edge.
            outcome = await invoke_tool(self.s, rec.principal, name, arguments,
                                        progress=progress, transport="a2a", charged=True)
        except NotFound:
            await self._set(rec, tasks.FAILED, f"Unknown tool {name!r} (or not available to you).")
            return
        if outcome.is_error:
            await self._set(rec, tasks.FAILED, outcome.text)
            return
        parts: list[Json] = [{"data": outcome.structured or {}},
                             {"text": _summary(name, outcome.structured)}]
        art = tasks.add_artifact(rec.task, parts, name=name, description=f"Result of {name}")
        await self._emit(rec, "artifact", art)
        await self._set(rec, tasks.COMPLETED, f"{name} completed.")

    # -- other operations ----------------------------------------------------------------
    async def cancel(self, principal: Principal, task_id: str, dialect: Dialect) -> Json:
        rec = await self._load(principal, task_id)
        running = self._running.get(task_id)
        tasks.cancel(rec.task)  # raises TaskNotCancelable when terminal
        if running is not None and not running.done():
            running.cancel()
            with contextlib.suppress(BaseException):
                await running
        await self._emit(rec)
        return codec.encode_task(rec.task, dialect)

    async def list(self, principal: Principal, q: ListQuery, dialect: Dialect) -> Json:
        """One page, newest status first; `pageSize` is the number of tasks on this page
        and `totalSize` counts every match (the database filters owner, context and
        state; the status-time filter and the count are done here, on at most
        LIST_SCAN_MAX tasks)."""
        offset = int(q.page_token) if q.page_token and q.page_token.isdigit() else 0
        if q.page_token and not q.page_token.isdigit():
            raise InvalidParams("pageToken is not one this server issued")
        rows = await self.s.db.list_a2a_tasks(principal.tenant_id, principal.user_id,
                                              context_id=q.context_id, state=q.state,
                                              limit=LIST_SCAN_MAX, offset=0)
        found = [_row_task(row) for row in rows]
        if q.status_after is not None:
            after = q.status_after
            found = [t for t in found if _status_time(t) >= after]
        page = found[offset:offset + q.page_size]
        more = offset + q.page_size < len(found)
        out = [codec.encode_task(t, dialect, history_length=q.history_length,
                                 include_artifacts=q.include_artifacts) for t in page]
        return {"tasks": out, "nextPageToken": str(offset + q.page_size) if more else "",
                "pageSize": len(out), "totalSize": len(found)}

    async def _check_push(self, cfg: Json) -> None:
        await webhooks.resolve_and_check(cfg["url"], self.s.config.a2a.allow_private_webhooks)

    async def push_set(self, principal: Principal, cfg: Json, dialect: Dialect) -> Json:
        rec = await self._load(principal, cfg["taskId"])
        await self._check_push(cfg)
        stored = {**cfg, "id": cfg.get("id") or tasks.new_id(), "dialect": dialect.value}
        rec.push = [c for c in rec.push if c["id"] != stored["id"]] + [stored]
        await self._save(rec)
        return codec.encode_push_config(stored, dialect)

    async def push_other(self, principal: Principal, op: str, ref: PushRef, dialect: Dialect
                         ) -> Any:
        rec = await self._load(principal, ref.task_id)
        if op == "push_list":
            configs = [codec.encode_push_config(c, dialect) for c in rec.push]
            return {"configs": configs} if dialect is Dialect.V1 else configs
        if op == "push_get":
            for c in rec.push:
                if ref.config_id in (None, c["id"]):
                    return codec.encode_push_config(c, dialect)
            raise TaskNotFound(f"push notification config {ref.config_id} not found")
        if ref.config_id is None:
            raise InvalidParams("the push notification config id is required")
        kept = [c for c in rec.push if c["id"] != ref.config_id]
        if len(kept) == len(rec.push):
            raise TaskNotFound(f"push notification config {ref.config_id} not found")
        rec.push = kept
        await self._save(rec)
        return None

    async def _push(self, cfg: Json, task: Json) -> None:
        if self._http is None:
            import aiohttp

            self._http = aiohttp.ClientSession()
        dialect = Dialect.V03 if cfg.get("dialect") == "0.3" else Dialect.V1
        payload = (codec.encode_task(task, dialect) if dialect is Dialect.V03
                   else codec.status_event(task, dialect, final=False))
        await webhooks.deliver(self._http, cfg, payload,
                               self.s.config.a2a.allow_private_webhooks)


def _row_task(row: Json) -> Json:
    data = row["data"]
    if isinstance(data, str | bytes):
        import orjson

        data = orjson.loads(data)
    task: Json = data["task"]
    return task


def _status_time(task: Json) -> datetime:
    stamp = task.get("status", {}).get("timestamp")
    try:
        when = datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
    except ValueError:
        when = None
    if when is None:
        return datetime.min.replace(tzinfo=UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _summary(name: str, result: Json | None) -> str:
    if not result:
        return f"{name}: no result."
    keys = ", ".join(list(result)[:8])
    return f"{name} returned {len(result)} field(s): {keys}."


def to_a2a_error(exc: Exception) -> A2AError | None:
    """Pierre errors raised below the engine in the A2A shape."""
    if isinstance(exc, A2AError):
        return exc
    if isinstance(exc, RateLimited):
        return RateLimitedError(exc.message, metadata={"retryAfterSeconds": str(exc.retry_after)})
    if isinstance(exc, NotFound):
        return TaskNotFound(exc.message)
    return None
