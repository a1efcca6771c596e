"""MCP prompts: reusable requests that steer an assistant to Pierre's tools."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pierre.errors import InvalidArguments, NotFound


@dataclass(frozen=True, slots=True)
class PromptArg:
    name: str
    description: str
    required: bool = False


@dataclass(frozen=True, slots=True)
class Prompt:
    name: str
    title: str
    description: str
    arguments: tuple[PromptArg, ...]
    template: str

    def to_mcp(self) -> dict[str, Any]:
        return {
            "name": self.name, "title": self.title, "description": self.description,
            "arguments": [{"name": a.name, "description": a.description,
                           "required": a.required} for a in self.arguments],
        }


PROMPTS: dict[str, Prompt] = {p.name: p for p in (
    Prompt(
        "weekly_training_review", "Weekly training review",
        "Review one week of training: volume, intensity, load trend and recovery.",
        (PromptArg("week_start", "Monday of the week to review (YYYY-MM-DD); default this week"),
         PromptArg("focus", "What to look at most: volume, intensity, recovery or consistency")),
        "Review my training for the week starting {week_start}. Use get_activities for that "
        "week, analyze_training_load for CTL/ATL/TSB and detect_patterns for ramp rate and "
        "consistency. Focus on {focus}. Name the activities and dates you used, then give "
        "three concrete suggestions for next week.",
    ),
    Prompt(
        "race_preparation", "Race preparation",
        "Assess readiness for a race and plan the remaining weeks.",
        (PromptArg("race_distance", "Race distance, e.g. 5k, 10k, half marathon, marathon",
                   required=True),
         PromptArg("race_date", "Race date (YYYY-MM-DD)", required=True),
         PromptArg("goal_time", "Target finish time (HH:MM:SS), optional")),
        "I am racing a {race_distance} on {race_date} (goal: {goal_time}). Use "
        "predict_performance for my current race-time estimate, analyze_training_load for my "
        "form, and analyze_performance_trends for my direction. Tell me if the goal is "
        "realistic and outline the weeks until race day, including the taper.",
    ),
)}

DEFAULTS = {"week_start": "this week", "focus": "the overall picture", "goal_time": "none set"}


def list_prompts() -> list[dict[str, Any]]:
    return [p.to_mcp() for p in PROMPTS.values()]


def get_prompt(name: str, arguments: dict[str, Any] | None) -> dict[str, Any]:
    prompt = PROMPTS.get(name)
    if prompt is None:
        raise NotFound(f"Unknown prompt: {name!r}")
    args = dict(arguments or {})
    values: dict[str, str] = {}
    for a in prompt.arguments:
        v = args.get(a.name)
        if v is None or v == "":
            if a.required:
                raise InvalidArguments(f"{a.name}: is required", field=a.name)
            v = DEFAULTS.get(a.name, "")
        if not isinstance(v, str):
            raise InvalidArguments(f"{a.name}: must be a string", field=a.name)
        values[a.name] = v
    return {
        "description": prompt.description,
        "messages": [{"role": "user",
                      "content": {"type": "text", "text": prompt.template.format(**values)}}],
    }
