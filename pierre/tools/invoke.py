"""The one way any transport runs a tool (MCP tools/call, A2A messages, REST).

Contract:

    async def invoke_tool(services, principal, name, arguments, *, progress=None,
                          log=None, transport="mcp") -> ToolOutcome

- raises UnknownTool (a NotFound) when the tool does not exist or is not visible to
  the principal (tier, tenant switch, global switch) -> MCP -32602;
- raises RateLimited when the caller is over a limit -> MCP JSON-RPC error with retry time
  (`charged=True`: the transport already charged this request, as A2A does per request);
- counts the call per user, tenant, tool and UTC day (`usage_key`) for the usage pages;
- validates `arguments` against the tool's inputSchema with JSON Schema semantics
  (5.0 is a valid integer and is passed to the handler as 5); a bad argument gives
  ToolOutcome(is_error=True, text="<field>: <what is wrong>");
- a PierreError raised by the handler (provider failure, insufficient data, ...) gives
  ToolOutcome(is_error=True) with the error's message; an unexpected exception gives
  is_error=True with a generic message (logged with traceback, never sent);
- on success, `structured` is the handler's dict (checked against outputSchema) and
  `text` its JSON.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from pierre.errors import InvalidArguments, NotFound, PierreError
from pierre.ops.metrics import of as metrics_of
from pierre.ops.metrics import outcome as call_outcome
from pierre.ops.tracing import tracer
from pierre.tools.base import LogFn, ProgressFn, ToolContext, ToolSpec, _no_log, _no_progress

if TYPE_CHECKING:
    from pierre.auth.principal import Principal
    from pierre.services import Services

log_ = structlog.get_logger("pierre.tools")

# Tenant switches are read from the database at most this often per tenant.
TENANT_SETTINGS_TTL_S = 5.0
# Per-day usage counters live a little longer than the 14 days the dashboard shows.
USAGE_WINDOW_S = 15 * 86_400


class UnknownTool(NotFound):
    code = "unknown_tool"


@dataclass(slots=True)
class ToolOutcome:
    structured: dict[str, Any] | None
    text: str
    is_error: bool = False
    error: PierreError | None = None
    meta: dict[str, Any] = field(default_factory=dict)


# -- visibility ------------------------------------------------------------------
def _settings_of(tenant: Any) -> dict[str, Any]:
    settings = tenant.get("settings") if isinstance(tenant, dict) else getattr(
        tenant, "settings", None)
    if isinstance(settings, str | bytes):
        try:
            settings = orjson.loads(settings)
        except orjson.JSONDecodeError:
            return {}
    return settings if isinstance(settings, dict) else {}


async def tenant_disabled_tools(services: Services, tenant_id: str) -> frozenset[str]:
    """The tenant's `disabled_tools` switch, cached briefly (a DB read per call is waste)."""
    db = services.db
    if db is None or not hasattr(db, "get_tenant"):
        return frozenset()
    cache: dict[str, tuple[float, frozenset[str]]] = services.extras.setdefault(
        "tenant_disabled_tools", {})
    now = time.monotonic()
    hit = cache.get(tenant_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    try:
        tenant = await db.get_tenant(tenant_id)
    except NotFound:
        tenant = None
    except Exception as exc:  # visibility must not fail a call when the DB hiccups
        log_.warning("tenant_settings_unreadable", tenant=tenant_id, error=type(exc).__name__)
        return hit[1] if hit else frozenset()
    names = _settings_of(tenant).get("disabled_tools") if tenant is not None else None
    value = frozenset(n for n in (names or ()) if isinstance(n, str))
    cache[tenant_id] = (now + TENANT_SETTINGS_TTL_S, value)
    return value


async def visible_tools(services: Services, principal: Principal) -> list[ToolSpec]:
    disabled = await tenant_disabled_tools(services, principal.tenant_id)
    return services.tools.visible_to(principal.tier, disabled)


async def visible_tool(services: Services, principal: Principal, name: str) -> ToolSpec:
    spec = services.tools.get(name)
    if spec is not None:
        disabled = await tenant_disabled_tools(services, principal.tenant_id)
        if spec in services.tools.visible_to(principal.tier, disabled):
            return spec
    raise UnknownTool(f"Unknown tool: {name!r}", details={"tool": name})


# -- validation ------------------------------------------------------------------
_VALIDATORS: dict[int, tuple[dict[str, Any], Draft202012Validator]] = {}


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    hit = _VALIDATORS.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    v = Draft202012Validator(schema)
    _VALIDATORS[id(schema)] = (schema, v)
    return v


def describe(err: ValidationError) -> tuple[str, str]:
    """(field, message) a person can act on, e.g. ("limit", "5.5 is not of type 'integer'")."""
    path = ".".join(str(p) for p in err.absolute_path)
    if err.validator == "required" and isinstance(err.instance, dict):
        missing = [r for r in err.validator_value if r not in err.instance]
        name = missing[0] if missing else "?"
        return (f"{path}.{name}" if path else name), "is required"
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = set(err.schema.get("properties", {}))
        extra = sorted(k for k in err.instance if k not in allowed)
        name = extra[0] if extra else "?"
        return (f"{path}.{name}" if path else name), "is not an accepted argument"
    return path or "arguments", err.message


def check_arguments(schema: dict[str, Any], arguments: dict[str, Any]) -> dict[str, Any]:
    """Validate, then coerce integral floats where the schema wants integers."""
    err = best_match(_validator(schema).iter_errors(arguments))
    if err is not None:
        name, message = describe(err)
        raise InvalidArguments(f"{name}: {message}", field=name)
    out = _coerce(schema, arguments)
    return out if isinstance(out, dict) else arguments


def _wants_integer(schema: dict[str, Any]) -> bool:
    t = schema.get("type")
    return t == "integer" or (isinstance(t, list) and "integer" in t and "number" not in t)


def _coerce(schema: Any, value: Any) -> Any:
    if not isinstance(schema, dict):
        return value
    if isinstance(value, float) and value.is_integer() and _wants_integer(schema):
        return int(value)
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        return {k: _coerce(props.get(k), v) for k, v in value.items()}
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_coerce(schema["items"], v) for v in value]
    return value


