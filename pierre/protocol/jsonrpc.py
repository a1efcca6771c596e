"""JSON-RPC 2.0 framing, exact to the specification, with no I/O.

Parsing classifies one decoded value as a request, notification or response,
or raises :class:`RpcError` carrying the code and the id to answer with.
Ids are strings or integers; `null`, floats, booleans and objects are refused.
"""

from __future__ import annotations

from typing import Any

import orjson

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
# MCP and application codes (the -32000..-32099 range is for servers).
RESOURCE_NOT_FOUND = -32002
SERVER_SHUTTING_DOWN = -32001
RATE_LIMITED = -32029
CONNECTION_CLOSED = -32000

RequestId = str | int


class RpcError(Exception):
    """An error to send back: `id` is the request's id when it could be read."""

    __slots__ = ("code", "data", "id", "message")

    def __init__(self, code: int, message: str, *, data: Any = None,
                 id: RequestId | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data
        self.id = id


class Request:
    __slots__ = ("id", "method", "params")

    def __init__(self, id: RequestId, method: str, params: dict[str, Any] | list[Any] | None):
        self.id = id
        self.method = method
        self.params = params


class Notification:
    __slots__ = ("method", "params")

    def __init__(self, method: str, params: dict[str, Any] | list[Any] | None):
        self.method = method
        self.params = params


class Response:
    __slots__ = ("error", "id", "result")

    def __init__(self, id: RequestId | None, result: Any = None, error: Any = None):
        self.id = id
        self.result = result
        self.error = error


Message = Request | Notification | Response


def valid_id(value: Any) -> bool:
    """Strings and integers only (bool is an int subclass in Python, and is refused)."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def decode(raw: str | bytes | bytearray | memoryview) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise RpcError(PARSE_ERROR, "Parse error: the message is not valid JSON") from None


def classify(obj: Any) -> Message:
    """One JSON value → a message, or RpcError(-32600) naming what is wrong."""
    if not isinstance(obj, dict):
        raise RpcError(INVALID_REQUEST, "Invalid request: a message must be a JSON object")
    raw_id = obj.get("id")
    has_id = "id" in obj
    good_id = raw_id if has_id and valid_id(raw_id) else None
    if obj.get("jsonrpc") != "2.0":
        raise RpcError(INVALID_REQUEST, 'Invalid request: "jsonrpc" must be "2.0"', id=good_id)
    if "method" in obj:
        method = obj["method"]
        if not isinstance(method, str) or not method:
            raise RpcError(INVALID_REQUEST, 'Invalid request: "method" must be a string',
                           id=good_id)
        params = obj.get("params")
        if params is not None and not isinstance(params, dict | list):
            raise RpcError(INVALID_REQUEST,
                           'Invalid request: "params" must be an object or an array', id=good_id)
        if not has_id:
            return Notification(method, params)
        if good_id is None:
            raise RpcError(INVALID_REQUEST,
                           'Invalid request: "id" must be a string or an integer, never null')
        return Request(good_id, method, params)
    if has_id and ("result" in obj) != ("error" in obj):
        if raw_id is not None and not valid_id(raw_id):
            raise RpcError(INVALID_REQUEST, 'Invalid response: bad "id"')
        return Response(raw_id, obj.get("result"), obj.get("error"))
    raise RpcError(INVALID_REQUEST, 'Invalid request: no "method", and not a response',
                   id=good_id)


def result(id: RequestId, value: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id, "result": value}


def error(id: RequestId | None, code: int, message: str, data: Any = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        err["data"] = data
    return {"jsonrpc": "2.0", "id": id, "error": err}


def error_from(exc: RpcError, id: RequestId | None = None) -> dict[str, Any]:
    return error(exc.id if exc.id is not None else id, exc.code, exc.message, exc.data)


def notification(method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        msg["params"] = params
    return msg


def request(id: RequestId, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    msg: dict[str, Any] = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        msg["params"] = params
    return msg


def encode(msg: Any) -> bytes:
    return orjson.dumps(msg)
