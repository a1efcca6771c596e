"""Every tool against real Services (SQLite, memory cache, ProviderManager + synthetic /
local files); each result is validated against the tool's outputSchema."""

from __future__ import annotations

import itertools
import json
import math
from datetime import date, timedelta
from typing import Any

import jsonschema
import pytest

from pierre.errors import InvalidArguments, NotFound, PierreError
from pierre.services import Services
from pierre.tools.base import ToolContext
from pierre.tools.errors import InsufficientData
from tests.tools.harness import call, new_user

FUTURE = (date.today() + timedelta(days=120)).isoformat()


def check(ctx: ToolContext, name: str, result: dict[str, Any]) -> dict[str, Any]:
    spec = ctx.services.tools.get(name)
    assert spec is not None
    jsonschema.validate(result, spec.output_schema, cls=jsonschema.Draft202012Validator)
    text = json.dumps(result, allow_nan=False)  # raises on NaN/inf
    assert "NaN" not in text
    return result


def _finite_numbers(obj: Any) -> bool:
    if isinstance(obj, float):
        return math.isfinite(obj)
    if isinstance(obj, dict):
        return all(_finite_numbers(v) for v in obj.values())
    if isinstance(obj, list):
        return all(_finite_numbers(v) for v in obj)
    return True


async def _args_for(ctx: ToolContext, name: str, state: dict[str, Any]) -> dict[str, Any]:
    if name in ("get_activity", "analyze_activity", "calculate_metrics",
                "get_activity_intelligence", "compare_activities"):
        return {"activity_id": state["activity_id"]}
    if name == "set_goal":
        return {"title": "200 km", "goal_type": "distance", "target_value": 200,
                "target_date": FUTURE, "sport_type": "Run"}
    if name in ("track_progress", "analyze_goal_feasibility"):
        return {"goal_id": state["goal_id"]}
    if name == "set_fitness_config":
        return {"max_hr_bpm": 186, "resting_hr_bpm": 48, "sex": "F"}
    if name in ("connect_provider", "disconnect_provider"):
        return {"provider": "synthetic"}
    return {}


ORDER = ["get_connection_status", "get_athlete", "get_stats", "get_activities", "get_activity",
         "analyze_activity", "calculate_metrics", "get_activity_intelligence",
         "compare_activities", "analyze_training_load", "analyze_performance_trends",
         "detect_patterns", "calculate_fitness_score", "predict_performance",
         "generate_recommendations", "calculate_personalized_zones", "set_goal",
         "track_progress", "suggest_goals", "analyze_goal_feasibility",
         "analyze_sleep_quality", "calculate_recovery_score", "suggest_rest_day",
         "set_fitness_config", "get_fitness_config", "connect_provider",
         "disconnect_provider"]


async def test_every_tool_on_the_synthetic_athlete_conforms_to_its_output_schema(
    synthetic: ToolContext,
) -> None:
    assert set(ORDER) == {t.name for t in synthetic.services.tools.all()}
    state: dict[str, Any] = {}
    acts = await call(synthetic, "get_activities", {"limit": 5, "sport_type": "Run"})
    state["activity_id"] = acts["activities"][0]["provider_id"]
    for name in ORDER:
        result = check(synthetic, name, await call(synthetic, name,
                                                   await _args_for(synthetic, name, state)))
        assert _finite_numbers(result), name
        if name == "set_goal":
            state["goal_id"] = result["goal"]["goal_id"]
        if "assumptions" in result:
            assert result["data_used"]["provider"] == "synthetic", name


async def test_analysis_names_the_activities_dates_and_assumption_sources(
    synthetic: ToolContext,
) -> None:
    before = await call(synthetic, "analyze_training_load", {"days": 28})
    assert before["assumptions"]["ftp_w"]["source"] in ("provider", "estimate", "missing")
    assert before["data_used"]["activity_count"] == len(before["data_used"]["activity_ids"]) > 0
    assert len(before["daily"]) == 28
    await call(synthetic, "set_fitness_config", {"ftp_w": 300, "max_hr_bpm": 190})
    after = await call(synthetic, "analyze_training_load", {"days": 28})
    assert after["assumptions"]["ftp_w"] == {"value": 300.0, "unit": "W",
                                             "source": "user_setting", "method": None}
    assert after["assumptions"]["max_hr_bpm"]["source"] == "user_setting"
    # A higher FTP lowers every power-based TSS, so the load must change.
    assert after["current"]["ctl"] != before["current"]["ctl"]


