"""A small deterministic intent parser: plain words → a tool name and arguments.

No language model: a message is tokenised, compared with each visible tool's
name, title and examples, and the best overlap above a threshold wins, provided
the tool's vocabulary covers at least half of the message's words (one shared
word in a sentence about something else is not a request). Ties go to the tool
whose name sorts first, so the same text always picks the same tool.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset("""a an the my me i you your of for to in on at and or with what whats is are
was were be do does did show get give tell please can could would how about from this that
these those it its by as pierre some any all last""".split())
_CANCEL = frozenset({"cancel", "stop", "abort", "nevermind", "quit"})
_NUMBER = re.compile(r"\b(\d{1,4})\b")
_COUNT_KEYS = ("limit", "count", "days", "weeks", "n")


class ToolLike(Protocol):
    name: str
    title: str
    examples: tuple[str, ...]
    input_schema: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Intent:
    tool: str
    arguments: dict[str, Any]
    score: float


def tokens(text: str) -> set[str]:
    out = set()
    for w in _WORD.findall(text.lower()):
        if w in _STOP or w.isdigit():
            continue
        out.add(w[:-1] if len(w) > 4 and w.endswith("s") else w)  # crude plural folding
    return out


def is_cancel(text: str) -> bool:
    words = set(_WORD.findall(text.lower()))
    return bool(words & _CANCEL) and len(words) <= 4


def _score(words: set[str], tool: ToolLike) -> float:
    if not words:
        return 0.0
    name_words = tokens(tool.name.replace("_", " "))
    best = len(words & name_words) / max(len(name_words), 1)
    for phrase in (tool.title, *tool.examples):
        ref = tokens(phrase)
        if ref:
            best = max(best, len(words & ref) / len(ref | words) * 1.5)
    return best


def _coverage(words: set[str], tool: ToolLike) -> float:
    """Share of the message's words that the tool's name, title or examples use."""
    vocab = tokens(tool.name.replace("_", " ")) | tokens(tool.title)
    for phrase in tool.examples:
        vocab |= tokens(phrase)
    return len(words & vocab) / len(words) if words else 0.0


def _arguments(text: str, tool: ToolLike) -> dict[str, Any]:
    props = (tool.input_schema or {}).get("properties") or {}
    args: dict[str, Any] = {}
    m = _NUMBER.search(text)
    if m:
        for key in _COUNT_KEYS:
            if props.get(key, {}).get("type") == "integer":
                args[key] = int(m.group(1))
                break
    return args


def parse(text: str, tools: Iterable[ToolLike], threshold: float = 0.34,
          min_coverage: float = 0.5) -> Intent | None:
    """The tool this text asks for, or None when nothing matches well enough."""
    lowered = text.lower()
    candidates = sorted(tools, key=lambda t: t.name)
    for tool in candidates:  # a literal tool name always wins
        if re.search(rf"\b{re.escape(tool.name.lower())}\b", lowered):
            return Intent(tool.name, _arguments(text, tool), 1.0)
    words = tokens(text)
    best: tuple[float, ToolLike] | None = None
    for tool in candidates:
        s = _score(words, tool)
        if best is None or s > best[0]:
            best = (s, tool)
    if best is None or best[0] < threshold or _coverage(words, best[1]) < min_coverage:
        return None
    return Intent(best[1].name, _arguments(text, best[1]), round(best[0], 3))


def capabilities_text(tools: Iterable[ToolLike], limit: int = 60) -> str:
    """What Pierre can do, for the input-required reply."""
    lines = []
    for tool in sorted(tools, key=lambda t: t.name)[:limit]:
        example = f' (e.g. "{tool.examples[0]}")' if tool.examples else ""
        lines.append(f"- {tool.name}: {tool.title}{example}")
    body = "\n".join(lines) if lines else "- (no tools are available to you)"
    return ("I could not tell which tool you want. I can:\n" + body +
            '\nReply naming one, or send a data part {"tool": NAME, "arguments": {...}}.')
