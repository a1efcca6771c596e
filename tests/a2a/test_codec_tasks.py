"""Wire conversion, the task state machine, intents and TCK scripts, without sockets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from pierre.a2a import codec, conformance, intent, tasks
from pierre.a2a.dialect import Dialect
from pierre.a2a.errors import A2AError


def _user(text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": text}], **extra}


def test_task_encodes_per_dialect() -> None:
    task = tasks.new_task(_user())
    tasks.transition(task, tasks.WORKING)
    tasks.add_artifact(task, [{"data": {"a": 1}}, {"text": "sum"}], name="result")
    tasks.transition(task, tasks.COMPLETED, tasks.agent_message("done", task))
    v1 = codec.encode_task(task, Dialect.V1)
    v03 = codec.encode_task(task, Dialect.V03)
    assert v1["status"]["state"] == "TASK_STATE_COMPLETED" and "kind" not in v1
    assert v03["status"]["state"] == "completed" and v03["kind"] == "task"
    assert v03["artifacts"][0]["parts"] == [{"kind": "data", "data": {"a": 1}},
                                            {"kind": "text", "text": "sum"}]
    assert v03["history"][0]["role"] == "user" and v03["history"][-1]["role"] == "agent"
    assert v1["history"][-1]["role"] == "ROLE_AGENT"


@pytest.mark.parametrize(("n", "expected"), [(None, 3), (0, 0), (1, 1), (2, 2), (10, 3)])
def test_history_length_semantics(n: int | None, expected: int) -> None:
    task = tasks.new_task(_user())
    tasks.append_user_message(task, _user("again"))
    tasks.transition(task, tasks.INPUT_REQUIRED, tasks.agent_message("which?", task))
    encoded = codec.encode_task(task, Dialect.V1, history_length=n)
    assert len(encoded.get("history", [])) == expected
    if n:
        assert encoded["history"][-1]["role"] == "ROLE_AGENT"


def test_state_names_round_trip() -> None:
    for state in codec.STATES:
        wire = codec.state_to_wire(state, Dialect.V03)
        assert codec.state_from_wire(wire, Dialect.V03) == state
    assert codec.state_to_wire(tasks.INPUT_REQUIRED, Dialect.V03) == "input-required"


def test_stream_events_per_dialect() -> None:
    task = tasks.new_task(_user())
    v1 = codec.status_event(task, Dialect.V1, final=False)
    v03 = codec.status_event(task, Dialect.V03, final=True)
    assert v1["statusUpdate"]["taskId"] == task["id"] and "final" not in v1["statusUpdate"]
    assert v03["kind"] == "status-update" and v03["final"] is True
    art = tasks.add_artifact(task, [{"text": "x"}])
    assert codec.artifact_event(task, art, Dialect.V03)["kind"] == "artifact-update"
    assert "artifactUpdate" in codec.artifact_event(task, art, Dialect.V1)


def test_terminal_tasks_refuse_messages_and_cancel() -> None:
    task = tasks.new_task(_user())
    tasks.transition(task, tasks.COMPLETED)
    with pytest.raises(A2AError) as info:
        tasks.check_follow_up(task, _user())
    assert info.value.code == -32004
    with pytest.raises(A2AError) as info:
        tasks.cancel(task)
    assert info.value.code == -32002
    with pytest.raises(tasks.InvalidTransition):
        tasks.transition(task, tasks.WORKING)


def test_follow_up_with_other_context_is_invalid_params() -> None:
    task = tasks.new_task(_user(contextId="c1"))
    tasks.transition(task, tasks.INPUT_REQUIRED)
    with pytest.raises(A2AError) as info:
        tasks.check_follow_up(task, _user(contextId="c2"))
    assert info.value.code == -32602
    tasks.check_follow_up(task, _user(contextId="c1"))


def test_push_config_encodes_per_dialect() -> None:
    cfg = {"id": "p", "taskId": "t", "url": "https://h", "token": "tok",
           "authentication": {"scheme": "Bearer", "credentials": "c"}}
    assert codec.encode_push_config(cfg, Dialect.V1)["authentication"] == {
        "scheme": "Bearer", "credentials": "c"}
    v03 = codec.encode_push_config(cfg, Dialect.V03)
    assert v03["pushNotificationConfig"]["authentication"]["schemes"] == ["Bearer"]


@dataclass
class _Tool:
    name: str
    title: str
    examples: tuple[str, ...] = ()
    input_schema: dict[str, Any] = field(default_factory=dict)


TOOLS = [
    _Tool("get_activities", "List recent activities", ("show my last 5 runs",
                                                       "list my recent activities"),
          {"properties": {"limit": {"type": "integer"}}}),
    _Tool("get_athlete", "Athlete profile", ("who am I", "show my athlete profile")),
    _Tool("calculate_training_load", "Training load (CTL/ATL/TSB)",
          ("what is my training load", "am I overtraining")),
    _Tool("get_connection_status", "Connection status", ("show my connection status",)),
]


@pytest.mark.parametrize(("text", "tool", "args"), [
    ("list my recent activities please", "get_activities", {}),
    ("show my last 10 runs", "get_activities", {"limit": 10}),
    ("What's my training load?", "calculate_training_load", {}),
    ("call get_athlete now", "get_athlete", {}),
    ("show me my athlete profile", "get_athlete", {}),
])
def test_intent_parser_picks_tool(text: str, tool: str, args: dict[str, Any]) -> None:
    found = intent.parse(text, TOOLS)
    assert found is not None and (found.tool, found.arguments) == (tool, args)


@pytest.mark.parametrize("text", ["hello there", "the weather in Paris", "",
                                  # one shared word in a sentence about something else
                                  "Task for status filtering", "a test of the new status page"])
def test_intent_parser_says_nothing_when_unsure(text: str) -> None:
    assert intent.parse(text, TOOLS) is None


def test_intent_parser_is_deterministic_and_lists_tools() -> None:
    picks = {intent.parse("training load", order).tool  # type: ignore[union-attr]
             for order in (TOOLS, list(reversed(TOOLS)), TOOLS[1:] + TOOLS[:1])}
    assert picks == {"calculate_training_load"}
    text = intent.capabilities_text(TOOLS)
    assert all(t.name in text for t in TOOLS)
    assert intent.is_cancel("cancel") and not intent.is_cancel("cancel my plan for next week a b")


@pytest.mark.parametrize(("mid", "check"), [
    ("tck-artifact-file-url-1", lambda s: s.artifacts[0][0]["url"].endswith("output.txt")),
    ("tck-artifact-file-9", lambda s: s.artifacts[0][0]["filename"] == "output.txt"
     and "raw" in s.artifacts[0][0]),
    ("tck-artifact-data-x", lambda s: s.artifacts[0][0]["data"] == {"key": "value", "count": 42}),
    ("tck-message-response-1", lambda s: s.kind == "message"),
    ("tck-input-required-1", lambda s: s.final_state == "TASK_STATE_INPUT_REQUIRED"),
    ("tck-complete-task-1", lambda s: s.status_text == "Hello from TCK"),
])
def test_tck_scenarios_by_prefix(mid: str, check: Any) -> None:
    scenario = conformance.scenario_for(mid)
    assert scenario is not None and check(scenario)


def test_non_tck_ids_have_no_scenario() -> None:
    assert conformance.scenario_for("abc-tck-complete-task") is None


def test_a_paused_task_may_ask_again() -> None:
    task = tasks.new_task(_user())
    tasks.transition(task, tasks.INPUT_REQUIRED, tasks.agent_message("which tool?", task))
    tasks.append_user_message(task, _user("still vague"))
    tasks.transition(task, tasks.INPUT_REQUIRED, tasks.agent_message("which tool?", task))
    assert task["status"]["state"] == tasks.INPUT_REQUIRED and len(task["history"]) == 4
    with pytest.raises(tasks.InvalidTransition):
        tasks.transition(tasks.new_task(_user()), tasks.SUBMITTED)
