"""The `postgres` database plugin: an asyncpg pool with prepared statements.

Shares Pierre's repository SQL and migrations (`pierre.db`); this module only
adapts placeholders (`?` → `$n`), parameter types and connections. asyncpg
caches prepared statements per connection, and the pool replaces a connection
that died with a server restart on its next use.
"""

from __future__ import annotations

import logging
import re
import ssl as _ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import asyncpg
import structlog

from pierre.db.migrations import POSTGRES_TYPES
from pierre.db.sql import Conn, IntegrityViolation, SqlDatabase, rows_affected
from pierre.errors import PierreError, ServiceUnavailable
from pierre.plugins.base import PluginContext

API_VERSION = "1.0"
log = structlog.get_logger("pierre.db.postgres")
_MIGRATION_LOCK = 0x70_69_65_72_72_65  # "pierre"
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_LOST = (asyncpg.ConnectionDoesNotExistError, asyncpg.InterfaceError,
         asyncpg.CannotConnectNowError, ConnectionError, OSError)


@lru_cache(maxsize=1024)
def to_dollar(sql: str) -> str:
    """`?` placeholders to `$1..$n` (our SQL never has `?` inside literals)."""
    n = 0

    def repl(_: re.Match[str]) -> str:
        nonlocal n
        n += 1
        return f"${n}"

    return re.sub(r"\?", repl, sql)


class _OneLineReconnectFailures(logging.Filter):
    """asyncpg's pool logs every failed attempt to refill its connection floor with a
    traceback, through stdlib logging: while PostgreSQL is down that is a multi-line
    traceback per retry in a JSON-lines log. Keep each to one structured line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None:
            return True
        log.warning("postgres_pool_reconnect_failed", detail=record.getMessage(),
                    error=f"{type(exc).__name__}: {exc}"[:200])
        return False


_RECONNECT_FILTER = _OneLineReconnectFailures()


class _PgConn:
    __slots__ = ("_c",)

    def __init__(self, c: asyncpg.Connection) -> None:
        self._c = c

    async def execute(self, sql: str, *args: Any) -> int:
        try:
            status = await self._c.execute(to_dollar(sql), *args)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityViolation(str(exc)) from exc
        except _LOST:
            raise ServiceUnavailable("lost the connection to PostgreSQL; retry") from None
        return rows_affected(status)

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        try:
            return list(await self._c.fetch(to_dollar(sql), *args))
        except _LOST:
            raise ServiceUnavailable("lost the connection to PostgreSQL; retry") from None

    async def fetchrow(self, sql: str, *args: Any) -> Any | None:
        try:
            return await self._c.fetchrow(to_dollar(sql), *args)
        except _LOST:
            raise ServiceUnavailable("lost the connection to PostgreSQL; retry") from None


class PostgresDatabase(SqlDatabase):
    """Options: ``dsn`` (or ``url``), ``min_size``, ``max_size``, ``schema`` (created if
    missing; default the server's search_path), ``ssl`` (``disable``/``require``/
    ``verify-full`` or true/false), ``ssl_ca`` (CA bundle for verify-full),
    ``command_timeout_s``."""

    API_VERSION = API_VERSION
    types = POSTGRES_TYPES

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 10,
                 schema: str | None = None, ssl: Any = None,
                 command_timeout_s: float = 30.0) -> None:
        if schema is not None and not _SCHEMA_NAME.match(schema):
            raise PierreError(f"database.schema: {schema!r} is not a valid schema name")
        self.dsn, self.min_size, self.max_size = dsn, min_size, max_size
        self.schema, self.ssl, self.command_timeout_s = schema, ssl, command_timeout_s
        self._pool: asyncpg.Pool | None = None

    @classmethod
    def from_config(cls, options: dict[str, Any], ctx: PluginContext) -> PostgresDatabase:
        dsn = options.get("dsn") or options.get("url")
        if not dsn:
            raise PierreError("database.dsn: required for the postgres backend "
                              "(postgresql://user@host:5432/db; dsn_file for a secret file)")
        return cls(str(dsn), min_size=int(options.get("min_size", 1)),
                   max_size=int(options.get("max_size", 10)), schema=options.get("schema"),
                   ssl=_ssl_option(options.get("ssl"), options.get("ssl_ca"), ctx),
                   command_timeout_s=float(options.get("command_timeout_s", 30.0)))

    async def start(self) -> None:
        pool_log = logging.getLogger("asyncpg.pool")
        if _RECONNECT_FILTER not in pool_log.filters:
            pool_log.addFilter(_RECONNECT_FILTER)
        settings = {"search_path": self.schema} if self.schema else None
        try:
            if self.schema:
                con = await asyncpg.connect(self.dsn, ssl=self.ssl)
                try:
                    await con.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
                finally:
                    await con.close()
            self._pool = await asyncpg.create_pool(
                self.dsn, min_size=self.min_size, max_size=self.max_size, ssl=self.ssl,
                server_settings=settings, command_timeout=self.command_timeout_s)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise PierreError(f"cannot connect to PostgreSQL: {type(exc).__name__}: {exc}"
                              ) from None

    async def migrate(self) -> list[str]:
        """Serialised across processes: two daemons starting together migrate once."""
        con = await self._acquire()
        try:
            await con.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
            try:
                return await super().migrate()
            finally:
                await con.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
        finally:
            await self._need().release(con)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def pool_in_use(self) -> float:
        """Connections checked out of the pool now (the daemon exports it to /metrics)."""
        pool = self._pool
        return float(pool.get_size() - pool.get_idle_size()) if pool is not None else 0.0

    def _need(self) -> asyncpg.Pool:
        if self._pool is None:
            raise ServiceUnavailable("the database is not open")
        return self._pool

    async def _acquire(self) -> asyncpg.Connection:
        try:
            return await self._need().acquire()
        except _LOST:
            raise ServiceUnavailable("cannot reach PostgreSQL; retry") from None

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Conn]:
        con = await self._acquire()
        try:
            yield _PgConn(con)
        finally:
            await self._need().release(con)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Conn]:
        con = await self._acquire()
        try:
            tx = con.transaction()
            await tx.start()
            try:
                yield _PgConn(con)
            except BaseException:
                try:
                    await tx.rollback()
                except _LOST:
                    pass
                raise
            await tx.commit()
        finally:
            await self._need().release(con)

    def ts(self, v: datetime | None) -> Any:
        return v

    def day(self, v: date) -> Any:
        return v


def _ssl_option(value: Any, ca: Any, ctx: PluginContext) -> Any:
    if value in (None, False, "disable", "false"):
        return None
    if value in (True, "require", "true"):
        return "require"
    if value == "verify-full":
        sslctx = _ssl.create_default_context(
            cafile=ctx.config.resolve_path(str(ca)) if ca else None)
        return sslctx
    raise PierreError(f"database.ssl: expected disable, require or verify-full, got {value!r}")
