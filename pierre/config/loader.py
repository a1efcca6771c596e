"""Load configuration: TOML file, then environment overrides, then secret files.

Order of precedence (last wins): the file, ``PIERRE_<SECTION>__<KEY>``
variables, ``<key>_file`` indirections, then systemd credentials in
``$CREDENTIALS_DIRECTORY`` for secrets still unset. Every problem is collected
and raised together as a :class:`ConfigError`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pierre.config.schema import Config
from pierre.config.validate import validate
from pierre.errors import ConfigError
from pierre.ops.tracing import check as tracing_problems

ENV_PREFIX = "PIERRE_"
# Keys whose values are secrets: accepted as `<key>_file` and from systemd credentials.
SECRET_KEYS = frozenset(
    {"master_key", "client_secret", "dsn", "url", "token", "password", "api_key", "secret"}
)


def config_path_from(arg: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    return arg or env.get("PIERRE_CONFIG")


def _parse_env_value(raw: str) -> Any:
    """Read an env value as a TOML literal when it is one (`8080`, `true`, `["a"]`)."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def apply_env(data: dict[str, Any], environ: Mapping[str, str]) -> None:
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name or name == "PIERRE_CONFIG":
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
        if any(not p for p in parts):
            continue
        node = data
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[parts[-1]] = _parse_env_value(raw)


def _read_secret(path: Path, key_path: str, errors: list[str]) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        errors.append(f"{key_path}_file: cannot read {path}: {exc.strerror or exc}")
        return None


def apply_secret_files(
    node: dict[str, Any],
    base_dir: Path,
    environ: Mapping[str, str],
    errors: list[str],
    path: str = "",
) -> None:
    """Replace `<secret>_file` keys by the file's content; fill unset secrets from credentials."""
    cred_dir = environ.get("CREDENTIALS_DIRECTORY")
    for key in list(node):
        value = node[key]
        key_path = f"{path}.{key}" if path else key
        if isinstance(value, dict):
            apply_secret_files(value, base_dir, environ, errors, key_path)
            continue
        if key.endswith("_file") and key[: -len("_file")] in SECRET_KEYS:
            base = key[: -len("_file")]
            base_path = f"{path}.{base}" if path else base
            if not isinstance(value, str):
                errors.append(f"{key_path}: expected string (a file path)")
                continue
            p = Path(value)
            secret = _read_secret(p if p.is_absolute() else base_dir / p, base_path, errors)
            del node[key]
            if secret is not None:
                node[base] = secret
    if cred_dir and path:
        for base in SECRET_KEYS:
            if base in node:
                continue
            cred = Path(cred_dir) / f"{path}.{base}"
            if cred.is_file():
                secret = _read_secret(cred, f"{path}.{base}", errors)
                if secret is not None:
                    node[base] = secret


def load_config(
    path: str | os.PathLike[str] | None, environ: Mapping[str, str] | None = None
) -> Config:
    """Load and validate; raise ConfigError listing every problem found."""
    env = os.environ if environ is None else environ
    errors: list[str] = []
    data: dict[str, Any] = {}
    base_dir = Path.cwd()
    if path is not None:
        p = Path(path)
        base_dir = p.resolve().parent
        try:
            with p.open("rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError([f"{p}: file not found"]) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([f"{p}: not valid TOML: {exc}"]) from None
        except OSError as exc:
            raise ConfigError([f"{p}: cannot read: {exc.strerror or exc}"]) from None
    apply_env(data, env)
    if env.get("CREDENTIALS_DIRECTORY"):
        # Sections absent from the file may still get secrets from credentials.
        for section in ("security", "database", "ratelimit", "cache", "metrics"):
            data.setdefault(section, {})
    apply_secret_files(data, base_dir, env, errors)
    data.pop("base_dir", None)
    data["base_dir"] = str(base_dir)
    config, problems = validate(Config, data)
    errors.extend(problems)
    errors.extend(_semantic_checks(config))
    errors.extend(tracing_problems(config.tracing))
    if errors:
        raise ConfigError(errors)
    return config


def _semantic_checks(config: Config) -> list[str]:
    problems: list[str] = []
    for section in ("mcp", "http"):
        sec = getattr(config, section)
        if isinstance(sec.port, int) and not 0 <= sec.port <= 65535:
            problems.append(f"{section}.port: expected 0..65535, got {sec.port}")
        if bool(sec.tls_cert) != bool(sec.tls_key):
            problems.append(f"{section}.tls_cert/tls_key: set both or neither")
    if isinstance(config.mcp.path, str) and not config.mcp.path.startswith("/"):
        problems.append(f"mcp.path: must start with '/', got {config.mcp.path!r}")
    for name, tier in (config.ratelimit.tiers or {}).items():
        if isinstance(tier.capacity, int) and tier.capacity <= 0:
            problems.append(f"ratelimit.tiers.{name}.capacity: must be positive")
    return problems
