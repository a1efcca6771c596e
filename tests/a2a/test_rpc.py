"""Envelope, dialect choice and parameter validation, without sockets."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from pierre.a2a import rpc
from pierre.a2a.dialect import Dialect, from_header
from pierre.a2a.errors import A2AError, error_response


def _call(body: Any, *, version: str | None = "1.0", ctype: str = "application/json") -> rpc.Call:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return rpc.parse_request(ctype, version, raw)


def _err(body: Any, **kw: Any) -> A2AError:
    with pytest.raises(A2AError) as info:
        _call(body, **kw)
    return info.value


def _msg(**extra: Any) -> dict[str, Any]:
    return {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "hi"}], **extra}


@pytest.mark.parametrize(("header", "dialect"), [
    (None, Dialect.V03), ("", Dialect.V03), ("  ", Dialect.V03), ("0.3", Dialect.V03),
    ("0.3.0", Dialect.V03), ("1.0", Dialect.V1), ("1", Dialect.V1), ("1.0.0", Dialect.V1),
])
def test_version_header_picks_dialect(header: str | None, dialect: Dialect) -> None:
    assert from_header(header) is dialect


@pytest.mark.parametrize("header", ["2.0", "0.2", "abc", "1.x", "0.4.1"])
def test_unsupported_version_is_32009(header: str) -> None:
    err = _err({"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {}},
               version=header)
    assert err.code == -32009


@pytest.mark.parametrize("version", [None, "", "1.0"])
def test_v1_method_is_v1_without_a_header_or_under_1x(version: str | None) -> None:
    call = _call({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "x"}},
                 version=version)
    assert (call.dialect, call.op) == (Dialect.V1, "get")


def test_v1_method_under_an_explicit_03_header_is_32009() -> None:
    err = _err({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "x"}},
               version="0.3")
    assert err.code == -32009


def test_v03_method_is_served_under_either_header() -> None:
    for version in (None, "1.0"):
        call = _call({"jsonrpc": "2.0", "id": 3, "method": "tasks/get",
                      "params": {"id": "t", "historyLength": 2}}, version=version)
        assert (call.dialect, call.op, call.params.history_length) == (Dialect.V03, "get", 2)


@pytest.mark.parametrize(("body", "code"), [
    (b"{not json", -32700),
    ([{"jsonrpc": "2.0", "id": 1, "method": "GetTask"}], -32600),
    ({"jsonrpc": "1.0", "id": 1, "method": "GetTask"}, -32600),
    ({"id": 1, "method": "GetTask"}, -32600),
    ({"jsonrpc": "2.0", "id": True, "method": "GetTask"}, -32600),
    ({"jsonrpc": "2.0", "id": {"a": 1}, "method": "GetTask"}, -32600),
    ({"jsonrpc": "2.0", "id": 1}, -32600),
    ({"jsonrpc": "2.0", "id": 1, "method": "Nope"}, -32601),
    ({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": [1]}, -32602),
    ({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {}}, -32602),
    ({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "t",
                                                                 "historyLength": -1}}, -32602),
    ({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "t",
                                                                 "historyLength": 1.5}}, -32602),
    ({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {}}, -32602),
    ({"jsonrpc": "2.0", "id": 1, "method": "SendMessage",
      "params": {"message": {**_msg(), "parts": []}}}, -32602),
    ({"jsonrpc": "2.0", "id": 1, "method": "SendMessage",
      "params": {"message": {**_msg(), "role": "ROLE_BOSS"}}}, -32602),
    ({"jsonrpc": "2.0", "id": 1, "method": "SendMessage",
      "params": {"message": {**_msg(), "parts": [{"text": "a", "url": "b"}]}}}, -32602),
    ({"jsonrpc": "2.0", "id": 1, "method": "SendMessage",
      "params": {"message": {k: v for k, v in _msg().items() if k != "messageId"}}}, -32602),
])
def test_bad_requests_get_the_right_code(body: Any, code: int) -> None:
    assert _err(body).code == code


def test_non_json_content_type_is_32005() -> None:
    err = _err({"jsonrpc": "2.0", "id": 1, "method": "GetTask"}, ctype="text/plain")
    assert err.code == -32005


def test_a2a_json_content_type_is_accepted() -> None:
    call = _call({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "t"}},
                 ctype="application/a2a+json; charset=utf-8")
    assert call.params.id == "t"


def test_error_keeps_request_id_and_v1_carries_error_info() -> None:
    err = _err({"jsonrpc": "2.0", "id": "abc", "method": "GetTask", "params": {}})
    rid, dialect = rpc.error_for(err, Dialect.V03)
    body = error_response(rid, err, dialect)
    assert body["id"] == "abc" and body["error"]["code"] == -32602
    info = body["error"]["data"][0]
    assert info["reason"] == "INVALID_PARAMS" and info["domain"] == "a2a-protocol.org"
    assert info["@type"].endswith("google.rpc.ErrorInfo")


def test_v03_error_has_no_error_info() -> None:
    err = _err({"jsonrpc": "2.0", "id": 9, "method": "tasks/get", "params": {}}, version=None)
    rid, dialect = rpc.error_for(err, Dialect.V03)
    body = error_response(rid, err, dialect)
    assert body["id"] == 9 and "data" not in body["error"]


def test_integral_doubles_are_integers() -> None:
    call = _call({"jsonrpc": "2.0", "id": 1, "method": "GetTask",
                  "params": {"id": "t", "historyLength": 5.0}})
    assert call.params.history_length == 5 and isinstance(call.params.history_length, int)


def test_v1_send_configuration() -> None:
    call = _call({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {
        "message": _msg(contextId="c"), "configuration": {
            "returnImmediately": True, "historyLength": 0,
            "taskPushNotificationConfig": {"url": "https://h/x", "token": "tok",
                                           "authentication": {"scheme": "Bearer",
                                                              "credentials": "s3"}}}}})
    p = call.params
    assert (p.blocking, p.history_length, p.message["contextId"]) == (False, 0, "c")
    assert p.push == {"url": "https://h/x", "token": "tok",
                      "authentication": {"scheme": "Bearer", "credentials": "s3"}}


def test_v03_send_converts_parts_and_roles() -> None:
    call = _call({"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {"message": {
        "kind": "message", "messageId": "m", "role": "user", "parts": [
            {"kind": "text", "text": "hello"},
            {"kind": "data", "data": {"tool": "x"}},
            {"kind": "file", "file": {"uri": "https://e/x.gpx", "name": "x.gpx",
                                      "mimeType": "application/gpx+xml"}}]},
        "configuration": {"blocking": False}}}, version=None)
    m = call.params.message
    assert m["role"] == "ROLE_USER" and not call.params.blocking
    assert m["parts"] == [{"text": "hello"}, {"data": {"tool": "x"}},
                          {"url": "https://e/x.gpx", "filename": "x.gpx",
                           "mediaType": "application/gpx+xml"}]


def test_v03_push_config_set_and_list_params() -> None:
    call = _call({"jsonrpc": "2.0", "id": 1, "method": "tasks/pushNotificationConfig/set",
                  "params": {"taskId": "t", "pushNotificationConfig": {
                      "url": "https://h/hook", "authentication": {"schemes": ["Bearer"],
                                                                   "credentials": "c"}}}},
                 version=None)
    assert call.params == {"url": "https://h/hook", "taskId": "t",
                           "authentication": {"scheme": "Bearer", "credentials": "c"}}
    call = _call({"jsonrpc": "2.0", "id": 2, "method": "tasks/pushNotificationConfig/list",
                  "params": {"id": "t"}}, version=None)
    assert call.params.task_id == "t"


def test_list_tasks_status_filter_in_both_dialects() -> None:
    v1 = _call({"jsonrpc": "2.0", "id": 1, "method": "ListTasks",
                "params": {"status": "TASK_STATE_WORKING", "pageSize": 10}})
    v03 = _call({"jsonrpc": "2.0", "id": 1, "method": "tasks/list",
                 "params": {"status": "working"}}, version=None)
    assert v1.params.state == v03.params.state == "TASK_STATE_WORKING"
    assert v1.params.page_size == 10


def test_proto_field_names_map_to_json_names_but_user_data_keeps_its_keys() -> None:
    call = _call({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": {
        "message_id": "m1", "role": "ROLE_USER", "context_id": "c1", "metadata": {"a_b": 1},
        "parts": [{"data": {"tool": "t", "arguments": {"max_hr": 180}}}]}}})
    msg = call.params.message
    assert (msg["messageId"], msg["contextId"], msg["metadata"]) == ("m1", "c1", {"a_b": 1})
    assert msg["parts"][0]["data"]["arguments"] == {"max_hr": 180}
    both = rpc.proto_names_to_json({"task_id": "proto", "taskId": "json"})
    assert both == {"taskId": "json"}
    ref = _call({"jsonrpc": "2.0", "id": 1, "method": "GetTaskPushNotificationConfig",
                 "params": {"task_id": "t1", "id": "c1"}}).params
    assert (ref.task_id, ref.config_id) == ("t1", "c1")


@pytest.mark.parametrize("params", [
    {"pageSize": 0}, {"pageSize": -1}, {"pageSize": 101}, {"statusTimestampAfter": "-1"},
    {"statusTimestampAfter": 5}, {"statusTimestampAfter": "yesterday"},
])
def test_list_tasks_rejects_bad_page_size_and_timestamps(params: dict[str, Any]) -> None:
    err = _err({"jsonrpc": "2.0", "id": 1, "method": "ListTasks", "params": params})
    assert err.code == -32602


def test_list_tasks_reads_page_size_and_timestamp() -> None:
    q = _call({"jsonrpc": "2.0", "id": 1, "method": "ListTasks", "params": {
        "pageSize": 2.0, "statusTimestampAfter": "2026-01-02T03:04:05.600Z"}}).params
    assert q.page_size == 2 and q.status_after.isoformat() == "2026-01-02T03:04:05.600000+00:00"
    assert _call({"jsonrpc": "2.0", "id": 1, "method": "ListTasks", "params": {}}
                 ).params.page_size == 50
    naive = _call({"jsonrpc": "2.0", "id": 1, "method": "ListTasks", "params": {
        "statusTimestampAfter": "2026-01-02T03:04:05"}}).params.status_after
    assert naive.utcoffset() is not None
