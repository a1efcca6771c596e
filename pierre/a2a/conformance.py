"""Scripted behaviours the official A2A test kit (a2a-tck) expects.

Only served when `[a2a] conformance_mode = true`: a message whose `messageId`
starts with a known `tck-` prefix gets a fixed answer instead of running a tool.
Prefixes are matched longest first (`tck-artifact-file-url` before `tck-artifact-file`).
In the same mode, the engine gives other text that names no tool the kit's
reference-agent behaviour (`working` until continued or canceled) instead of
asking which tool is meant: the kit's ListTasks and history tests rely on it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]

HELLO = "Hello from TCK"


@dataclass(frozen=True, slots=True)
class Scenario:
    # "message": answer with a Message, no task; "task": run the task script.
    kind: str
    final_state: str = "TASK_STATE_COMPLETED"
    status_text: str | None = HELLO
    artifacts: tuple[tuple[Json, ...], ...] = field(default_factory=tuple)
    # Emit an explicit working status before the artifacts (stream scenarios).
    working_first: bool = True


_FILE_TEXT = base64.b64encode(b"Generated file content").decode()
_SCENARIOS: dict[str, Scenario] = {
    "tck-complete-task": Scenario("task"),
    "tck-input-required": Scenario("task", final_state="TASK_STATE_INPUT_REQUIRED",
                                   status_text="Please provide additional input"),
    "tck-artifact-text": Scenario("task", artifacts=(({"text": "Generated text content"},),)),
    "tck-artifact-file-url": Scenario("task", artifacts=(({
        "url": "https://example.com/output.txt", "filename": "output.txt",
        "mediaType": "text/plain"},),)),
    "tck-artifact-file": Scenario("task", artifacts=(({
        "raw": _FILE_TEXT, "filename": "output.txt", "mediaType": "text/plain"},),)),
    "tck-artifact-data": Scenario("task", artifacts=(({"data": {"key": "value", "count": 42}},),)),
    "tck-message-response": Scenario("message", status_text="Direct message response"),
    "tck-stream-001": Scenario("task", artifacts=(({"text": "Stream artifact content"},),)),
    "tck-stream-003": Scenario("task", artifacts=(({"text": "Stream artifact content"},),)),
    "tck-stream-ordering-001": Scenario("task",
                                        artifacts=(({"text": "Stream artifact content"},),)),
    "tck-stream-002": Scenario("task"),
}
_ORDER = sorted(_SCENARIOS, key=len, reverse=True)
_DEFAULT = Scenario("task")


def scenario_for(message_id: str) -> Scenario | None:
    """The scripted scenario for this messageId, or None when it is not a TCK message."""
    if not message_id.startswith("tck-"):
        return None
    for prefix in _ORDER:
        if message_id.startswith(prefix):
            return _SCENARIOS[prefix]
    return _DEFAULT
