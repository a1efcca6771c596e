"""The catalog: every Rust-Pierre tool name, valid 2020-12 schemas, families and examples."""

from __future__ import annotations

import jsonschema
import pytest

from pierre.tools.base import ToolRegistry
from pierre.tools.catalog import all_specs, register_all

RUST_NAMES = {
    "get_activities", "get_activity", "get_athlete", "get_stats", "get_connection_status",
    "connect_provider", "disconnect_provider", "analyze_activity", "get_activity_intelligence",
    "calculate_metrics", "analyze_training_load", "analyze_performance_trends",
    "compare_activities", "detect_patterns", "calculate_fitness_score", "predict_performance",
    "generate_recommendations", "calculate_personalized_zones", "set_goal", "track_progress",
    "suggest_goals", "analyze_goal_feasibility", "analyze_sleep_quality",
    "calculate_recovery_score", "suggest_rest_day", "set_fitness_config", "get_fitness_config",
}
FAMILIES = {"data", "activity-analysis", "training-load", "performance", "goals", "recovery",
            "configuration", "connections"}


def test_register_all_registers_exactly_the_rust_tool_names() -> None:
    reg = ToolRegistry()
    register_all(reg)
    assert {t.name for t in reg.all()} == RUST_NAMES


@pytest.mark.parametrize("spec", all_specs(), ids=lambda s: s.name)
def test_schemas_are_valid_2020_12_and_metadata_is_complete(spec) -> None:  # type: ignore[no-untyped-def]
    jsonschema.Draft202012Validator.check_schema(spec.input_schema)
    jsonschema.Draft202012Validator.check_schema(spec.output_schema)
    assert spec.input_schema["type"] == "object"
    assert spec.input_schema.get("additionalProperties") is False
    assert spec.output_schema["type"] == "object"
    assert spec.family in FAMILIES
    assert len(spec.examples) >= 2 and spec.title and spec.description
    mcp = spec.to_mcp()
    assert mcp["annotations"]["readOnlyHint"] == spec.annotations.read_only


def test_argument_names_follow_rust_pierre() -> None:
    specs = {s.name: s for s in all_specs()}
    assert specs["get_activities"].input_schema["properties"].keys() >= {
        "provider", "limit", "offset", "before", "after", "sport_type"}
    assert specs["set_goal"].input_schema["required"] == [
        "title", "goal_type", "target_value", "target_date"]
    assert "sport_type" in specs["set_goal"].input_schema["properties"]
    for name in ("track_progress", "analyze_goal_feasibility"):
        assert specs[name].input_schema["required"] == ["goal_id"]
    for name in ("get_activity", "analyze_activity", "calculate_metrics",
                 "get_activity_intelligence", "compare_activities"):
        assert "activity_id" in specs[name].input_schema["required"]
