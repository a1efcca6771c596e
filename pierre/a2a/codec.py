"""Wire shapes of both dialects, to and from one internal form.

Internally Pierre keeps messages, tasks and artifacts in the v1.0 ProtoJSON form
(camelCase, `TASK_STATE_*` / `ROLE_*` enum names, parts as `{text|data|url|raw}`),
because it is the richer one and what is stored in the database. v0.3 differs in
`kind` discriminators, lowercase hyphenated enums, `file` parts and a few field
names; each conversion lives here and nowhere else.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from pierre.a2a.dialect import Dialect
from pierre.a2a.errors import InvalidParams

Json = dict[str, Any]

STATES = (
    "TASK_STATE_SUBMITTED", "TASK_STATE_WORKING", "TASK_STATE_COMPLETED", "TASK_STATE_FAILED",
    "TASK_STATE_CANCELED", "TASK_STATE_INPUT_REQUIRED", "TASK_STATE_REJECTED",
    "TASK_STATE_AUTH_REQUIRED",
)
_STATE_NUMBERS = {i + 1: s for i, s in enumerate(STATES)}
_V03_STATE = {s: s.removeprefix("TASK_STATE_").lower().replace("_", "-") for s in STATES}
_FROM_V03_STATE = {v: k for k, v in _V03_STATE.items()}
_ROLES_V1 = {"ROLE_USER": "ROLE_USER", "ROLE_AGENT": "ROLE_AGENT", 1: "ROLE_USER",
             2: "ROLE_AGENT", "user": "ROLE_USER", "agent": "ROLE_AGENT"}
_ROLES_V03 = {"user": "ROLE_USER", "agent": "ROLE_AGENT"}


def _obj(value: Any, where: str) -> Json:
    if not isinstance(value, dict):
        raise InvalidParams(f"{where} must be an object")
    return value


def _opt_str(obj: Json, key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidParams(f"{where}.{key} must be a string")
    return value


def _req_str(obj: Json, key: str, where: str) -> str:
    value = _opt_str(obj, key, where)
    if value is None:
        raise InvalidParams(f"{where}.{key} is required")
    return value


def opt_int(obj: Json, key: str, where: str, *, minimum: int | None = 0) -> int | None:
    """Integers per JSON Schema: 5.0 is 5 (protobuf clients send doubles); "5" is what
    ProtoJSON sends for int64, so digit strings are accepted too."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, str) and value.lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise InvalidParams(f"{where}.{key} must be an integer")
    out = int(value)
    if minimum is not None and out < minimum:
        raise InvalidParams(f"{where}.{key} must be >= {minimum}")
    return out


def state_from_wire(value: Any, dialect: Dialect) -> str:
    if dialect is Dialect.V03:
        if value in _FROM_V03_STATE:
            return _FROM_V03_STATE[value]
    elif value in STATES:
        return str(value)
    elif isinstance(value, int) and value in _STATE_NUMBERS:
        return _STATE_NUMBERS[value]
    raise InvalidParams(f"unknown task state {value!r}")


def state_to_wire(state: str, dialect: Dialect) -> str:
    return _V03_STATE.get(state, "unknown") if dialect is Dialect.V03 else state


# -- parts ---------------------------------------------------------------------
def _decode_part_v1(p: Json, where: str) -> Json:
    present = [k for k in ("text", "raw", "url", "data") if k in p]
    if len(present) != 1:
        raise InvalidParams(f"{where} must have exactly one of text, raw, url, data")
    kind = present[0]
    out: Json = {}
    if kind == "text":
        if not isinstance(p["text"], str):
            raise InvalidParams(f"{where}.text must be a string")
        out["text"] = p["text"]
    elif kind == "data":
        out["data"] = p["data"]
    else:
        if not isinstance(p[kind], str):
            raise InvalidParams(f"{where}.{kind} must be a string")
        if kind == "raw":
            _check_b64(p["raw"], f"{where}.raw")
        out[kind] = p[kind]
        for key in ("filename", "mediaType"):
            if (v := _opt_str(p, key, where)) is not None:
                out[key] = v
    if isinstance(p.get("metadata"), dict):
        out["metadata"] = p["metadata"]
    return out


