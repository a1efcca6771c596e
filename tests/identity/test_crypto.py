"""Encryption at rest: binding to the row, master key handling, online rotation."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from pierre.config.schema import Config, SecurityConfig
from pierre.crypto import Crypto, CryptoError, open_crypto, parse_master_key, rotate_keys
from pierre.db.sqlite import SQLiteDatabase
from pierre.errors import PierreError
from pierre.plugins.base import PluginContext

WHERE = {"tenant_id": "t1", "user_id": "u1", "table": "user_tokens",
         "column": "access_token_enc"}


def _cfg(tmp: Path, **security: Any) -> tuple[Config, PluginContext]:
    cfg = Config(security=SecurityConfig(**security), base_dir=str(tmp))
    return cfg, PluginContext(config=cfg, data_dir=str(tmp / "var"))


async def _open(db: Any, tmp: Path, **security: Any) -> Crypto:
    cfg, ctx = _cfg(tmp, **security)
    return await open_crypto(cfg, db, ctx)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[SQLiteDatabase]:
    db = SQLiteDatabase(str(tmp_path / "c.db"))
    await db.start()
    await db.migrate()
    yield db
    await db.close()


async def test_ciphertext_is_bound_to_tenant_user_table_and_column(db: Any, tmp_path: Path
                                                                   ) -> None:
    crypto = await _open(db, tmp_path, master_key=base64.b64encode(os.urandom(32)).decode())
    ct = crypto.encrypt(b"strava-access-token", **WHERE)
    assert b"strava-access-token" not in ct
    assert crypto.decrypt(ct, **WHERE) == b"strava-access-token"
    for field, other in (("tenant_id", "t2"), ("user_id", "u2"), ("table", "oauth_configs"),
                         ("column", "refresh_token_enc")):
        with pytest.raises(CryptoError):
            crypto.decrypt(ct, **{**WHERE, field: other})
    flipped = ct[:-1] + bytes([ct[-1] ^ 1])
    with pytest.raises(CryptoError):
        crypto.decrypt(flipped, **WHERE)


async def test_generated_master_key_is_reused_and_wrong_key_stops_startup(
        db: Any, tmp_path: Path) -> None:
    cfg, ctx = _cfg(tmp_path, generate_master_key=True)
    first = await open_crypto(cfg, db, ctx)
    key_file = Path(ctx.data_dir) / "master.key"
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    ct = first.encrypt(b"secret", **WHERE)
    again = await open_crypto(cfg, db, ctx)
    assert again.decrypt(ct, **WHERE) == b"secret"
    with pytest.raises(PierreError, match="master key does not match"):
        await _open(db, tmp_path, master_key=os.urandom(32).hex())
    # A lost key file is never silently replaced while encrypted data exists.
    key_file.unlink()
    with pytest.raises(PierreError, match="missing"):
        await open_crypto(cfg, db, ctx)
    assert not key_file.exists()
    assert len(await db.list_data_keys()) == 1


async def test_missing_master_key_is_a_clear_error(db: Any, tmp_path: Path) -> None:
    with pytest.raises(PierreError, match="no master key"):
        await _open(db, tmp_path)
    with pytest.raises(PierreError, match="32 random bytes"):
        parse_master_key("too-short")


async def test_rotation_reencrypts_everything_and_resumes_after_interrupt(
        db: Any, tmp_path: Path) -> None:
    crypto = await _open(db, tmp_path, master_key="ab" * 32)
    t = await db.create_tenant("t")
    users = [await db.create_user(t.id, f"u{i}@x.io") for i in range(5)]
    for u in users:
        where = {**WHERE, "tenant_id": t.id, "user_id": u.id}
        await db.upsert_connection(
            t.id, u.id, "strava", access_token_enc=crypto.encrypt(u.id.encode(), **where),
            refresh_token_enc=None, expires_at=None, scopes=[], provider_user_id=None,
            status="connected", meta={})
    app_where = {"tenant_id": t.id, "user_id": "", "table": "oauth_configs",
                 "column": "client_secret_enc"}
    await db.upsert_oauth_app(t.id, "strava", client_id="c", redirect_uri=None, scopes=[],
                              client_secret_enc=crypto.encrypt(b"app-secret", **app_where))

    # Simulate an interrupted run: the new key exists, nothing re-encrypted yet.
    await db.add_data_key(crypto.wrap(2, os.urandom(32)))
    lines: list[str] = []
    result = await rotate_keys(crypto, db, lines.append, batch=2)
    assert result == {"active_version": 2, "reencrypted": 6, "resumed": True}
    assert any("resuming" in line for line in lines)
    assert {k.version: k.status for k in await db.list_data_keys()} == {1: "retired",
                                                                        2: "active"}
    fresh = Crypto(bytes.fromhex("ab" * 32), db)
    await fresh.load(create=False)
    for u in users:
        c = await db.get_connection(t.id, u.id, "strava")
        assert Crypto.key_version(c.access_token_enc) == 2
        assert fresh.decrypt(c.access_token_enc, **{**WHERE, "tenant_id": t.id,
                                                    "user_id": u.id}) == u.id.encode()
    app = await db.get_oauth_app(t.id, "strava")
    assert fresh.decrypt(app.client_secret_enc, **app_where) == b"app-secret"
    again = await rotate_keys(crypto, db, lines.append)
    assert again["active_version"] == 3 and again["reencrypted"] == 6