# -- usage counting --------------------------------------------------------------
def usage_key(tenant_id: str, user_id: str, day: str, tool: str | None = None) -> str:
    """Tool calls counted per user ("*" = the whole tenant) and UTC day, optionally per tool."""
    base = f"usage:{tenant_id}:{user_id}:{day}"
    return f"{base}:{tool}" if tool else base


async def _count_call(services: Services, principal: Principal, tool: str) -> None:
    """Shared counters (the rate-limit backend), so the dashboard's usage page is real."""
    store = services.ratelimiter
    if store is None:
        return
    day = time.strftime("%Y-%m-%d", time.gmtime())
    keys = [usage_key(principal.tenant_id, who, day, t)
            for who in (principal.user_id, "*") for t in (None, tool)]
    try:
        await asyncio.gather(*(store.incr_window(k, USAGE_WINDOW_S) for k in keys))
    except Exception as exc:  # counting must never fail the call
        log_.warning("usage_count_failed", tool=tool, error=type(exc).__name__)


# -- invocation ------------------------------------------------------------------
async def invoke_tool(
    services: Services,
    principal: Principal,
    name: str,
    arguments: dict[str, Any] | None,
    *,
    progress: ProgressFn | None = None,
    log: LogFn | None = None,
    transport: str = "mcp",
    charged: bool = False,
) -> ToolOutcome:
    metrics = metrics_of(services)
    if metrics is None and not tracer.enabled:
        return await _invoke_tool(services, principal, name, arguments, progress=progress,
                                  log=log, transport=transport, charged=charged)
    # Label by registered name only: a caller-chosen name would grow the series unbounded.
    label = name if services.tools.get(name) is not None else "unknown"
    start = time.perf_counter()
    failure: BaseException | None = None
    with tracer.span(f"execute_tool {label}", {
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": label,
            "pierre.transport": transport}) as span:
        try:
            result = await _invoke_tool(services, principal, name, arguments,
                                        progress=progress, log=log, transport=transport,
                                        charged=charged)
        except BaseException as exc:
            failure = exc
            raise
        finally:
            if failure is not None:
                how = call_outcome(failure)
            elif result.error is not None:
                how = call_outcome(result.error)
            else:
                how = "error" if result.is_error else "ok"
            if metrics is not None:
                metrics.tool_calls.labels(label, how).inc()
                metrics.tool_seconds.labels(label).observe(time.perf_counter() - start)
            span.set("pierre.tool.outcome", how)
            if how != "ok":
                span.fail(how)
    return result


async def _invoke_tool(
    services: Services,
    principal: Principal,
    name: str,
    arguments: dict[str, Any] | None,
    *,
    progress: ProgressFn | None = None,
    log: LogFn | None = None,
    transport: str = "mcp",
    charged: bool = False,
) -> ToolOutcome:
    spec = await visible_tool(services, principal, name)
    if services.limits is not None and not charged:
        await services.limits.check_call(principal)
    if services.security is not None:  # tenant throttle + tool-spike counting
        await services.security.check_tool_call(principal.tenant_id)
    await _count_call(services, principal, name)
    try:
        args = check_arguments(spec.input_schema, arguments or {})
    except InvalidArguments as exc:
        return ToolOutcome(None, exc.message, is_error=True, error=exc)
    ctx = ToolContext(principal=principal, services=services,
                      progress=progress or _no_progress, log=log or _no_log,
                      transport=transport)
    try:
        structured = await spec.handler(ctx, args)
    except PierreError as exc:
        return ToolOutcome(None, exc.message, is_error=True, error=exc)
    except Exception:
        log_.exception("tool_failed", tool=name)
        return ToolOutcome(None, f"{name} failed with an internal error; it has been logged.",
                           is_error=True)
    if spec.output_schema:
        err = best_match(_validator(spec.output_schema).iter_errors(structured))
        if err is not None:
            where, message = describe(err)
            log_.error("tool_output_invalid", tool=name, field=where, problem=message)
            return ToolOutcome(None, f"{name} produced a result that does not match its "
                               "output schema; it has been logged.", is_error=True)
    return ToolOutcome(structured, orjson.dumps(structured).decode())