def _check_b64(value: str, where: str) -> None:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidParams(f"{where} must be base64") from None


def _decode_part_v03(p: Json, where: str) -> Json:
    kind = p.get("kind") or ("text" if "text" in p else "data" if "data" in p
                             else "file" if "file" in p else None)
    out: Json
    if kind == "text":
        if not isinstance(p.get("text"), str):
            raise InvalidParams(f"{where}.text must be a string")
        out = {"text": p["text"]}
    elif kind == "data":
        if not isinstance(p.get("data"), dict):
            raise InvalidParams(f"{where}.data must be an object")
        out = {"data": p["data"]}
    elif kind == "file":
        f = _obj(p.get("file"), f"{where}.file")
        if isinstance(f.get("uri"), str):
            out = {"url": f["uri"]}
        elif isinstance(f.get("bytes"), str):
            _check_b64(f["bytes"], f"{where}.file.bytes")
            out = {"raw": f["bytes"]}
        else:
            raise InvalidParams(f"{where}.file needs uri or bytes")
        if (name := _opt_str(f, "name", where)) is not None:
            out["filename"] = name
        if (mime := _opt_str(f, "mimeType", where)) is not None:
            out["mediaType"] = mime
    else:
        raise InvalidParams(f"{where}.kind must be text, data or file")
    if isinstance(p.get("metadata"), dict):
        out["metadata"] = p["metadata"]
    return out


def encode_part(part: Json, dialect: Dialect) -> Json:
    if dialect is Dialect.V1:
        return dict(part)
    out: Json
    if "text" in part:
        out = {"kind": "text", "text": part["text"]}
    elif "data" in part:
        data = part["data"]
        out = {"kind": "data", "data": data if isinstance(data, dict) else {"value": data}}
    else:
        f: Json = {"uri": part["url"]} if "url" in part else {"bytes": part.get("raw", "")}
        if "filename" in part:
            f["name"] = part["filename"]
        if "mediaType" in part:
            f["mimeType"] = part["mediaType"]
        out = {"kind": "file", "file": f}
    if "metadata" in part:
        out["metadata"] = part["metadata"]
    return out


# -- messages --------------------------------------------------------------------
def decode_message(value: Any, dialect: Dialect, where: str = "message") -> Json:
    m = _obj(value, where)
    out: Json = {"messageId": _req_str(m, "messageId", where)}
    roles: dict[Any, str] = _ROLES_V1 if dialect is Dialect.V1 else _ROLES_V03
    role = m.get("role")
    if not isinstance(role, str | int) or role not in roles:
        raise InvalidParams(f"{where}.role must be one of {sorted(map(str, roles))}")
    out["role"] = roles[role]
    parts = m.get("parts")
    if not isinstance(parts, list) or not parts:
        raise InvalidParams(f"{where}.parts must be a non-empty list")
    decode = _decode_part_v1 if dialect is Dialect.V1 else _decode_part_v03
    out["parts"] = [decode(_obj(p, f"{where}.parts[{i}]"), f"{where}.parts[{i}]")
                    for i, p in enumerate(parts)]
    for key in ("contextId", "taskId"):
        if (v := _opt_str(m, key, where)) is not None:
            out[key] = v
    if isinstance(m.get("metadata"), dict):
        out["metadata"] = m["metadata"]
    for key in ("referenceTaskIds", "extensions"):
        if isinstance(m.get(key), list):
            out[key] = [str(x) for x in m[key]]
    return out


def encode_message(msg: Json, dialect: Dialect) -> Json:
    out = {k: v for k, v in msg.items() if k != "parts"}
    out["parts"] = [encode_part(p, dialect) for p in msg.get("parts", [])]
    if dialect is Dialect.V03:
        out["role"] = "agent" if msg.get("role") == "ROLE_AGENT" else "user"
        out["kind"] = "message"
    return out


# -- tasks, artifacts, events ----------------------------------------------------
def encode_status(status: Json, dialect: Dialect) -> Json:
    out: Json = {"state": state_to_wire(status["state"], dialect)}
    if status.get("message"):
        out["message"] = encode_message(status["message"], dialect)
    if status.get("timestamp"):
        out["timestamp"] = status["timestamp"]
    return out


