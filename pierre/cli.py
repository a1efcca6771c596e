"""The `pierre` command line: serve, check-config, plugins, migrate, admin, bridge, import.

Commands find the configuration through `--config` or `PIERRE_CONFIG`. Data
goes to stdout (`--json` for scripts), errors to stderr with a non-zero exit.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Coroutine
from typing import Any

import orjson

from pierre import __version__
from pierre.config import Config, config_path_from, load_config
from pierre.errors import ConfigError, PierreError

# Modules contributing subcommands: each has `add_parser(subparsers) -> None`.
COMMAND_MODULES = ("pierre.auth.cli", "pierre.transports.bridge", "pierre.providers.cli")


def emit(data: Any, as_json: bool, text: str | None = None) -> None:
    if as_json:
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write((text if text is not None else str(data)) + "\n")
    sys.stdout.flush()


def fail(message: str, code: int = 1) -> int:
    sys.stderr.write(f"pierre: error: {message}\n")
    return code


def load(args: argparse.Namespace) -> Config:
    return load_config(config_path_from(getattr(args, "config", None)))


def run_async(fn: Callable[[], Coroutine[Any, Any, int]]) -> int:
    import uvloop

    loop = uvloop.new_event_loop()
    try:
        return loop.run_until_complete(fn())
    finally:
        loop.close()


def with_config(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--config", "-c", help="path to pierre.toml (default: $PIERRE_CONFIG)")
    return parser


def with_json(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


# -- commands -----------------------------------------------------------------
def cmd_serve(args: argparse.Namespace) -> int:
    from pierre.daemon import serve

    return serve(config_path_from(args.config))


def cmd_check_config(args: argparse.Namespace) -> int:
    path = config_path_from(args.config)
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        if args.json:
            emit({"ok": False, "errors": exc.problems}, True)
        else:
            for problem in exc.problems:
                sys.stderr.write(f"{problem}\n")
            sys.stderr.write(f"{len(exc.problems)} error(s) in {path or 'defaults'}\n")
        return 1
    problems = check_plugins(cfg)
    if problems:
        if args.json:
            emit({"ok": False, "errors": problems}, True)
        else:
            for problem in problems:
                sys.stderr.write(f"{problem}\n")
        return 1
    emit({"ok": True, "file": path}, args.json, f"{path or 'defaults'}: OK")
    return 0


def check_plugins(cfg: Config) -> list[str]:
    """Selected backends must be installed and loadable."""
    from pierre.plugins.registry import PluginRegistry

    reg = PluginRegistry().discover()
    problems = []
    for key, group, name in (
        ("database.backend", "pierre.databases", cfg.database.backend),
        ("ratelimit.backend", "pierre.ratelimiters", cfg.ratelimit.backend),
        ("cache.backend", "pierre.caches", cfg.cache.backend),
    ):
        try:
            reg.get(group, name)
        except PierreError as exc:
            problems.append(f"{key}: {exc.message}")
    for name, pcfg in cfg.providers.items():
        if pcfg.enabled:
            try:
                reg.get("pierre.providers", name)
            except PierreError as exc:
                problems.append(f"providers.{name}: {exc.message}")
    return problems


def cmd_plugins(args: argparse.Namespace) -> int:
    from pierre.plugins.registry import PluginRegistry

    infos = PluginRegistry().discover().all()
    if args.json:
        emit([i.to_dict() for i in infos], True)
        return 0
    rows = [("GROUP", "NAME", "DISTRIBUTION", "VERSION", "API", "STATUS")]
    for i in infos:
        status = i.status if not i.error else f"{i.status}: {i.error}"
        rows.append((i.group, i.name, i.distribution or "-", i.version or "-",
                     i.api_version or "-", status))
    widths = [max(len(r[c]) for r in rows) for c in range(5)]
    for r in rows:
        print("  ".join(r[c].ljust(widths[c]) for c in range(5)) + "  " + r[5])
    return 0


def cmd_version(args: argparse.Namespace) -> int:
    emit({"version": __version__}, args.json, f"pierre {__version__}")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    cfg = load(args)

    async def run() -> int:
        from pierre.plugins.base import PluginContext
        from pierre.plugins.registry import PluginRegistry
        from pierre.wiring import _options

        reg = PluginRegistry().discover()
        db_cls = reg.get("pierre.databases", cfg.database.backend)
        ctx = PluginContext(config=cfg, data_dir=cfg.resolve_path(cfg.server.data_dir))
        import os

        os.makedirs(ctx.data_dir, exist_ok=True)
        db = db_cls.from_config(_options(cfg.database), ctx)
        await db.start()
        try:
            applied = await db.migrate()
            version = await db.schema_version()
        finally:
            await db.close()
        emit({"applied": applied, "schema_version": version}, args.json,
             f"applied {len(applied)} migration(s); schema version {version}")
        return 0

    return run_async(run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pierre", description="Pierre: MCP and A2A server for fitness data."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = with_config(sub.add_parser("serve", help="run the daemon until a signal"))
    p.set_defaults(func=cmd_serve)
    p = with_json(with_config(sub.add_parser("check-config", help="validate the configuration")))
    p.set_defaults(func=cmd_check_config)
    p = with_json(sub.add_parser("plugins", help="list installed plugins"))
    p.set_defaults(func=cmd_plugins)
    p = with_json(with_config(sub.add_parser("migrate", help="apply database migrations")))
    p.set_defaults(func=cmd_migrate)
    p = with_json(sub.add_parser("version", help="print the version"))
    p.set_defaults(func=cmd_version)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from pierre.logs import configure_logging

    # Diagnostics (e.g. a broken plugin) go to stderr so stdout stays data-only.
    configure_logging("warning", "console")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        for problem in exc.problems:
            sys.stderr.write(f"config error: {problem}\n")
        return 2
    except PierreError as exc:
        return fail(exc.message)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["emit", "fail", "load", "main", "run_async", "with_config", "with_json"]
