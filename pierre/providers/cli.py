"""`pierre import FILE... [--email E] [--json]`: import GPX/TCX/FIT files for a user.

Runs against the configured database directly (no daemon needed), with a
progress bar on a terminal for long batches.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def add_parser(subparsers: Any) -> None:
    from pierre.cli import with_config, with_json

    p = with_json(with_config(subparsers.add_parser(
        "import", help="import GPX, TCX or FIT files into a user's local-files provider")))
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--email", help="the user (default: the only user, or the demo user)")
    p.set_defaults(func=cmd_import)


def _progress(done: int, total: int, name: str) -> None:
    width = 30
    filled = int(width * done / total) if total else width
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
                     f"{name[:40]:<40}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def cmd_import(args: argparse.Namespace) -> int:
    from pierre.cli import emit, fail, load, run_async

    cfg = load(args)
    missing = [f for f in args.files if not os.path.isfile(f)]
    if missing:
        return fail(f"no such file: {', '.join(missing)}")

    async def run() -> int:
        from pierre.auth.principal import Principal
        from pierre.crypto import open_crypto
        from pierre.plugins.base import PluginContext
        from pierre.plugins.registry import PluginRegistry
        from pierre.providers.manager import ProviderManager
        from pierre.services import Services
        from pierre.tools.base import ToolRegistry
        from pierre.wiring import _options

        reg = PluginRegistry().discover()
        ctx = PluginContext(config=cfg, data_dir=cfg.resolve_path(cfg.server.data_dir))
        os.makedirs(ctx.data_dir, exist_ok=True)
        s = Services(config=cfg, plugins=reg, tools=ToolRegistry())
        s.db = reg.get("pierre.databases", cfg.database.backend).from_config(
            _options(cfg.database), ctx)
        await s.db.start()
        try:
            await s.db.check_schema()
            s.crypto = await open_crypto(cfg, s.db, ctx)
            s.providers = ProviderManager(s)
            await s.providers.start()
            user = await _find_user(s.db, args.email)
            if user is None:
                return fail("no such user; pass --email of an existing user")
            who = Principal(tenant_id=user.tenant_id, user_id=user.id, email=user.email)
            from pierre.providers.http import ensure_localfiles

            await ensure_localfiles(s.providers, who)
            cl = await s.providers.client(who, "localfiles")
            tty = sys.stderr.isatty() and not args.json
            totals: dict[str, list[Any]] = {"imported": [], "duplicates": [], "errors": []}
            for i, path in enumerate(args.files, 1):
                with open(path, "rb") as fh:
                    data = fh.read()
                out = await cl.import_files([(os.path.basename(path), data)])
                for k in totals:
                    totals[k].extend(out[k])
                if tty:
                    _progress(i, len(args.files), os.path.basename(path))
            await s.providers.close()
        finally:
            await s.db.close()
        text = (f"imported {len(totals['imported'])}, duplicates {len(totals['duplicates'])}, "
                f"errors {len(totals['errors'])}")
        for e in totals["errors"]:
            text += f"\n  {e['file']}: {e['error']}"
        emit(totals, args.json, text)
        return 1 if totals["errors"] and not totals["imported"] else 0

    return run_async(run)


async def _find_user(db: Any, email: str | None) -> Any:
    if email:
        return await db.find_user_by_email(email)
    users = await db.list_users(None)
    return users[0] if len(users) == 1 else None
