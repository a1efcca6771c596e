"""JSON-RPC envelope, method routing and parameter validation for both dialects.

`parse_request` turns (content type, version header, body bytes) into a
:class:`Call` naming a dialect-neutral operation with validated parameters, or
raises an :class:`A2AError` that `error_response` encodes. No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from pierre.a2a import codec
from pierre.a2a.dialect import Dialect, from_header
from pierre.a2a.errors import (
    A2AError,
    ContentTypeNotSupported,
    InvalidParams,
    InvalidRequest,
    MethodNotFound,
    ParseError,
    VersionNotSupported,
)

Json = dict[str, Any]

V1_METHODS = {
    "SendMessage": "send",
    "SendStreamingMessage": "stream",
    "GetTask": "get",
    "ListTasks": "list",
    "CancelTask": "cancel",
    "SubscribeToTask": "subscribe",
    "CreateTaskPushNotificationConfig": "push_set",
    "SetTaskPushNotificationConfig": "push_set",
    "GetTaskPushNotificationConfig": "push_get",
    "ListTaskPushNotificationConfigs": "push_list",
    "ListTaskPushNotificationConfig": "push_list",
    "DeleteTaskPushNotificationConfig": "push_delete",
    "GetExtendedAgentCard": "card",
}
V03_METHODS = {
    "message/send": "send",
    "message/stream": "stream",
    "tasks/get": "get",
    "tasks/list": "list",
    "tasks/cancel": "cancel",
    "tasks/resubscribe": "subscribe",
    "tasks/pushNotificationConfig/set": "push_set",
    "tasks/pushNotificationConfig/get": "push_get",
    "tasks/pushNotificationConfig/list": "push_list",
    "tasks/pushNotificationConfig/delete": "push_delete",
    "agent/getAuthenticatedExtendedCard": "card",
}
STREAMING_OPS = frozenset({"stream", "subscribe"})


@dataclass(slots=True)
class SendParams:
    message: Json
    history_length: int | None = None
    blocking: bool = True
    push: Json | None = None
    accepted_output_modes: list[str] = field(default_factory=list)
    metadata: Json = field(default_factory=dict)


@dataclass(slots=True)
class TaskQuery:
    id: str
    history_length: int | None = None


@dataclass(slots=True)
class ListQuery:
    context_id: str | None = None
    state: str | None = None
    page_size: int = 50
    page_token: str | None = None
    history_length: int | None = None
    include_artifacts: bool = False
    # Only tasks whose status changed at or after this instant (statusTimestampAfter).
    status_after: datetime | None = None


@dataclass(slots=True)
class PushRef:
    task_id: str
    config_id: str | None = None


@dataclass(slots=True)
class Call:
    id: str | int | None
    method: str
    op: str
    dialect: Dialect
    params: Any


def request_id_of(body: Any) -> str | int | None:
    """The id to answer with, even for an invalid request (None when unusable)."""
    if isinstance(body, dict):
        rid = body.get("id")
        if isinstance(rid, str) or (isinstance(rid, int) and not isinstance(rid, bool)):
            return rid
    return None


def is_json_content_type(content_type: str | None) -> bool:
    if not content_type:
        return True  # lenient: curl without -H; the body still has to be JSON
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime == "application/json" or (
        mime.startswith("application/") and mime.endswith("+json"))


def header_dialect(version_header: str | None) -> Dialect:
    """Dialect to shape errors in before the method is known (never raises)."""
    try:
        return from_header(version_header)
    except VersionNotSupported:
        return Dialect.V1


def parse_request(content_type: str | None, version_header: str | None, body: bytes) -> Call:
    """Validate envelope, pick dialect, decode params. Raises A2AError with `.rid` set."""
    rid: str | int | None = None
    try:
        if not is_json_content_type(content_type):
            raise ContentTypeNotSupported(
                f"Content-Type {content_type!r} is not supported; send application/json")
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise ParseError("request body is not valid JSON") from None
        rid = request_id_of(data)
        if isinstance(data, list):
            raise InvalidRequest("batch requests are not supported")
        if not isinstance(data, dict):
            raise InvalidRequest("request must be a JSON-RPC 2.0 object")
        if data.get("jsonrpc") != "2.0":
            raise InvalidRequest("'jsonrpc' must be exactly \"2.0\"")
        raw_id = data.get("id")
        if "id" in data and raw_id is not None and rid is None:
            raise InvalidRequest("id must be a string, an integer or null")
        method = data.get("method")
        if not isinstance(method, str) or not method:
            raise InvalidRequest("'method' must be a non-empty string")
        params = data.get("params", {})
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise InvalidParams("'params' must be an object")
        header = from_header(version_header)
        if method in V03_METHODS:
            dialect, op = Dialect.V03, V03_METHODS[method]
        elif method in V1_METHODS:
            # No header: the name alone says 1.0 (the official test kit sends none). An
            # explicit 0.3 header with a 1.0 method is a contradiction the caller must fix.
            if header is not Dialect.V1 and (version_header or "").strip():
                raise VersionNotSupported(
                    f"method {method} is A2A 1.0; send the header A2A-Version: 1.0")
            dialect, op = Dialect.V1, V1_METHODS[method]
        else:
            raise MethodNotFound(f"method {method!r} not found")
        if dialect is Dialect.V1:
            params = proto_names_to_json(params)
        try:
            decoded = _PARAMS[op](params, dialect)
        except A2AError as exc:
            exc.dialect = dialect  # type: ignore[attr-defined]
            raise
        return Call(rid, method, op, dialect, decoded)
    except A2AError as exc:
        exc.rid = rid  # type: ignore[attr-defined]
        raise


_OPAQUE = frozenset({"data", "metadata", "arguments"})


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def proto_names_to_json(value: Any) -> Any:
    """ProtoJSON parsers accept a field's proto name (`task_id`) as well as its JSON name
    (`taskId`); map the former to the latter. User payloads (data parts, metadata) keep
    their keys. The JSON name wins when both are sent."""
    if isinstance(value, list):
        return [proto_names_to_json(v) for v in value]
    if not isinstance(value, dict):
        return value
    out: Json = {}
    for key, v in value.items():
        name = _camel(key) if isinstance(key, str) and "_" in key else key
        if name in out and name != key:
            continue
        out[name] = v if name in _OPAQUE else proto_names_to_json(v)
    return out


# -- per-operation params ---------------------------------------------------------
def _send(p: Json, d: Dialect) -> SendParams:
    message = codec.decode_message(p.get("message"), d)
    out = SendParams(message=message)
    cfg = p.get("configuration")
    if cfg is not None:
        if not isinstance(cfg, dict):
            raise InvalidParams("configuration must be an object")
        out.history_length = codec.opt_int(cfg, "historyLength", "configuration")
        modes = cfg.get("acceptedOutputModes")
        if modes is not None:
            if not isinstance(modes, list) or not all(isinstance(m, str) for m in modes):
                raise InvalidParams("configuration.acceptedOutputModes must be a list of strings")
            out.accepted_output_modes = modes
        if d is Dialect.V1:
            ret = cfg.get("returnImmediately")
            if ret is not None and not isinstance(ret, bool):
                raise InvalidParams("configuration.returnImmediately must be a boolean")
            out.blocking = not ret
            push = cfg.get("taskPushNotificationConfig") or cfg.get("pushNotificationConfig")
        else:
            blocking = cfg.get("blocking")
            if blocking is not None and not isinstance(blocking, bool):
                raise InvalidParams("configuration.blocking must be a boolean")
            out.blocking = True if blocking is None else blocking
            push = cfg.get("pushNotificationConfig")
        if push is not None:
            out.push = codec.decode_push_config(
                push, d, None, "configuration.pushNotificationConfig")
    if isinstance(p.get("metadata"), dict):
        out.metadata = p["metadata"]
    return out


def _task_id(p: Json, key: str = "id") -> str:
    value = p.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidParams(f"{key} is required and must be a non-empty string")
    return value


def _get(p: Json, d: Dialect) -> TaskQuery:
    return TaskQuery(_task_id(p), codec.opt_int(p, "historyLength", "params"))


def _id_only(p: Json, d: Dialect) -> TaskQuery:
    return TaskQuery(_task_id(p))


def _list(p: Json, d: Dialect) -> ListQuery:
    q = ListQuery()
    if (ctx := p.get("contextId")) is not None:
        if not isinstance(ctx, str):
            raise InvalidParams("contextId must be a string")
        q.context_id = ctx or None
    status = p.get("status")
    if status not in (None, "", 0, "TASK_STATE_UNSPECIFIED"):
        q.state = codec.state_from_wire(status, d)
    size = codec.opt_int(p, "pageSize", "params", minimum=None)
    if size is not None:
        if not 1 <= size <= 100:
            raise InvalidParams("pageSize must be between 1 and 100")
        q.page_size = size
    if (tok := p.get("pageToken")) is not None:
        if not isinstance(tok, str):
            raise InvalidParams("pageToken must be a string")
        q.page_token = tok or None
    q.history_length = codec.opt_int(p, "historyLength", "params")
    if (after := p.get("statusTimestampAfter")) is not None:
        q.status_after = parse_timestamp(after, "statusTimestampAfter")
    inc = p.get("includeArtifacts")
    if inc is not None and not isinstance(inc, bool):
        raise InvalidParams("includeArtifacts must be a boolean")
    q.include_artifacts = bool(inc)
    return q


def parse_timestamp(value: Any, where: str) -> datetime:
    """An RFC 3339 timestamp (ProtoJSON's Timestamp form); naive means UTC."""
    if not isinstance(value, str) or not value[:4].isdigit():
        raise InvalidParams(f"{where} must be an RFC 3339 timestamp")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidParams(f"{where} must be an RFC 3339 timestamp") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _push_set(p: Json, d: Dialect) -> Json:
    if d is Dialect.V1:
        task_id = _task_id(p, "taskId")
        body = p.get("config") if isinstance(p.get("config"), dict) else p
        return codec.decode_push_config(body, d, task_id, "params")
    task_id = _task_id(p, "taskId")
    return codec.decode_push_config(p.get("pushNotificationConfig"), d, task_id,
                                    "pushNotificationConfig")


def _push_ref(p: Json, d: Dialect) -> PushRef:
    if d is Dialect.V1:
        cid = p.get("id")
        return PushRef(_task_id(p, "taskId"), cid if isinstance(cid, str) and cid else None)
    cid = p.get("pushNotificationConfigId")
    return PushRef(_task_id(p), cid if isinstance(cid, str) and cid else None)


def _push_list(p: Json, d: Dialect) -> PushRef:
    return PushRef(_task_id(p, "taskId" if d is Dialect.V1 else "id"))


def _card(p: Json, d: Dialect) -> None:
    return None


_PARAMS: dict[str, Any] = {
    "send": _send, "stream": _send, "get": _get, "list": _list, "cancel": _id_only,
    "subscribe": _id_only, "push_set": _push_set, "push_get": _push_ref,
    "push_list": _push_list, "push_delete": _push_ref, "card": _card,
}


def error_for(exc: A2AError, default: Dialect) -> tuple[str | int | None, Dialect]:
    """The id and dialect to answer a failed parse with."""
    return getattr(exc, "rid", None), getattr(exc, "dialect", default)


def result_response(rid: str | int | None, result: Any) -> Json:
    return {"jsonrpc": "2.0", "id": rid, "result": result}