def encode_artifact(art: Json, dialect: Dialect) -> Json:
    out = {k: v for k, v in art.items() if k != "parts"}
    out["parts"] = [encode_part(p, dialect) for p in art.get("parts", [])]
    return out


def apply_history_length(history: list[Json], history_length: int | None) -> list[Json]:
    """Absent = everything, 0 = nothing, n = the most recent n messages."""
    if history_length is None:
        return history
    return history[-history_length:] if history_length > 0 else []


def encode_task(task: Json, dialect: Dialect, *, history_length: int | None = None,
                include_artifacts: bool = True) -> Json:
    out: Json = {"id": task["id"], "contextId": task["contextId"],
                 "status": encode_status(task["status"], dialect)}
    history = apply_history_length(task.get("history") or [], history_length)
    if history:
        out["history"] = [encode_message(m, dialect) for m in history]
    if include_artifacts and task.get("artifacts"):
        out["artifacts"] = [encode_artifact(a, dialect) for a in task["artifacts"]]
    if task.get("metadata"):
        out["metadata"] = task["metadata"]
    if dialect is Dialect.V03:
        out["kind"] = "task"
    return out


def status_event(task: Json, dialect: Dialect, *, final: bool) -> Json:
    body: Json = {"taskId": task["id"], "contextId": task["contextId"],
                  "status": encode_status(task["status"], dialect)}
    if dialect is Dialect.V03:
        return {**body, "kind": "status-update", "final": final}
    return {"statusUpdate": body}


def artifact_event(task: Json, artifact: Json, dialect: Dialect, *,
                   append: bool = False, last_chunk: bool = True) -> Json:
    body: Json = {"taskId": task["id"], "contextId": task["contextId"],
                  "artifact": encode_artifact(artifact, dialect),
                  "append": append, "lastChunk": last_chunk}
    if dialect is Dialect.V03:
        return {**body, "kind": "artifact-update"}
    return {"artifactUpdate": body}


def task_event(task: Json, dialect: Dialect, *, history_length: int | None = None) -> Json:
    """A Task as the first item of a stream, or as a SendMessage result."""
    encoded = encode_task(task, dialect, history_length=history_length)
    return encoded if dialect is Dialect.V03 else {"task": encoded}


def message_event(msg: Json, dialect: Dialect) -> Json:
    encoded = encode_message(msg, dialect)
    return encoded if dialect is Dialect.V03 else {"message": encoded}


# -- push notification configs -------------------------------------------------------
def decode_push_config(value: Any, dialect: Dialect, task_id: str | None,
                       where: str) -> Json:
    """-> {taskId?, id?, url, token?, authentication?: {scheme, credentials?}}"""
    c = _obj(value, where)
    out: Json = {"url": _req_str(c, "url", where)}
    if task_id:
        out["taskId"] = task_id
    for key in ("id", "token"):
        if (v := _opt_str(c, key, where)) is not None:
            out[key] = v
    auth = c.get("authentication")
    if isinstance(auth, dict):
        if dialect is Dialect.V1:
            scheme = _opt_str(auth, "scheme", f"{where}.authentication")
        else:
            schemes = auth.get("schemes") or []
            scheme = str(schemes[0]) if isinstance(schemes, list) and schemes else None
        creds = _opt_str(auth, "credentials", f"{where}.authentication")
        if scheme or creds:
            out["authentication"] = {"scheme": scheme or "Bearer",
                                     **({"credentials": creds} if creds else {})}
    return out


def encode_push_config(cfg: Json, dialect: Dialect) -> Json:
    inner: Json = {"id": cfg["id"], "url": cfg["url"]}
    if cfg.get("token"):
        inner["token"] = cfg["token"]
    auth = cfg.get("authentication")
    if dialect is Dialect.V1:
        if auth:
            inner["authentication"] = {"scheme": auth["scheme"],
                                       **({"credentials": auth["credentials"]}
                                          if auth.get("credentials") else {})}
        return {"taskId": cfg["taskId"], **inner}
    if auth:
        inner["authentication"] = {"schemes": [auth["scheme"]],
                                   **({"credentials": auth["credentials"]}
                                      if auth.get("credentials") else {})}
    return {"taskId": cfg["taskId"], "pushNotificationConfig": inner}
