"""Repository methods written once over a tiny connection interface.

Both database plugins subclass :class:`SqlDatabase` and supply connections
(`read()` / `write()`) and the dialect's parameter conversions. Queries use
``?`` placeholders; the PostgreSQL connection rewrites them to ``$n``. Every
tenant-data query filters on ``tenant_id`` in SQL, never after the fetch.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any, Protocol

import orjson

from pierre.db.migrations import LATEST_VERSION, MIGRATIONS
from pierre.errors import Conflict, InvalidArguments, PierreError
from pierre.plugins.database import (
    ENCRYPTED_COLUMNS,
    A2AClientRecord,
    ApiKeyLookup,
    ApiKeyRecord,
    AuditRecord,
    ConnectionRecord,
    DataKeyRecord,
    EncryptedCell,
    InviteRecord,
    OAuthAppRecord,
    RefreshTokenRecord,
    SigningKeyRecord,
    StoredActivity,
    TenantRecord,
    UserRecord,
)

Row = Any  # sqlite3.Row or asyncpg.Record: both index by column name


class Conn(Protocol):
    async def execute(self, sql: str, *args: Any) -> int:
        """Run one statement; return the affected row count."""
        ...

    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...

    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...


class IntegrityViolation(Exception):
    """Raised by a connection when a unique/foreign key constraint fails."""


def now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


def _dt(v: Any) -> datetime | None:
    if v is None:
        return None
    if isinstance(v, str):
        v = datetime.fromisoformat(v)
    if v.tzinfo is None:
        v = v.replace(tzinfo=UTC)
    return v.astimezone(UTC)


def _dtn(v: Any) -> datetime:
    out = _dt(v)
    assert out is not None
    return out


def _day(v: Any) -> date:
    return date.fromisoformat(v) if isinstance(v, str) else v


def _json(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, str | bytes):
        return orjson.loads(v)
    return v


def _enc(v: Any) -> bytes | None:
    return bytes(v) if v is not None else None


def _aware(v: datetime | None, field: str) -> datetime | None:
    if v is not None and v.tzinfo is None:
        raise InvalidArguments(f"{field} must be a timezone-aware datetime", field=field)
    return v


class SqlDatabase:
    """The shared implementation of :class:`pierre.plugins.database.Database`."""

    API_VERSION = "1.0"
    types: dict[str, str] = {}

    # -- what a dialect provides --------------------------------------------------
    def read(self) -> AbstractAsyncContextManager[Conn]:
        raise NotImplementedError

    def write(self) -> AbstractAsyncContextManager[Conn]:
        """A connection inside one transaction, committed on clean exit."""
        raise NotImplementedError

    def ts(self, v: datetime | None) -> Any:
        """A timestamp parameter."""
        raise NotImplementedError

    def day(self, v: date) -> Any:
        raise NotImplementedError

    @staticmethod
    def js(v: Any) -> str:
        return orjson.dumps(v).decode()

    # -- schema --------------------------------------------------------------------
    async def _ensure_migrations_table(self) -> None:
        async with self.write() as c:
            await c.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                "name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )

    async def _applied(self) -> set[int]:
        async with self.read() as c:
            rows = await c.fetch("SELECT version FROM schema_migrations")
        return {int(r["version"]) for r in rows}

    async def migrate(self) -> list[str]:
        await self._ensure_migrations_table()
        applied = await self._applied()
        done: list[str] = []
        for m in MIGRATIONS:
            if m.version in applied:
                continue
            async with self.write() as c:
                for stmt in m.render(self.types):
                    await c.execute(stmt)
                await c.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    m.version, m.name, now().isoformat(),
                )
            done.append(m.name)
        return done

    async def schema_version(self) -> int:
        await self._ensure_migrations_table()
        applied = await self._applied()
        return max(applied, default=0)

    async def check_schema(self) -> None:
        version = await self.schema_version()
        if version > LATEST_VERSION:
            raise PierreError(
                f"the database schema is version {version} but this Pierre only knows up to "
                f"{LATEST_VERSION}: it was migrated by a newer release; upgrade Pierre "
                "(downgrading the schema is not supported)"
            )
        if version < LATEST_VERSION:
            raise PierreError(
                f"the database schema is version {version}, this Pierre needs {LATEST_VERSION}: "
                "run `pierre migrate` (or set [database] migrate_on_start = true)"
            )

    async def health(self) -> None:
        async with self.read() as c:
            await c.fetchrow("SELECT 1 AS ok")

    # -- tenants ---------------------------------------------------------------------
    @staticmethod
    def _tenant(r: Row) -> TenantRecord:
        return TenantRecord(id=r["id"], name=r["name"], settings=_json(r["settings"]) or {},
                            created_at=_dtn(r["created_at"]), status=r["status"])

    async def create_tenant(self, name: str, *, settings: dict[str, Any] | None = None
                            ) -> TenantRecord:
        rec = TenantRecord(id=new_id(), name=name, settings=settings or {}, created_at=now())
        try:
            async with self.write() as c:
                await c.execute(
                    "INSERT INTO tenants (id, name, status, settings, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    rec.id, name, "active", self.js(rec.settings), self.ts(rec.created_at),
                )
        except IntegrityViolation:
            raise Conflict(f"a tenant named {name!r} already exists") from None
        return rec

    async def get_tenant(self, tenant_id: str) -> TenantRecord | None:
        async with self.read() as c:
            r = await c.fetchrow("SELECT * FROM tenants WHERE id = ?", tenant_id)
        return self._tenant(r) if r else None

    async def get_tenant_by_name(self, name: str) -> TenantRecord | None:
        async with self.read() as c:
            r = await c.fetchrow("SELECT * FROM tenants WHERE name = ?", name)
        return self._tenant(r) if r else None

    async def list_tenants(self) -> list[TenantRecord]:
        async with self.read() as c:
            rows = await c.fetch("SELECT * FROM tenants ORDER BY created_at, id")
        return [self._tenant(r) for r in rows]

    async def update_tenant_settings(self, tenant_id: str, settings: dict[str, Any]) -> None:
        async with self.write() as c:
            await c.execute("UPDATE tenants SET settings = ? WHERE id = ?",
                            self.js(settings), tenant_id)

    # -- users -----------------------------------------------------------------------
    @staticmethod
    def _user(r: Row) -> UserRecord:
        return UserRecord(id=r["id"], tenant_id=r["tenant_id"], email=r["email"], role=r["role"],
                          password_hash=r["password_hash"], status=r["status"],
                          created_at=_dtn(r["created_at"]), display_name=r["display_name"])

    async def count_users(self) -> int:
        async with self.read() as c:
            r = await c.fetchrow("SELECT COUNT(*) AS n FROM users")
        return int(r["n"]) if r else 0

    async def create_user(self, tenant_id: str, email: str, *, role: str = "user",
                          password_hash: str | None = None,
                          display_name: str | None = None) -> UserRecord:
        rec = UserRecord(id=new_id(), tenant_id=tenant_id, email=email.strip().lower(),
                         role=role, password_hash=password_hash, status="active",
                         created_at=now(), display_name=display_name)
        try:
            async with self.write() as c:
                await c.execute(
                    "INSERT INTO users (id, tenant_id, email, role, password_hash, display_name, "
                    "status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    rec.id, tenant_id, rec.email, role, password_hash, display_name, "active",
                    self.ts(rec.created_at),
                )
        except IntegrityViolation:
            raise Conflict("a user with this email already exists (or the tenant is unknown)"
                           ) from None
        return rec

    async def get_user(self, tenant_id: str, user_id: str) -> UserRecord | None:
        async with self.read() as c:
            r = await c.fetchrow("SELECT * FROM users WHERE tenant_id = ? AND id = ?",
                                 tenant_id, user_id)
        return self._user(r) if r else None

    async def find_user_by_email(self, email: str) -> UserRecord | None:
        async with self.read() as c:
            r = await c.fetchrow("SELECT * FROM users WHERE email = ?", email.strip().lower())
        return self._user(r) if r else None

    async def list_users(self, tenant_id: str | None) -> list[UserRecord]:
        async with self.read() as c:
            if tenant_id is None:
                rows = await c.fetch("SELECT * FROM users ORDER BY created_at, id")
            else:
                rows = await c.fetch(
                    "SELECT * FROM users WHERE tenant_id = ? ORDER BY created_at, id", tenant_id)
        return [self._user(r) for r in rows]

    async def update_user(self, tenant_id: str, user_id: str, *, role: str | None = None,
                          status: str | None = None, password_hash: str | None = None,
                          display_name: str | None = None) -> UserRecord | None:
        sets: list[str] = []
        args: list[Any] = []
        for col, val in (("role", role), ("status", status), ("password_hash", password_hash),
                         ("display_name", display_name)):
            if val is not None:
                sets.append(f"{col} = ?")
                args.append(val)
        if sets:
            async with self.write() as c:
                await c.execute(
                    f"UPDATE users SET {', '.join(sets)} WHERE tenant_id = ? AND id = ?",
                    *args, tenant_id, user_id)
        return await self.get_user(tenant_id, user_id)

    # -- API keys --------------------------------------------------------------------
    @staticmethod
    def _key(r: Row) -> ApiKeyRecord:
        return ApiKeyRecord(
            id=r["id"], tenant_id=r["tenant_id"], user_id=r["user_id"], name=r["name"],
            prefix=r["prefix"], key_hash=r["key_hash"], tier=r["tier"],
            created_at=_dtn(r["created_at"]), expires_at=_dt(r["expires_at"]),
            revoked_at=_dt(r["revoked_at"]), last_used_at=_dt(r["last_used_at"]),
        )

    async def create_api_key(self, tenant_id: str, user_id: str, *, name: str, prefix: str,
                             key_hash: str, tier: str, expires_at: datetime | None
                             ) -> ApiKeyRecord:
        rec = ApiKeyRecord(id=new_id(), tenant_id=tenant_id, user_id=user_id, name=name,
                           prefix=prefix, key_hash=key_hash, tier=tier, created_at=now(),
                           expires_at=_aware(expires_at, "expires_at"))
        try:
            async with self.write() as c:
                if await c.fetchrow("SELECT id FROM users WHERE tenant_id = ? AND id = ?",
                                    tenant_id, user_id) is None:
                    raise InvalidArguments("no such user in this tenant", field="user_id")
                await c.execute(
                    "INSERT INTO api_keys (id, tenant_id, user_id, name, prefix, key_hash, tier, "
                    "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rec.id, tenant_id, user_id, name, prefix, key_hash, tier,
                    self.ts(rec.created_at), self.ts(expires_at),
                )
        except IntegrityViolation:
            raise Conflict("could not store the API key") from None
        return rec

    async def lookup_api_key(self, key_hash: str) -> ApiKeyLookup | None:
        async with self.read() as c:
            r = await c.fetchrow(
                "SELECT k.*, u.role AS u_role, u.email AS u_email, u.status AS u_status, "
                "t.status AS t_status FROM api_keys k JOIN users u ON u.id = k.user_id "
                "AND u.tenant_id = k.tenant_id JOIN tenants t ON t.id = k.tenant_id "
                "WHERE k.key_hash = ?", key_hash)
        if r is None:
            return None
        return ApiKeyLookup(key=self._key(r), user_role=r["u_role"], user_email=r["u_email"],
                            user_status=r["u_status"], tenant_status=r["t_status"])

    async def get_api_key(self, tenant_id: str, key_id: str) -> ApiKeyRecord | None:
        async with self.read() as c:
            r = await c.fetchrow("SELECT * FROM api_keys WHERE tenant_id = ? AND id = ?",
                                 tenant_id, key_id)
        return self._key(r) if r else None

    async def get_api_key_any_tenant(self, key_id: str) -> ApiKeyRecord | None:
        async with self.read() as c:
            r = await c.fetchrow("SELECT * FROM api_keys WHERE id = ?", key_id)
        return self._key(r) if r else None

    async def list_api_keys(self, tenant_id: str, user_id: str | None) -> list[ApiKeyRecord]:
        async with self.read() as c:
            if user_id is None:
                rows = await c.fetch(
                    "SELECT * FROM api_keys WHERE tenant_id = ? ORDER BY created_at, id",
                    tenant_id)
            else:
                rows = await c.fetch(
                    "SELECT * FROM api_keys WHERE tenant_id = ? AND user_id = ? "
                    "ORDER BY created_at, id", tenant_id, user_id)
        return [self._key(r) for r in rows]

    async def revoke_api_key(self, tenant_id: str, key_id: str) -> bool:
        async with self.write() as c:
            n = await c.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE tenant_id = ? AND id = ? "
                "AND revoked_at IS NULL", self.ts(now()), tenant_id, key_id)
        return n > 0

    async def touch_api_key(self, key_id: str, when: datetime) -> None:
        async with self.write() as c:
            await c.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?",
                            self.ts(when), key_id)

    async def set_api_key_tier(self, tenant_id: str, key_id: str, tier: str
                               ) -> ApiKeyRecord | None:
        async with self.write() as c:
            n = await c.execute("UPDATE api_keys SET tier = ? WHERE tenant_id = ? AND id = ?",
                                tier, tenant_id, key_id)
        return await self.get_api_key(tenant_id, key_id) if n else None

    # -- registration invites ------------------------------------------------------------
    @staticmethod
    def _invite(r: Row) -> InviteRecord:
        return InviteRecord(
            id=r["id"], tenant_id=r["tenant_id"], code_hash=r["code_hash"], email=r["email"],
            role=r["role"], created_by=r["created_by"], created_at=_dtn(r["created_at"]),
            expires_at=_dtn(r["expires_at"]), used_at=_dt(r["used_at"]), used_by=r["used_by"])

    async def create_invite(self, tenant_id: str, *, code_hash: str, email: str | None,
                            role: str, expires_at: datetime, created_by: str | None
                            ) -> InviteRecord:
        rec = InviteRecord(id=new_id(), tenant_id=tenant_id, code_hash=code_hash,
                           email=email.strip().lower() if email else None, role=role,
                           created_by=created_by, created_at=now(),
                           expires_at=_dtn(_aware(expires_at, "expires_at")))
        try:
            async with self.write() as c:
                await c.execute(
                    "INSERT INTO invites (id, tenant_id, code_hash, email, role, created_by, "
                    "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    rec.id, tenant_id, code_hash, rec.email, role, created_by,
                    self.ts(rec.created_at), self.ts(rec.expires_at))
        except IntegrityViolation:
            raise InvalidArguments("no such tenant (or a duplicate invite code)",
                                   field="tenant_id") from None
        return rec

    async def list_invites(self, tenant_id: str) -> list[InviteRecord]:
        async with self.read() as c:
            rows = await c.fetch("SELECT * FROM invites WHERE tenant_id = ? "
                                 "ORDER BY created_at, id", tenant_id)
        return [self._invite(r) for r in rows]

    async def delete_invite(self, tenant_id: str, invite_id: str) -> bool:
        async with self.write() as c:
            n = await c.execute("DELETE FROM invites WHERE tenant_id = ? AND id = ?",
                                tenant_id, invite_id)
        return n > 0

    async def redeem_invite(self, code_hash: str, email: str, *, password_hash: str,
                            when: datetime) -> tuple[InviteRecord, UserRecord]:
        email = email.strip().lower()
        bad = "this invite code is not valid"
        try:
            async with self.write() as c:
                r = await c.fetchrow("SELECT * FROM invites WHERE code_hash = ?", code_hash)
                if r is None:
                    raise InvalidArguments(bad, field="invite")
                inv = self._invite(r)
                if inv.used_at is not None:
                    raise InvalidArguments("this invite was already used", field="invite")
                if inv.expires_at <= when:
                    raise InvalidArguments("this invite has expired; ask for a new one",
                                           field="invite")
                if inv.email is not None and inv.email != email:
                    raise InvalidArguments("this invite is for another email address",
                                           field="invite")
                user = UserRecord(id=new_id(), tenant_id=inv.tenant_id, email=email,
                                  role=inv.role, password_hash=password_hash,
                                  status="active", created_at=when)
                # The conditional update is the single-use guarantee: a racing redeemer
                # waits on the row (PostgreSQL) or the write lock (SQLite) and gets 0.
                n = await c.execute(
                    "UPDATE invites SET used_at = ?, used_by = ? WHERE id = ? "
                    "AND used_at IS NULL", self.ts(when), user.id, inv.id)
                if n != 1:
                    raise InvalidArguments("this invite was already used", field="invite")
                await c.execute(
                    "INSERT INTO users (id, tenant_id, email, role, password_hash, "
                    "display_name, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    user.id, user.tenant_id, email, user.role, password_hash, None, "active",
                    self.ts(when))
        except IntegrityViolation:
            raise Conflict("an account with this email already exists") from None
        return replace(inv, used_at=when, used_by=user.id), user

    # -- refresh tokens ----------------------------------------------------------------
    @staticmethod
    def _refresh(r: Row) -> RefreshTokenRecord:
        return RefreshTokenRecord(
            id=r["id"], tenant_id=r["tenant_id"], user_id=r["user_id"], family_id=r["family_id"],
            token_hash=r["token_hash"], created_at=_dtn(r["created_at"]),
            expires_at=_dtn(r["expires_at"]), used_at=_dt(r["used_at"]),
            revoked_at=_dt(r["revoked_at"]),
        )

    async def create_refresh_token(self, tenant_id: str, user_id: str, *, family_id: str,
                                   token_hash: str, expires_at: datetime
                                   ) -> RefreshTokenRecord:
        rec = RefreshTokenRecord(id=new_id(), tenant_id=tenant_id, user_id=user_id,
                                 family_id=family_id, token_hash=token_hash, created_at=now(),
                                 expires_at=expires_at)
        async with self.write() as c:
            await c.execute(
                "INSERT INTO refresh_tokens (id, tenant_id, user_id, family_id, token_hash, "
                "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rec.id, tenant_id, user_id, family_id, token_hash, self.ts(rec.created_at),
                self.ts(expires_at),
            )
        return rec

    async def get_refresh_token(self, token_hash: str) -> RefreshTokenRecord | None:
        async with self.read() as c:
            r = await c.fetchrow("SELECT * FROM refresh_tokens WHERE token_hash = ?", token_hash)
        return self._refresh(r) if r else None

    async def mark_refresh_token_used(self, token_id: str, when: datetime) -> bool:
        async with self.write() as c:
            n = await c.execute(
                "UPDATE refresh_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL "
                "AND revoked_at IS NULL", self.ts(when), token_id)
        return n > 0

    async def revoke_refresh_family(self, tenant_id: str, family_id: str) -> int:
        async with self.write() as c:
            return await c.execute(
                "UPDATE refresh_tokens SET revoked_at = ? WHERE tenant_id = ? AND family_id = ? "
                "AND revoked_at IS NULL", self.ts(now()), tenant_id, family_id)

    async def revoke_user_refresh_tokens(self, tenant_id: str, user_id: str) -> int:
        async with self.write() as c:
            return await c.execute(
                "UPDATE refresh_tokens SET revoked_at = ? WHERE tenant_id = ? AND user_id = ? "
                "AND revoked_at IS NULL", self.ts(now()), tenant_id, user_id)

    # -- data keys and signing keys ------------------------------------------------------
    async def list_data_keys(self) -> list[DataKeyRecord]:
        async with self.read() as c:
            rows = await c.fetch("SELECT * FROM data_keys ORDER BY version")
        return [DataKeyRecord(version=int(r["version"]), wrapped=bytes(r["wrapped"]),
                              status=r["status"], created_at=_dtn(r["created_at"]))
                for r in rows]

    async def add_data_key(self, wrapped: bytes, *, status: str = "active") -> DataKeyRecord:
        created = now()
        async with self.write() as c:
            r = await c.fetchrow("SELECT MAX(version) AS v FROM data_keys")
            version = int(r["v"] or 0) + 1 if r else 1
            if status == "active":
                await c.execute("UPDATE data_keys SET status = 'retiring' WHERE status = 'active'")
            await c.execute(
                "INSERT INTO data_keys (version, wrapped, status, created_at) VALUES (?, ?, ?, ?)",
                version, wrapped, status, self.ts(created))
        return DataKeyRecord(version=version, wrapped=wrapped, status=status, created_at=created)

    async def set_data_key_status(self, version: int, status: str) -> None:
        async with self.write() as c:
            await c.execute("UPDATE data_keys SET status = ? WHERE version = ?", status, version)

    async def list_signing_keys(self) -> list[SigningKeyRecord]:
        async with self.read() as c:
            rows = await c.fetch("SELECT * FROM signing_keys ORDER BY created_at, id")
        return [SigningKeyRecord(kid=r["id"], algorithm=r["algorithm"],
                                 private_key_enc=bytes(r["private_key_enc"]),
                                 public_jwk=_json(r["public_jwk"]),
                                 created_at=_dtn(r["created_at"]),
                                 retired_at=_dt(r["retired_at"])) for r in rows]

    async def add_signing_key(self, kid: str, algorithm: str, private_key_enc: bytes,
                              public_jwk: dict[str, Any]) -> SigningKeyRecord:
        rec = SigningKeyRecord(kid=kid, algorithm=algorithm, private_key_enc=private_key_enc,
                               public_jwk=public_jwk, created_at=now())
        async with self.write() as c:
            await c.execute(
                "INSERT INTO signing_keys (id, algorithm, private_key_enc, public_jwk, created_at)"
                " VALUES (?, ?, ?, ?, ?)", kid, algorithm, private_key_enc,
                self.js(public_jwk), self.ts(rec.created_at))
        return rec

    async def retire_signing_key(self, kid: str, when: datetime) -> None:
        async with self.write() as c:
            await c.execute("UPDATE signing_keys SET retired_at = ? WHERE id = ? "
                            "AND retired_at IS NULL", self.ts(when), kid)

    async def scan_encrypted(self, table: str, column: str, *, after_id: str | None,
                             limit: int) -> list[EncryptedCell]:
        if (table, column) not in ENCRYPTED_COLUMNS:
            raise InvalidArguments(f"{table}.{column} is not an encrypted column")
        owner = ("'' AS tenant_id, '' AS user_id" if table == "signing_keys"
                 else "tenant_id, '' AS user_id" if table == "oauth_configs"
                 else "tenant_id, user_id")
        async with self.read() as c:
            rows = await c.fetch(
                f"SELECT id, {owner}, {column} AS v FROM {table} WHERE {column} IS NOT NULL "
                "AND id > ? ORDER BY id LIMIT ?", after_id or "", limit)
        return [EncryptedCell(table=table, column=column, row_id=r["id"],
                              tenant_id=r["tenant_id"], user_id=r["user_id"], value=bytes(r["v"]))
                for r in rows]

    async def replace_encrypted(self, cell: EncryptedCell, new_value: bytes) -> bool:
        if (cell.table, cell.column) not in ENCRYPTED_COLUMNS:
            raise InvalidArguments(f"{cell.table}.{cell.column} is not an encrypted column")
        async with self.write() as c:
            n = await c.execute(
                f"UPDATE {cell.table} SET {cell.column} = ? WHERE id = ? AND {cell.column} = ?",
                new_value, cell.row_id, cell.value)
        return n > 0

    # -- provider connections --------------------------------------------------------------
    @staticmethod
    def _conn(r: Row) -> ConnectionRecord:
        return ConnectionRecord(
            tenant_id=r["tenant_id"], user_id=r["user_id"], provider=r["provider"],
            access_token_enc=_enc(r["access_token_enc"]),
            refresh_token_enc=_enc(r["refresh_token_enc"]), expires_at=_dt(r["expires_at"]),
            scopes=_json(r["scopes"]) or [], provider_user_id=r["provider_user_id"],
            status=r["status"], meta=_json(r["meta"]) or {}, created_at=_dtn(r["created_at"]),
            updated_at=_dtn(r["updated_at"]), id=r["id"],
        )

    async def upsert_connection(self, tenant_id: str, user_id: str, provider: str, *,
                                access_token_enc: bytes | None,
                                refresh_token_enc: bytes | None, expires_at: datetime | None,
                                scopes: list[str], provider_user_id: str | None, status: str,
                                meta: dict[str, Any]) -> None:
        t = self.ts(now())
        _aware(expires_at, "expires_at")
        try:
            async with self.write() as c:
                await c.execute(
                    "INSERT INTO user_tokens (id, tenant_id, user_id, provider, access_token_enc, "
                    "refresh_token_enc, expires_at, scopes, provider_user_id, status, meta, "
                    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (tenant_id, user_id, provider) DO UPDATE SET "
                    "access_token_enc = excluded.access_token_enc, "
                    "refresh_token_enc = excluded.refresh_token_enc, "
                    "expires_at = excluded.expires_at, scopes = excluded.scopes, "
                    "provider_user_id = excluded.provider_user_id, status = excluded.status, "
                    "meta = excluded.meta, updated_at = excluded.updated_at",
                    new_id(), tenant_id, user_id, provider, access_token_enc, refresh_token_enc,
                    self.ts(expires_at), self.js(list(scopes)), provider_user_id, status,
                    self.js(meta), t, t,
                )
        except IntegrityViolation:
            raise InvalidArguments("no such user in this tenant", field="user_id") from None

    async def get_connection(self, tenant_id: str, user_id: str, provider: str
                             ) -> ConnectionRecord | None:
        async with self.read() as c:
            r = await c.fetchrow(
                "SELECT * FROM user_tokens WHERE tenant_id = ? AND user_id = ? AND provider = ?",
                tenant_id, user_id, provider)
        return self._conn(r) if r else None

    async def list_connections(self, tenant_id: str, user_id: str) -> list[ConnectionRecord]:
        async with self.read() as c:
            rows = await c.fetch(
                "SELECT * FROM user_tokens WHERE tenant_id = ? AND user_id = ? ORDER BY provider",
                tenant_id, user_id)
        return [self._conn(r) for r in rows]

    async def delete_connection(self, tenant_id: str, user_id: str, provider: str) -> bool:
        async with self.write() as c:
            n = await c.execute(
                "DELETE FROM user_tokens WHERE tenant_id = ? AND user_id = ? AND provider = ?",
                tenant_id, user_id, provider)
        return n > 0

    async def find_connections_by_provider_user(self, provider: str, provider_user_id: str
                                                ) -> list[ConnectionRecord]:
        async with self.read() as c:
            rows = await c.fetch(
                "SELECT * FROM user_tokens WHERE provider = ? AND provider_user_id = ? "
                "ORDER BY tenant_id, user_id", provider, provider_user_id)
        return [self._conn(r) for r in rows]

    async def set_connection_status(self, tenant_id: str, user_id: str, provider: str,
                                    status: str) -> None:
        async with self.write() as c:
            await c.execute(
                "UPDATE user_tokens SET status = ?, updated_at = ? WHERE tenant_id = ? "
                "AND user_id = ? AND provider = ?",
                status, self.ts(now()), tenant_id, user_id, provider)

    # -- OAuth apps and states ---------------------------------------------------------------
    @staticmethod
    def _app(r: Row) -> OAuthAppRecord:
        return OAuthAppRecord(
            tenant_id=r["tenant_id"], provider=r["provider"], client_id=r["client_id"],
            client_secret_enc=bytes(r["client_secret_enc"]), redirect_uri=r["redirect_uri"],
            scopes=_json(r["scopes"]) or [], updated_at=_dtn(r["updated_at"]), id=r["id"])

    async def upsert_oauth_app(self, tenant_id: str, provider: str, *, client_id: str,
                               client_secret_enc: bytes, redirect_uri: str | None,
                               scopes: list[str]) -> None:
        async with self.write() as c:
            await c.execute(
                "INSERT INTO oauth_configs (id, tenant_id, provider, client_id, client_secret_enc,"
                " redirect_uri, scopes, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (tenant_id, provider) DO UPDATE SET client_id = excluded.client_id, "
                "client_secret_enc = excluded.client_secret_enc, "
                "redirect_uri = excluded.redirect_uri, scopes = excluded.scopes, "
                "updated_at = excluded.updated_at",
                new_id(), tenant_id, provider, client_id, client_secret_enc, redirect_uri,
                self.js(list(scopes)), self.ts(now()))

    async def get_oauth_app(self, tenant_id: str, provider: str) -> OAuthAppRecord | None:
        async with self.read() as c:
            r = await c.fetchrow(
                "SELECT * FROM oauth_configs WHERE tenant_id = ? AND provider = ?",
                tenant_id, provider)
        return self._app(r) if r else None

    async def list_oauth_apps(self, tenant_id: str) -> list[OAuthAppRecord]:
        async with self.read() as c:
            rows = await c.fetch(
                "SELECT * FROM oauth_configs WHERE tenant_id = ? ORDER BY provider", tenant_id)
        return [self._app(r) for r in rows]

    async def delete_oauth_app(self, tenant_id: str, provider: str) -> bool:
        async with self.write() as c:
            n = await c.execute(
                "DELETE FROM oauth_configs WHERE tenant_id = ? AND provider = ?",
                tenant_id, provider)
        return n > 0

    async def save_oauth_state(self, state: str, tenant_id: str, user_id: str, provider: str,
                               data: dict[str, Any], expires_at: datetime) -> None:
        async with self.write() as c:
            await c.execute("DELETE FROM oauth_states WHERE expires_at < ?", self.ts(now()))
            await c.execute(
                "INSERT INTO oauth_states (state, tenant_id, user_id, provider, data, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?)", state, tenant_id, user_id, provider,
                self.js(data), self.ts(expires_at))

    async def pop_oauth_state(self, state: str) -> dict[str, Any] | None:
        async with self.write() as c:
            r = await c.fetchrow("SELECT * FROM oauth_states WHERE state = ?", state)
            if r is None:
                return None
            n = await c.execute("DELETE FROM oauth_states WHERE state = ?", state)
        if n == 0 or _dtn(r["expires_at"]) < now():
            return None
        return {"tenant_id": r["tenant_id"], "user_id": r["user_id"], "provider": r["provider"],
                "data": _json(r["data"]) or {}}

    # -- stored activities and daily records ----------------------------------------------
    @staticmethod
    def _activity(r: Row) -> StoredActivity:
        return StoredActivity(provider_id=r["provider_id"], start_utc=_dtn(r["start_utc"]),
                              sport_type=r["sport_type"], dedup_key=r["dedup_key"],
                              summary=_json(r["summary"]) or {}, detail=_json(r["detail"]))

    async def upsert_activities(self, tenant_id: str, user_id: str, provider: str,
                                items: list[StoredActivity]) -> int:
        new = 0
        t = self.ts(now())
        try:
            async with self.write() as c:
                for a in items:
                    _aware(a.start_utc, "start_utc")
                    detail = self.js(a.detail) if a.detail is not None else None
                    n = await c.execute(
                        "UPDATE stored_activities SET start_utc = ?, sport_type = ?, "
                        "dedup_key = ?, summary = ?, detail = COALESCE(?, detail) "
                        "WHERE tenant_id = ? AND user_id = ? AND provider = ? AND provider_id = ?",
                        self.ts(a.start_utc), a.sport_type, a.dedup_key, self.js(a.summary),
                        detail, tenant_id, user_id, provider, a.provider_id)
                    if n:
                        continue
                    if a.dedup_key is not None and await c.fetchrow(
                        "SELECT 1 AS x FROM stored_activities WHERE tenant_id = ? AND user_id = ?"
                        " AND provider = ? AND dedup_key = ?",
                        tenant_id, user_id, provider, a.dedup_key,
                    ):
                        continue
                    await c.execute(
                        "INSERT INTO stored_activities (tenant_id, user_id, provider, "
                        "provider_id, start_utc, sport_type, dedup_key, summary, detail, "
                        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        tenant_id, user_id, provider, a.provider_id, self.ts(a.start_utc),
                        a.sport_type, a.dedup_key, self.js(a.summary), detail, t)
                    new += 1
        except IntegrityViolation:
            raise InvalidArguments("no such user in this tenant", field="user_id") from None
        return new

    async def list_stored_activities(self, tenant_id: str, user_id: str, provider: str, *,
                                     before: datetime | None = None,
                                     after: datetime | None = None,
                                     sport_type: str | None = None, limit: int = 30,
                                     offset: int = 0) -> list[StoredActivity]:
        where = ["tenant_id = ?", "user_id = ?", "provider = ?"]
        args: list[Any] = [tenant_id, user_id, provider]
        if before is not None:
            where.append("start_utc < ?")
            args.append(self.ts(_aware(before, "before")))
        if after is not None:
            where.append("start_utc > ?")
            args.append(self.ts(_aware(after, "after")))
        if sport_type is not None:
            where.append("sport_type = ?")
            args.append(sport_type)
        async with self.read() as c:
            rows = await c.fetch(
                f"SELECT * FROM stored_activities WHERE {' AND '.join(where)} "
                "ORDER BY start_utc DESC, provider_id LIMIT ? OFFSET ?",
                *args, max(0, limit), max(0, offset))
        return [self._activity(r) for r in rows]

    async def get_stored_activity(self, tenant_id: str, user_id: str, provider: str,
                                  provider_id: str) -> StoredActivity | None:
        async with self.read() as c:
            r = await c.fetchrow(
                "SELECT * FROM stored_activities WHERE tenant_id = ? AND user_id = ? "
                "AND provider = ? AND provider_id = ?", tenant_id, user_id, provider, provider_id)
        return self._activity(r) if r else None

    async def upsert_daily(self, tenant_id: str, user_id: str, provider: str, kind: str,
                           key: str, day: date, data: dict[str, Any]) -> None:
        async with self.write() as c:
            await c.execute(
                "INSERT INTO daily_records (tenant_id, user_id, provider, kind, key, day, data, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (tenant_id, user_id, provider, kind, key) DO UPDATE SET "
                "day = excluded.day, data = excluded.data, updated_at = excluded.updated_at",
                tenant_id, user_id, provider, kind, key, self.day(day), self.js(data),
                self.ts(now()))

    async def list_daily(self, tenant_id: str, user_id: str, provider: str, kind: str,
                         start: date, end: date) -> list[dict[str, Any]]:
        async with self.read() as c:
            rows = await c.fetch(
                "SELECT data FROM daily_records WHERE tenant_id = ? AND user_id = ? "
                "AND provider = ? AND kind = ? AND day >= ? AND day <= ? ORDER BY day, key",
                tenant_id, user_id, provider, kind, self.day(start), self.day(end))
        return [_json(r["data"]) for r in rows]

    async def delete_provider_data(self, tenant_id: str, user_id: str, provider: str) -> int:
        async with self.write() as c:
            n = await c.execute(
                "DELETE FROM stored_activities WHERE tenant_id = ? AND user_id = ? "
                "AND provider = ?", tenant_id, user_id, provider)
            n += await c.execute(
                "DELETE FROM daily_records WHERE tenant_id = ? AND user_id = ? "
                "AND provider = ?", tenant_id, user_id, provider)
        return int(n)

    # -- goals and settings ------------------------------------------------------------------
    @staticmethod
    def _goal(r: Row) -> dict[str, Any]:
        data = dict(_json(r["data"]) or {})
        data["id"] = r["id"]
        data["created_at"] = _dtn(r["created_at"]).isoformat()
        return data

    async def create_goal(self, tenant_id: str, user_id: str, data: dict[str, Any]
                          ) -> dict[str, Any]:
        gid, t = new_id(), now()
        body = {k: v for k, v in data.items() if k not in ("id", "created_at")}
        try:
            async with self.write() as c:
                await c.execute(
                    "INSERT INTO goals (id, tenant_id, user_id, data, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)", gid, tenant_id, user_id, self.js(body),
                    self.ts(t), self.ts(t))
        except IntegrityViolation:
            raise InvalidArguments("no such user in this tenant", field="user_id") from None
        return {**body, "id": gid, "created_at": t.isoformat()}

    async def list_goals(self, tenant_id: str, user_id: str) -> list[dict[str, Any]]:
        async with self.read() as c:
            rows = await c.fetch("SELECT * FROM goals WHERE tenant_id = ? AND user_id = ? "
                                 "ORDER BY created_at, id", tenant_id, user_id)
        return [self._goal(r) for r in rows]

    async def get_goal(self, tenant_id: str, user_id: str, goal_id: str
                       ) -> dict[str, Any] | None:
        async with self.read() as c:
            r = await c.fetchrow("SELECT * FROM goals WHERE tenant_id = ? AND user_id = ? "
                                 "AND id = ?", tenant_id, user_id, goal_id)
        return self._goal(r) if r else None

    async def update_goal(self, tenant_id: str, user_id: str, goal_id: str,
                          data: dict[str, Any]) -> dict[str, Any] | None:
        async with self.write() as c:
            r = await c.fetchrow("SELECT * FROM goals WHERE tenant_id = ? AND user_id = ? "
                                 "AND id = ?", tenant_id, user_id, goal_id)
            if r is None:
                return None
            body = dict(_json(r["data"]) or {})
            body.update({k: v for k, v in data.items() if k not in ("id", "created_at")})
            await c.execute("UPDATE goals SET data = ?, updated_at = ? WHERE tenant_id = ? "
                            "AND id = ?", self.js(body), self.ts(now()), tenant_id, goal_id)
        return {**body, "id": goal_id, "created_at": _dtn(r["created_at"]).isoformat()}

    async def delete_goal(self, tenant_id: str, user_id: str, goal_id: str) -> bool:
        async with self.write() as c:
            n = await c.execute("DELETE FROM goals WHERE tenant_id = ? AND user_id = ? "
                                "AND id = ?", tenant_id, user_id, goal_id)
        return n > 0

    async def get_user_settings(self, tenant_id: str, user_id: str, namespace: str
                                ) -> dict[str, Any]:
        async with self.read() as c:
            r = await c.fetchrow("SELECT data FROM user_settings WHERE tenant_id = ? "
                                 "AND user_id = ? AND namespace = ?", tenant_id, user_id,
                                 namespace)
        return dict(_json(r["data"]) or {}) if r else {}

    async def set_user_settings(self, tenant_id: str, user_id: str, namespace: str,
                                data: dict[str, Any]) -> None:
        try:
            async with self.write() as c:
                await c.execute(
                    "INSERT INTO user_settings (tenant_id, user_id, namespace, data, updated_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id, user_id, namespace) "
                    "DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
                    tenant_id, user_id, namespace, self.js(data), self.ts(now()))
        except IntegrityViolation:
            raise InvalidArguments("no such user in this tenant", field="user_id") from None

    # -- A2A ---------------------------------------------------------------------------------
    @staticmethod
    def _a2a(r: Row) -> A2AClientRecord:
        return A2AClientRecord(
            id=r["id"], tenant_id=r["tenant_id"], user_id=r["user_id"], name=r["name"],
            description=r["description"], secret_hash=r["secret_hash"],
            created_at=_dtn(r["created_at"]), revoked_at=_dt(r["revoked_at"]),
            last_used_at=_dt(r["last_used_at"]))

    async def create_a2a_client(self, tenant_id: str, user_id: str, *, name: str,
                                description: str, secret_hash: str) -> A2AClientRecord:
        rec = A2AClientRecord(id=new_id(), tenant_id=tenant_id, user_id=user_id, name=name,
                              description=description, secret_hash=secret_hash,
                              created_at=now())
        try:
            async with self.write() as c:
                await c.execute(
                    "INSERT INTO a2a_agents (id, tenant_id, user_id, name, description, "
                    "secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    rec.id, tenant_id, user_id, name, description, secret_hash,
                    self.ts(rec.created_at))
        except IntegrityViolation:
            raise InvalidArguments("no such user in this tenant", field="user_id") from None
        return rec

    async def get_a2a_client(self, client_id: str) -> A2AClientRecord | None:
        async with self.read() as c:
            r = await c.fetchrow("SELECT * FROM a2a_agents WHERE id = ?", client_id)
        return self._a2a(r) if r else None

    async def list_a2a_clients(self, tenant_id: str, user_id: str | None
                               ) -> list[A2AClientRecord]:
        async with self.read() as c:
            if user_id is None:
                rows = await c.fetch("SELECT * FROM a2a_agents WHERE tenant_id = ? "
                                     "ORDER BY created_at, id", tenant_id)
            else:
                rows = await c.fetch("SELECT * FROM a2a_agents WHERE tenant_id = ? "
                                     "AND user_id = ? ORDER BY created_at, id", tenant_id, user_id)
        return [self._a2a(r) for r in rows]

    async def revoke_a2a_client(self, tenant_id: str, client_id: str) -> bool:
        async with self.write() as c:
            n = await c.execute("UPDATE a2a_agents SET revoked_at = ? WHERE tenant_id = ? "
                                "AND id = ? AND revoked_at IS NULL", self.ts(now()), tenant_id,
                                client_id)
        return n > 0

    async def touch_a2a_client(self, client_id: str, when: datetime) -> None:
        async with self.write() as c:
            await c.execute("UPDATE a2a_agents SET last_used_at = ? WHERE id = ?",
                            self.ts(when), client_id)

    @staticmethod
    def _task(r: Row) -> dict[str, Any]:
        return {"task_id": r["task_id"], "context_id": r["context_id"], "user_id": r["user_id"],
                "state": r["state"], "data": _json(r["data"]) or {},
                "created_at": _dtn(r["created_at"]), "updated_at": _dtn(r["updated_at"])}

    async def save_a2a_task(self, tenant_id: str, user_id: str, task_id: str,
                            context_id: str | None, state: str, data: dict[str, Any]) -> None:
        t = self.ts(now())
        async with self.write() as c:
            await c.execute(
                "INSERT INTO a2a_tasks (tenant_id, task_id, user_id, context_id, state, data, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (tenant_id, task_id) DO UPDATE SET context_id = excluded.context_id,"
                " state = excluded.state, data = excluded.data, updated_at = excluded.updated_at "
                "WHERE a2a_tasks.user_id = excluded.user_id",
                tenant_id, task_id, user_id, context_id, state, self.js(data), t, t)

    async def get_a2a_task(self, tenant_id: str, task_id: str) -> dict[str, Any] | None:
        async with self.read() as c:
            r = await c.fetchrow("SELECT * FROM a2a_tasks WHERE tenant_id = ? AND task_id = ?",
                                 tenant_id, task_id)
        return self._task(r) if r else None

    async def list_a2a_tasks(self, tenant_id: str, user_id: str, *,
                             context_id: str | None = None, state: str | None = None,
                             limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        where = ["tenant_id = ?", "user_id = ?"]
        args: list[Any] = [tenant_id, user_id]
        if context_id is not None:
            where.append("context_id = ?")
            args.append(context_id)
        if state is not None:
            where.append("state = ?")
            args.append(state)
        async with self.read() as c:
            rows = await c.fetch(
                f"SELECT * FROM a2a_tasks WHERE {' AND '.join(where)} "
                "ORDER BY updated_at DESC, task_id LIMIT ? OFFSET ?",
                *args, max(0, limit), max(0, offset))
        return [self._task(r) for r in rows]

    # -- audit -------------------------------------------------------------------------------
    async def add_audit(self, action: str, *, tenant_id: str | None, user_id: str | None = None,
                        ip: str | None = None, user_agent: str | None = None,
                        details: dict[str, Any] | None = None) -> None:
        async with self.write() as c:
            await c.execute(
                "INSERT INTO audit_logs (id, tenant_id, user_id, action, ip, user_agent, details,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                new_id(), tenant_id, user_id, action, ip, (user_agent or "")[:512] or None,
                self.js(details or {}), self.ts(now()))

    async def list_audit(self, tenant_id: str | None, *, action: str | None = None,
                         user_id: str | None = None, since: datetime | None = None,
                         until: datetime | None = None, limit: int = 100,
                         offset: int = 0) -> list[AuditRecord]:
        where: list[str] = []
        args: list[Any] = []
        for col, op, val in (("tenant_id", "=", tenant_id), ("action", "=", action),
                             ("user_id", "=", user_id),
                             ("created_at", ">=", self.ts(since) if since else None),
                             ("created_at", "<", self.ts(until) if until else None)):
            if val is not None:
                where.append(f"{col} {op} ?")
                args.append(val)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        async with self.read() as c:
            rows = await c.fetch(
                f"SELECT * FROM audit_logs {clause} ORDER BY created_at DESC, id "
                "LIMIT ? OFFSET ?", *args, max(0, limit), max(0, offset))
        return [AuditRecord(id=r["id"], tenant_id=r["tenant_id"], user_id=r["user_id"],
                            action=r["action"], ip=r["ip"], user_agent=r["user_agent"],
                            details=_json(r["details"]) or {}, created_at=_dtn(r["created_at"]))
                for r in rows]


def rows_affected(status: str) -> int:
    """asyncpg's command tag ('UPDATE 3', 'INSERT 0 1') to a count."""
    try:
        return int(status.rsplit(" ", 1)[-1])
    except (ValueError, IndexError):
        return 0


__all__: Sequence[str] = ["Conn", "IntegrityViolation", "SqlDatabase", "new_id", "now",
                          "rows_affected"]
