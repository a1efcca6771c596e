"""Encryption at rest: AES-256-GCM under versioned data keys wrapped by a master key.

Every ciphertext is bound to where it lives by its associated data
``tenant|user|table|column``: copied to another row, tenant or column it no
longer decrypts. Callers pass ``user_id=""`` for values that belong to a
tenant and not a user (``oauth_configs.client_secret_enc``) and both ids empty
for server-wide values (``signing_keys``), because that is what key rotation
rebuilds the associated data from.

Wire format: ``0x01 | data key version (4 bytes, big endian) | nonce (12) | ct+tag``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pierre.errors import PierreError
from pierre.plugins.database import ENCRYPTED_COLUMNS

if TYPE_CHECKING:
    from pierre.config.schema import Config
    from pierre.plugins.base import PluginContext

log = structlog.get_logger("pierre.crypto")

FORMAT = 1
HEADER = 1 + 4 + 12
MASTER_KEY_FILE = "master.key"
# How stale a process's view of the data keys may get after `rotate-keys` in another one.
REFRESH_S = 5.0


class CryptoError(PierreError):
    """A ciphertext does not decrypt: wrong key, tampered, or moved to another row."""

    code = "decryption_failed"


def parse_master_key(value: str) -> bytes:
    """32 bytes given as base64 (standard or URL-safe) or 64 hex characters."""
    raw = value.strip()
    candidates: list[bytes] = []
    if len(raw) == 64:
        try:
            candidates.append(bytes.fromhex(raw))
        except ValueError:
            pass
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            candidates.append(decode(raw + "=" * (-len(raw) % 4)))
        except (binascii.Error, ValueError):
            pass
    for key in candidates:
        if len(key) == 32:
            return key
    raise PierreError(
        "security.master_key: expected 32 random bytes as base64 or 64 hex characters "
        "(create one with: head -c 32 /dev/urandom | base64)"
    )


def associated_data(tenant_id: str, user_id: str, table: str, column: str) -> bytes:
    return f"{tenant_id}|{user_id}|{table}|{column}".encode()


def _wrap_ad(version: int) -> bytes:
    return f"pierre:data-key:v{version}".encode()


class Crypto:
    """Seals and opens column values; holds every data key version it may meet."""

    def __init__(self, master: bytes, db: Any) -> None:
        self._master = AESGCM(master)
        # Root for derive_key; HKDF's extract step keeps the master key itself out of use.
        self._kdf_root = master
        self._db = db
        self._keys: dict[int, AESGCM] = {}
        self.active_version = 0
        self._loaded_at = 0.0
        self._refreshing: asyncio.Task[None] | None = None

    # -- keys ----------------------------------------------------------------------
    def wrap(self, version: int, key: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._master.encrypt(nonce, key, _wrap_ad(version))

    def unwrap(self, version: int, wrapped: bytes) -> bytes:
        try:
            return self._master.decrypt(wrapped[:12], wrapped[12:], _wrap_ad(version))
        except InvalidTag:
            raise PierreError(
                "the master key does not match the one this database was encrypted with: "
                "start with the original [security] master_key_file (nothing was changed)"
            ) from None

    async def load(self, *, create: bool = True) -> None:
        """Read and unwrap every data key; make version 1 on a fresh database."""
        records = await self._db.list_data_keys()
        if not records and create:
            rec = await self._db.add_data_key(self.wrap(1, AESGCM.generate_key(256)))
            records = [rec]
        keys: dict[int, AESGCM] = {}
        active = 0
        for rec in records:
            keys[rec.version] = AESGCM(self.unwrap(rec.version, rec.wrapped))
            if rec.status == "active":
                active = max(active, rec.version)
        self._keys = keys
        self.active_version = active or max(keys, default=0)
        self._loaded_at = time.monotonic()

    def _maybe_refresh(self) -> None:
        if time.monotonic() - self._loaded_at < REFRESH_S or self._refreshing is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._loaded_at = time.monotonic()

        async def refresh() -> None:
            try:
                await self.load(create=False)
            except Exception as exc:  # keep the keys we have; try again later
                log.warning("data_keys_refresh_failed", error=f"{type(exc).__name__}: {exc}")
            finally:
                self._refreshing = None

        self._refreshing = loop.create_task(refresh())

    def derive_key(self, purpose: str, length: int = 32) -> bytes:
        """A stable key for one purpose (HKDF-SHA256 from the master key): every instance
        sharing the master key derives the same bytes, and purposes never share a key."""
        return HKDF(algorithm=hashes.SHA256(), length=length, salt=b"pierre-derive-key",
                    info=f"pierre:{purpose}".encode()).derive(self._kdf_root)

    # -- values --------------------------------------------------------------------
    # Ids may be passed by position (tenant, user, table, column) or by keyword.
    def encrypt(self, plaintext: bytes, tenant_id: str, user_id: str, table: str,
                column: str) -> bytes:
        self._maybe_refresh()
        version = self.active_version
        nonce = os.urandom(12)
        ct = self._keys[version].encrypt(
            nonce, plaintext, associated_data(tenant_id, user_id, table, column))
        return bytes([FORMAT]) + version.to_bytes(4, "big") + nonce + ct

    def decrypt(self, ciphertext: bytes, tenant_id: str, user_id: str, table: str,
                column: str) -> bytes:
        self._maybe_refresh()
        if len(ciphertext) < HEADER + 16 or ciphertext[0] != FORMAT:
            raise CryptoError(f"{table}.{column}: not a Pierre ciphertext")
        version = self.key_version(ciphertext)
        key = self._keys.get(version)
        if key is None:
            raise CryptoError(f"{table}.{column}: data key v{version} is not loaded yet; retry")
        try:
            return key.decrypt(ciphertext[5:HEADER], ciphertext[HEADER:],
                               associated_data(tenant_id, user_id, table, column))
        except InvalidTag:
            raise CryptoError(
                f"{table}.{column}: ciphertext does not belong to this row or was altered"
            ) from None

    def encrypt_str(self, plaintext: str, **where: str) -> bytes:
        return self.encrypt(plaintext.encode(), **where)

    def decrypt_str(self, ciphertext: bytes, **where: str) -> str:
        return self.decrypt(ciphertext, **where).decode()

    @staticmethod
    def key_version(ciphertext: bytes) -> int:
        return int.from_bytes(ciphertext[1:5], "big")


def _master_from_config(config: Config, db_has_keys: bool, data_dir: str) -> bytes:
    sec = config.security
    if sec.master_key:
        return parse_master_key(sec.master_key)
    if not sec.generate_master_key:
        raise PierreError(
            "no master key: set [security] master_key_file (or PIERRE_SECURITY__MASTER_KEY, "
            "or the systemd credential security.master_key); "
            "create one with: head -c 32 /dev/urandom | base64"
        )
    path = Path(data_dir) / MASTER_KEY_FILE
    if path.exists():
        return parse_master_key(path.read_text())
    if db_has_keys:
        raise PierreError(
            f"the database holds encrypted data but the master key file {path} is missing: "
            "restore it or point [security] master_key_file at it; a new key is not "
            "generated because it could not decrypt the existing data"
        )
    key = os.urandom(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.b64encode(key).decode() + "\n")
    log.warning("master_key_generated", path=str(path),
                hint="development only: back this file up; production sets master_key_file")
    return key


async def open_crypto(config: Config, db: Any, ctx: PluginContext) -> Crypto:
    """Build the Crypto for this database or stop start-up with a clear reason."""
    records = await db.list_data_keys()
    crypto = Crypto(_master_from_config(config, bool(records), ctx.data_dir), db)
    await crypto.load(create=True)
    return crypto


Progress = Callable[[str], None]


async def rotate_keys(crypto: Crypto, db: Any, progress: Progress, *,
                      batch: int = 200) -> dict[str, Any]:
    """Make a new data key and re-encrypt every cell under it, online.

    Safe to interrupt: the previous key stays 'retiring' (and readable) until a
    run finishes, and a re-run resumes with the same new key instead of adding
    another. Cells are swapped with compare-and-set, so a concurrent write wins.
    """
    records = await db.list_data_keys()
    resumed = any(r.status == "retiring" for r in records)
    if resumed:
        await crypto.load(create=False)
        progress(f"resuming rotation to data key v{crypto.active_version}")
    else:
        version = max((r.version for r in records), default=0) + 1
        await db.add_data_key(crypto.wrap(version, AESGCM.generate_key(256)))
        await crypto.load(create=False)
        progress(f"new data key v{crypto.active_version}")
    active = crypto.active_version
    total = 0
    for table, column in ENCRYPTED_COLUMNS:
        done = 0
        after: str | None = None
        while True:
            cells = await db.scan_encrypted(table, column, after_id=after, limit=batch)
            if not cells:
                break
            for cell in cells:
                after = cell.row_id
                if crypto.key_version(cell.value) == active:
                    continue
                where = {"tenant_id": cell.tenant_id, "user_id": cell.user_id,
                         "table": table, "column": column}
                plain = crypto.decrypt(cell.value, **where)
                if await db.replace_encrypted(cell, crypto.encrypt(plain, **where)):
                    done += 1
        total += done
        progress(f"{table}.{column}: re-encrypted {done}")
    for rec in await db.list_data_keys():
        if rec.status == "retiring":
            await db.set_data_key_status(rec.version, "retired")
    progress(f"done: {total} value(s) now under data key v{active}")
    return {"active_version": active, "reencrypted": total, "resumed": resumed}
