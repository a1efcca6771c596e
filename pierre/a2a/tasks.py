"""The task state machine: submitted → working → completed/failed/canceled,
with input-required/auth-required as pauses a follow-up message resumes.

Pure functions over the internal task dict (v1.0 ProtoJSON form, see codec).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pierre.a2a.errors import InvalidParams, TaskNotCancelable, UnsupportedOperation

Json = dict[str, Any]

SUBMITTED = "TASK_STATE_SUBMITTED"
WORKING = "TASK_STATE_WORKING"
COMPLETED = "TASK_STATE_COMPLETED"
FAILED = "TASK_STATE_FAILED"
CANCELED = "TASK_STATE_CANCELED"
INPUT_REQUIRED = "TASK_STATE_INPUT_REQUIRED"
REJECTED = "TASK_STATE_REJECTED"
AUTH_REQUIRED = "TASK_STATE_AUTH_REQUIRED"

TERMINAL = frozenset({COMPLETED, FAILED, CANCELED, REJECTED})
PAUSED = frozenset({INPUT_REQUIRED, AUTH_REQUIRED})

_ALLOWED: dict[str, frozenset[str]] = {
    SUBMITTED: frozenset({WORKING, COMPLETED, FAILED, CANCELED, REJECTED, INPUT_REQUIRED,
                          AUTH_REQUIRED}),
    WORKING: frozenset({WORKING, COMPLETED, FAILED, CANCELED, INPUT_REQUIRED, AUTH_REQUIRED}),
    # A follow-up that still names nothing asks again: the pause is renewed, never failed.
    INPUT_REQUIRED: frozenset({WORKING, COMPLETED, FAILED, CANCELED, INPUT_REQUIRED}),
    AUTH_REQUIRED: frozenset({WORKING, COMPLETED, FAILED, CANCELED, AUTH_REQUIRED}),
}


class InvalidTransition(Exception):
    pass


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id() -> str:
    return str(uuid.uuid4())


def agent_message(text: str, task: Json | None = None, *, context_id: str | None = None) -> Json:
    msg: Json = {"messageId": new_id(), "role": "ROLE_AGENT", "parts": [{"text": text}]}
    if task is not None:
        msg["taskId"] = task["id"]
        msg["contextId"] = task["contextId"]
    elif context_id:
        msg["contextId"] = context_id
    return msg


def new_task(message: Json, *, task_id: str | None = None) -> Json:
    """A submitted task whose history starts with the user's message."""
    tid = task_id or new_id()
    ctx = message.get("contextId") or new_id()
    first = {**message, "taskId": tid, "contextId": ctx}
    return {"id": tid, "contextId": ctx,
            "status": {"state": SUBMITTED, "timestamp": now_iso()},
            "history": [first], "artifacts": []}


def is_terminal(task: Json) -> bool:
    return task["status"]["state"] in TERMINAL


def transition(task: Json, state: str, message: Json | None = None) -> Json:
    """Move `task` to `state` in place; an agent status message also joins history."""
    current = task["status"]["state"]
    if state not in _ALLOWED.get(current, frozenset()):
        raise InvalidTransition(f"{current} -> {state}")
    status: Json = {"state": state, "timestamp": now_iso()}
    if message is not None:
        status["message"] = message
        task.setdefault("history", []).append(message)
    task["status"] = status
    return task


def add_artifact(task: Json, parts: list[Json], *, name: str | None = None,
                 description: str | None = None) -> Json:
    art: Json = {"artifactId": new_id(), "parts": parts}
    if name:
        art["name"] = name
    if description:
        art["description"] = description
    task.setdefault("artifacts", []).append(art)
    return art


def check_follow_up(task: Json, message: Json) -> None:
    """A message naming an existing task may only continue a live one of the same context."""
    if is_terminal(task):
        raise UnsupportedOperation(
            f"Task {task['id']} is in terminal state {task['status']['state']}")
    ctx = message.get("contextId")
    if ctx and ctx != task["contextId"]:
        raise InvalidParams(f"contextId {ctx} does not match task {task['id']}")


def append_user_message(task: Json, message: Json) -> None:
    task.setdefault("history", []).append(
        {**message, "taskId": task["id"], "contextId": task["contextId"]})


def cancel(task: Json) -> Json:
    if is_terminal(task):
        raise TaskNotCancelable(
            f"Task {task['id']} is in terminal state {task['status']['state']}")
    return transition(task, CANCELED)
