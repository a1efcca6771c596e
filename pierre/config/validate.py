"""Build typed config objects from TOML data, collecting every error.

msgspec and friends stop at the first error; a sysadmin fixing a file wants
them all at once, each with its key path (``database.dsn: expected string``).
This walker supports the small set of types the config uses: str, int, float,
bool, Literal, Optional, list[T], dict[str, T] and nested dataclasses.
"""

from __future__ import annotations

import dataclasses
import types
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

T = TypeVar("T")

_TYPE_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _describe(tp: Any) -> str:
    if tp in _TYPE_NAMES:
        return _TYPE_NAMES[tp]
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (list, tuple):
        return "array"
    if origin is dict or dataclasses.is_dataclass(tp):
        return "table"
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in get_args(tp) if a is not type(None))
    return getattr(tp, "__name__", str(tp))


def _convert(value: Any, tp: Any, path: str, errors: list[str]) -> Any:
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            sub: list[str] = []
            out = _convert(value, arg, path, sub)
            if not sub:
                return out
        errors.append(f"{path}: expected {_describe(tp)}, got {_typename(value)}")
        return None
    if origin is Literal:
        if value not in get_args(tp):
            errors.append(f"{path}: expected {_describe(tp)}, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            errors.append(f"{path}: expected boolean, got {_typename(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(f"{path}: expected integer, got {_typename(value)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            errors.append(f"{path}: expected number, got {_typename(value)}")
            return value
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            errors.append(f"{path}: expected string, got {_typename(value)}")
        return value
    if origin is list:
        if not isinstance(value, list):
            errors.append(f"{path}: expected array, got {_typename(value)}")
            return value
        (item_tp,) = get_args(tp)
        return [_convert(v, item_tp, f"{path}[{i}]", errors) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            errors.append(f"{path}: expected table, got {_typename(value)}")
            return value
        _, val_tp = get_args(tp)
        return {k: _convert(v, val_tp, f"{path}.{k}", errors) for k, v in value.items()}
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return build(tp, value, path, errors)
    raise TypeError(f"unsupported config type {tp!r} at {path}")


def _typename(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "table"
    return type(value).__name__


def build(cls: type[T], data: Any, path: str, errors: list[str]) -> T:
    """Build dataclass `cls` from `data`, appending problems to `errors`.

    Unknown keys are errors (a typo must not be silently ignored); a missing
    key without a default is an error. A dataclass may define
    ``__extra_keys__ = True`` to accept and keep unknown keys in an ``extra``
    dict (for plugin-specific options validated later by the plugin).
    """
    prefix = f"{path}." if path else ""
    if not isinstance(data, dict):
        errors.append(f"{path or '<root>'}: expected table, got {_typename(data)}")
        data = {}
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields or (key == "extra" and getattr(cls, "__extra_keys__", False)):
            if getattr(cls, "__extra_keys__", False):
                extra[key] = value
            else:
                errors.append(f"{prefix}{key}: unknown key")
            continue
        kwargs[key] = _convert(value, hints[key], f"{prefix}{key}", errors)
    for name, f in fields.items():
        if name in kwargs or name == "extra":
            continue
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            errors.append(f"{prefix}{name}: required value missing ({_describe(hints[name])})")
            kwargs[name] = None
    if getattr(cls, "__extra_keys__", False):
        kwargs["extra"] = extra
    return cls(**kwargs)


def validate(cls: type[T], data: Any, path: str = "") -> tuple[T, list[str]]:
    errors: list[str] = []
    obj = build(cls, data, path, errors)
    return obj, errors


__all__ = ["build", "validate"]
