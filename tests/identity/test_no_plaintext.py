"""After storing provider tokens, OAuth secrets, API keys, invite codes and passwords, no
secret is in the SQLite file or the PostgreSQL tables in plain text."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pierre.auth.audit import AuditLog
from pierre.auth.service import IdentityService, hash_invite_code
from pierre.config.schema import Config, SecurityConfig
from pierre.crypto import open_crypto
from pierre.db.sqlite import SQLiteDatabase
from pierre.plugins.base import PluginContext


async def _store_secrets(db: Any, tmp: Path) -> list[str]:
    cfg = Config(security=SecurityConfig(master_key="cd" * 32), base_dir=str(tmp))
    crypto = await open_crypto(cfg, db, PluginContext(config=cfg, data_dir=str(tmp)))
    ident = IdentityService(cfg, db, crypto, AuditLog(db))
    tenant = await ident.create_tenant("dump")
    password = "pw-" + secrets.token_hex(12)
    user = await ident.create_user(tenant.id, "dump@example.com", role="tenant_admin",
                                   password=password)
    issued = await ident.create_api_key(tenant.id, user.id, tier="professional")
    access, refresh, client_secret = (f"{n}-{secrets.token_hex(16)}" for n in
                                      ("access", "refresh", "client"))
    where = {"tenant_id": tenant.id, "user_id": user.id, "table": "user_tokens"}
    await db.upsert_connection(
        tenant.id, user.id, "strava",
        access_token_enc=crypto.encrypt(access.encode(), **where, column="access_token_enc"),
        refresh_token_enc=crypto.encrypt(refresh.encode(), **where, column="refresh_token_enc"),
        expires_at=None, scopes=["read"], provider_user_id="42", status="connected", meta={})
    await db.upsert_oauth_app(tenant.id, "strava", client_id="public-id", redirect_uri=None,
                              scopes=[], client_secret_enc=crypto.encrypt(
                                  client_secret.encode(), tenant_id=tenant.id, user_id="",
                                  table="oauth_configs", column="client_secret_enc"))
    pending = await ident.create_invite(tenant.id, email="later@example.com")
    redeemed = await ident.create_invite(tenant.id)
    await db.redeem_invite(hash_invite_code(redeemed.code), "joined@example.com",
                           password_hash="x", when=datetime.now(UTC))
    session = await ident.login("dump@example.com", password)
    await ident.tokens.verify(session["access_token"])  # signing key exists and works
    # Sanity: the values are really stored (encrypted) and readable through the API.
    conn = await db.get_connection(tenant.id, user.id, "strava")
    assert crypto.decrypt(conn.access_token_enc, **where, column="access_token_enc"
                          ) == access.encode()
    return [password, issued.key, issued.key[len(issued.record.prefix):], access, refresh,
            client_secret, session["refresh_token"], pending.code, redeemed.code,
            pending.code[len("inv_"):]]


def _assert_absent(blob: bytes, secrets_: list[str]) -> None:
    for s in secrets_:
        assert s.encode() not in blob, f"secret {s[:6]}… found in plain text"


async def test_sqlite_file_holds_no_plaintext_secret(tmp_path: Path) -> None:
    path = tmp_path / "dump.db"
    db = SQLiteDatabase(str(path))
    await db.start()
    await db.migrate()
    found = await _store_secrets(db, tmp_path)
    await db.close()
    blob = b"".join(p.read_bytes() for p in tmp_path.glob("dump.db*"))
    assert b"dump@example.com" in blob  # the dump does contain the data we stored
    _assert_absent(blob, found)


@pytest.mark.postgres
async def test_postgres_tables_hold_no_plaintext_secret(tmp_path: Path, pg_dsn: str) -> None:
    asyncpg = pytest.importorskip("asyncpg")
    pg = pytest.importorskip("pierre_postgres")
    schema = f"dump_{uuid.uuid4().hex[:10]}"
    db = pg.PostgresDatabase(pg_dsn, schema=schema)
    await db.start()
    try:
        await db.migrate()
        found = await _store_secrets(db, tmp_path)
    finally:
        await db.close()
    con = await asyncpg.connect(pg_dsn)
    try:
        tables = [r["table_name"] for r in await con.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema)]
        assert "user_tokens" in tables
        dump = []
        for t in tables:
            for row in await con.fetch(f'SELECT t::text AS r FROM "{schema}"."{t}" t'):
                dump.append(row["r"])
        text = "\n".join(dump).encode()
        assert b"dump@example.com" in text
        _assert_absent(text, found)
        # bytea renders as hex in text form: check the hex encodings too.
        _assert_absent(text, [s.encode().hex() for s in found])
    finally:
        await con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await con.close()
