"""A tiny TOML writer for test configs (nested tables, scalars, arrays)."""

from __future__ import annotations

import json
from typing import Any


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def dumps(data: dict[str, Any], prefix: str = "") -> str:
    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    for k, v in data.items():
        nested_tables = isinstance(v, dict) and v and all(isinstance(x, dict) for x in v.values())
        if nested_tables and prefix == "" and k == "providers":
            for sub, table in v.items():
                tables.append((f"{k}.{sub}", table))
        elif isinstance(v, dict):
            tables.append((f"{prefix}{k}", v))
        else:
            lines.append(f"{k} = {_value(v)}")
    out = "\n".join(lines) + ("\n" if lines else "")
    for name, table in tables:
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
        nested = {k: v for k, v in table.items() if isinstance(v, dict)}
        out += f"\n[{name}]\n" + "".join(f"{k} = {_value(v)}\n" for k, v in scalars.items())
        if nested:
            out += dumps(nested, prefix=f"{name}.")
    return out
