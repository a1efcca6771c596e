"""`pierre admin …`: bootstrap and scripting commands, all with `--json`.

They open the database directly (not through the daemon), so they work before
the first start; a running daemon sees their changes on its next request.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pierre.cli import emit, load, run_async, with_config, with_json
from pierre.config.schema import Config
from pierre.errors import NotFound, PierreError


@asynccontextmanager
async def open_identity(cfg: Config) -> AsyncIterator[Any]:
    """Database + crypto + identity service, like the daemon builds them."""
    from pierre.auth.audit import AuditLog
    from pierre.auth.service import IdentityService
    from pierre.crypto import open_crypto
    from pierre.plugins.base import PluginContext
    from pierre.plugins.registry import PluginRegistry
    from pierre.wiring import _options

    reg = PluginRegistry().discover()
    ctx = PluginContext(config=cfg, data_dir=cfg.resolve_path(cfg.server.data_dir))
    os.makedirs(ctx.data_dir, exist_ok=True)
    db = reg.get("pierre.databases", cfg.database.backend).from_config(_options(cfg.database), ctx)
    await db.start()
    try:
        if cfg.database.migrate_on_start:
            await db.migrate()
        await db.check_schema()
        crypto = await open_crypto(cfg, db, ctx)
        yield IdentityService(cfg, db, crypto, AuditLog(db))
    finally:
        await db.close()


async def _admin_action(ident: Any, command: str, tenant_id: str | None,
                        **details: Any) -> None:
    """The CLI runs outside the daemon, so its admin actions reach the security audit
    trail directly (same record the monitor writes for an `admin_action` event)."""
    await ident.audit.record("security.admin_action", tenant_id=tenant_id,
                             details={"action": command, "via": "cli", **details})


def _run(args: argparse.Namespace, body: Any) -> int:
    cfg = load(args)

    async def run() -> int:
        async with open_identity(cfg) as ident:
            return int(await body(ident) or 0)

    return run_async(run)


def cmd_create_tenant(args: argparse.Namespace) -> int:
    async def body(ident: Any) -> int:
        t = await ident.create_tenant(args.name)
        await ident.audit.record("admin_cli", tenant_id=t.id, details={"command": "create-tenant"})
        await _admin_action(ident, "create-tenant", t.id, target=t.id)
        emit({"id": t.id, "name": t.name}, args.json, f"tenant {t.name} created: {t.id}")
        return 0

    return _run(args, body)


def cmd_create_user(args: argparse.Namespace) -> int:
    password = None
    if args.password_file:
        src = sys.stdin if args.password_file == "-" else open(args.password_file)
        with src:
            password = src.read().rstrip("\r\n")

    async def body(ident: Any) -> int:
        from pierre.auth.service import user_view

        tenant = await ident.resolve_tenant(args.tenant)
        user = await ident.create_user(tenant.id, args.email, role=args.role, password=password)
        await _admin_action(ident, "create-user", tenant.id, target=user.id, role=args.role)
        emit(user_view(user), args.json, f"user {user.email} ({user.role}) created: {user.id}")
        return 0

    return _run(args, body)


def cmd_create_api_key(args: argparse.Namespace) -> int:
    async def body(ident: Any) -> int:
        from pierre.auth.service import key_view

        user = await ident.db.find_user_by_email(args.email)
        if user is None:
            raise NotFound(f"no user with email {args.email!r}")
        issued = await ident.create_api_key(user.tenant_id, user.id, tier=args.tier,
                                            name=args.name, expires_days=args.expires_days)
        await _admin_action(ident, "create-api-key", user.tenant_id, target=user.id,
                            key_id=issued.record.id, tier=args.tier)
        emit({**key_view(issued.record), "key": issued.key}, args.json,
             f"{issued.key}\n(store it now: it is not shown again; id {issued.record.id})")
        return 0

    return _run(args, body)


def cmd_list_users(args: argparse.Namespace) -> int:
    async def body(ident: Any) -> int:
        from pierre.auth.service import user_view

        tenant_id = (await ident.resolve_tenant(args.tenant)).id if args.tenant else None
        users = [user_view(u) for u in await ident.db.list_users(tenant_id)]
        text = "\n".join(f"{u['id']}  {u['tenant_id']}  {u['role']:<12}  {u['status']:<8}  "
                         f"{u['email']}" for u in users) or "(no users)"
        emit(users, args.json, text)
        return 0

    return _run(args, body)


def cmd_revoke_api_key(args: argparse.Namespace) -> int:
    async def body(ident: Any) -> int:
        rec = await ident.db.get_api_key_any_tenant(args.id)
        if rec is None:
            raise NotFound(f"no API key {args.id!r}")
        revoked = await ident.revoke_api_key(rec.tenant_id, rec.id)
        await _admin_action(ident, "revoke-api-key", rec.tenant_id, key_id=rec.id)
        emit({"id": rec.id, "revoked": revoked}, args.json,
             f"API key {rec.id} " + ("revoked" if revoked else "was already revoked"))
        return 0

    return _run(args, body)


async def _announce(cfg: Config, tenant_id: str) -> str:
    """Tell running daemons (through the shared cache backend) to re-check live sessions."""
    from pierre.mcp.bus import announce_tenant_changed_from_cli

    try:
        if await announce_tenant_changed_from_cli(cfg, tenant_id):
            return "live MCP sessions updated"
    except PierreError as exc:
        return f"could not reach the cache backend ({exc.message}); live MCP sessions " \
               "follow within 30 s"
    return "live MCP sessions follow within 30 s"


def cmd_set_plan(args: argparse.Namespace) -> int:
    cfg = load(args)

    async def body(ident: Any) -> int:
        tenant = await ident.set_tenant_plan(await ident.resolve_tenant(args.tenant), args.tier)
        await _admin_action(ident, "set-plan", tenant.id, tier=args.tier)
        note = await _announce(cfg, tenant.id)
        emit({"id": tenant.id, "tier": args.tier}, args.json,
             f"tenant {tenant.name} is on {args.tier}; {note}")
        return 0

    return _run(args, body)


def cmd_set_tools(args: argparse.Namespace) -> int:
    from pierre.tools.base import ToolRegistry
    from pierre.tools.catalog import register_all

    cfg = load(args)
    known = ToolRegistry()
    register_all(known)

    async def body(ident: Any) -> int:
        tenant = await ident.resolve_tenant(args.tenant)
        disabled = set(tenant.settings.get("disabled_tools") or [])
        # Kept anyway: a plugin or the daemon's extra tools may provide it.
        unknown = sorted(n for n in args.disable if known.get(n) is None)
        disabled = (disabled | set(args.disable)) - set(args.enable)
        tenant = await ident.set_tenant_tools(tenant, disabled)
        settings = tenant.settings
        await _admin_action(ident, "set-tools", tenant.id)
        note = await _announce(cfg, tenant.id)
        emit({"id": tenant.id, "disabled_tools": settings["disabled_tools"]}, args.json,
             f"tenant {tenant.name}: disabled {', '.join(settings['disabled_tools']) or 'none'}"
             f"; {note}" + (f"\n(not in the built-in catalog: {', '.join(unknown)})"
                            if unknown else ""))
        return 0

    return _run(args, body)


def cmd_create_invite(args: argparse.Namespace) -> int:
    async def body(ident: Any) -> int:
        from pierre.auth.service import invite_view

        tenant = await ident.resolve_tenant(args.tenant)
        issued = await ident.create_invite(tenant.id, email=args.email, role=args.role,
                                           expires_days=args.expires_days)
        await _admin_action(ident, "create-invite", tenant.id, invite_id=issued.record.id,
                            role=args.role)
        note = ""
        if ident.config.security.registration == "closed":
            note = ("\n(note: [security] registration is \"closed\", so it cannot be "
                    "redeemed until it is \"invite\" or \"open\")")
        emit({**invite_view(issued.record), "code": issued.code}, args.json,
             f"{issued.code}\n(invite {issued.record.id} for tenant {tenant.name}, role "
             f"{args.role}, expires {issued.record.expires_at:%Y-%m-%d %H:%M} UTC; shown "
             f"once){note}")
        return 0

    return _run(args, body)


def cmd_set_key_tier(args: argparse.Namespace) -> int:
    cfg = load(args)

    async def body(ident: Any) -> int:
        from pierre.auth.service import key_view

        rec = await ident.db.get_api_key_any_tenant(args.id)
        if rec is None:
            raise NotFound(f"no API key {args.id!r}")
        updated = await ident.set_api_key_tier(rec.tenant_id, rec.id, args.tier)
        await _admin_action(ident, "set-key-tier", rec.tenant_id, key_id=rec.id,
                            tier=args.tier, was=rec.tier)
        note = await _announce(cfg, rec.tenant_id)
        emit(key_view(updated), args.json,
             f"API key {rec.id} ({rec.prefix}…) is now {args.tier} (was {rec.tier}); {note}")
        return 0

    return _run(args, body)


def cmd_rotate_keys(args: argparse.Namespace) -> int:
    async def body(ident: Any) -> int:
        from pierre.crypto import rotate_keys

        def progress(line: str) -> None:
            if not args.json:
                print(line, flush=True)

        result = await rotate_keys(ident.tokens.crypto, ident.db, progress)
        if not args.no_signing:
            await ident.tokens.load()
            result["signing_kid"] = await ident.tokens.rotate()
            progress(f"new JWT signing key {result['signing_kid']}")
        await ident.audit.record("keys_rotated", tenant_id=None, details=result)
        await _admin_action(ident, "rotate-keys", None)
        if args.json:
            emit(result, True)
        return 0

    return _run(args, body)


def add_parser(sub: Any) -> None:
    admin = sub.add_parser("admin", help="manage tenants, users, API keys and encryption keys")
    asub = admin.add_subparsers(dest="admin_command", metavar="ACTION", required=True)

    def cmd(name: str, fn: Any, help: str) -> argparse.ArgumentParser:
        p = with_json(with_config(asub.add_parser(name, help=help)))
        p.set_defaults(func=fn)
        return p

    p = cmd("create-tenant", cmd_create_tenant, "create a tenant")
    p.add_argument("--name", required=True)
    p = cmd("create-user", cmd_create_user, "create a user in a tenant")
    p.add_argument("--tenant", required=True, help="tenant name or id")
    p.add_argument("--email", required=True)
    p.add_argument("--role", default="user", choices=["user", "tenant_admin", "admin"])
    p.add_argument("--password-file", help="file holding the password ('-' = stdin)")
    p = cmd("create-api-key", cmd_create_api_key, "create an API key (printed once)")
    p.add_argument("--email", required=True)
    p.add_argument("--tier", default="starter",
                   choices=["trial", "starter", "professional", "enterprise"])
    p.add_argument("--name", default="cli")
    p.add_argument("--expires-days", type=int, default=None)
    p = cmd("list-users", cmd_list_users, "list users")
    p.add_argument("--tenant", help="only this tenant (name or id)")
    p = cmd("revoke-api-key", cmd_revoke_api_key, "revoke an API key by id")
    p.add_argument("id")
    p = cmd("set-key-tier", cmd_set_key_tier,
            "change an API key's tier; its live sessions follow")
    p.add_argument("id", metavar="KEY_ID")
    p.add_argument("tier", metavar="TIER",
                   choices=["trial", "starter", "professional", "enterprise"])
    p = cmd("create-invite", cmd_create_invite,
            "create a single-use registration invite (code printed once)")
    p.add_argument("--tenant", required=True, help="tenant name or id")
    p.add_argument("--email", help="only this address may redeem it")
    p.add_argument("--role", default="user", choices=["user", "tenant_admin", "admin"])
    p.add_argument("--expires-days", type=int, default=None,
                   help="days until it expires (default 7, at most 90)")
    p = cmd("set-plan", cmd_set_plan, "set a tenant's plan (tier); live sessions follow")
    p.add_argument("--tenant", required=True, help="tenant name or id")
    p.add_argument("--tier", required=True,
                   choices=["trial", "starter", "professional", "enterprise"])
    p = cmd("set-tools", cmd_set_tools, "disable or enable tools for a tenant")
    p.add_argument("--tenant", required=True, help="tenant name or id")
    p.add_argument("--disable", action="append", default=[], metavar="TOOL")
    p.add_argument("--enable", action="append", default=[], metavar="TOOL")
    p = cmd("rotate-keys", cmd_rotate_keys,
            "new data key + re-encrypt everything online; new JWT signing key")
    p.add_argument("--no-signing", action="store_true", help="keep the JWT signing key")


__all__ = ["PierreError", "add_parser", "open_identity"]