async def test_training_load_follows_the_ctl_recurrence(synthetic: ToolContext) -> None:
    r = await call(synthetic, "analyze_training_load", {"days": 14})
    days = r["daily"]
    for prev, cur in itertools.pairwise(days):
        assert cur["ctl"] == pytest.approx(prev["ctl"] + (cur["load"] - prev["ctl"]) / 42,
                                           abs=0.01)
        assert cur["atl"] == pytest.approx(prev["atl"] + (cur["load"] - prev["atl"]) / 7,
                                           abs=0.01)
        assert cur["tsb"] == pytest.approx(cur["ctl"] - cur["atl"], abs=0.01)


async def test_predictions_are_ordered_and_both_models_named(synthetic: ToolContext) -> None:
    r = await call(synthetic, "predict_performance", {"target_distance_m": 15000})
    times = [p["vdot_time_s"] for p in r["predictions"][:-1]]
    assert times == sorted(times)
    assert "Riegel" in r["models"]["riegel_time_s"] and "Daniels" in r["models"]["vdot_time_s"]
    assert 20 < r["vdot"] < 90 and r["predictions"][-1]["name"] == "target"


async def test_every_tool_on_a_local_files_athlete_answers_or_explains(
    localfiles: ToolContext,
) -> None:
    acts = await call(localfiles, "get_activities", {"limit": 10})
    assert acts["count"] >= 2
    state = {"activity_id": acts["activities"][0]["provider_id"]}
    answered = 0
    for name in ORDER:
        if name in ("connect_provider", "disconnect_provider", "set_goal", "track_progress",
                    "analyze_goal_feasibility"):
            continue
        try:
            result = await call(localfiles, name, await _args_for(localfiles, name, state))
        except PierreError as exc:  # a clear, typed refusal (no crash, no NaN)
            assert exc.message and "Traceback" not in exc.message
            continue
        check(localfiles, name, result)
        answered += 1
    assert answered >= 10


async def test_sleep_tools_on_a_provider_without_sleep_give_a_clear_error(
    localfiles: ToolContext,
) -> None:
    with pytest.raises(InsufficientData, match="no sleep data"):
        await call(localfiles, "analyze_sleep_quality")


async def test_no_activities_is_a_clear_error_not_a_crash(services: Services) -> None:
    ctx = await new_user(services, "empty@example.com", "localfiles")
    for name in ("analyze_training_load", "predict_performance", "analyze_performance_trends",
                 "suggest_goals", "generate_recommendations", "suggest_rest_day",
                 "detect_patterns"):
        with pytest.raises(InsufficientData) as info:
            await call(ctx, name)
        assert "activit" in info.value.message or "run" in info.value.message, name
    assert (await call(ctx, "get_activities"))["count"] == 0


async def test_without_a_connection_tools_say_how_to_connect(services: Services) -> None:
    ctx = await new_user(services, "none@example.com", connect=None)
    with pytest.raises(NotFound, match="connect_provider"):
        await call(ctx, "get_activities")


async def test_goals_are_per_user_and_validated(services: Services) -> None:
    a = await new_user(services, "a@example.com")
    b = await new_user(services, "b@example.com")
    goal = (await call(a, "set_goal", {"title": "10k", "goal_type": "race_time",
                                       "target_value": 2700, "race_distance_m": 10000,
                                       "target_date": FUTURE}))["goal"]
    feas = check(a, "analyze_goal_feasibility",
                 await call(a, "analyze_goal_feasibility", {"goal_id": goal["goal_id"]}))
    assert feas["unit"] == "VDOT" and feas["verdict"]
    with pytest.raises(NotFound):
        await call(b, "track_progress", {"goal_id": goal["goal_id"]})
    with pytest.raises(InvalidArguments, match="target_date"):
        await call(a, "set_goal", {"title": "x", "goal_type": "distance", "target_value": 5,
                                   "target_date": "2001-01-01"})
    with pytest.raises(InvalidArguments, match="race_distance_m"):
        await call(a, "set_goal", {"title": "x", "goal_type": "race_time", "target_value": 900,
                                   "target_date": FUTURE})


async def test_fitness_config_rejects_absurd_values(synthetic: ToolContext) -> None:
    with pytest.raises(InvalidArguments, match="max_hr_bpm"):
        await call(synthetic, "set_fitness_config", {"max_hr_bpm": 400})
    with pytest.raises(InvalidArguments, match="resting_hr_bpm"):
        await call(synthetic, "set_fitness_config", {"max_hr_bpm": 150, "resting_hr_bpm": 160})
    cfg = await call(synthetic, "get_fitness_config")
    assert cfg["settings"] == {}


async def test_unknown_activity_is_not_found(synthetic: ToolContext) -> None:
    with pytest.raises(PierreError):
        await call(synthetic, "analyze_activity", {"activity_id": "does-not-exist"})
