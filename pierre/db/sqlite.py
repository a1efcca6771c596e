"""The built-in `sqlite` database plugin: aiosqlite, WAL, one writer plus readers.

SQLite allows one writer at a time; serialising writes on one connection
behind an asyncio lock avoids SQLITE_BUSY entirely, while WAL lets reader
connections run concurrently with it and see only committed data.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

import aiosqlite

from pierre.db.migrations import SQLITE_TYPES
from pierre.db.sql import Conn, IntegrityViolation, SqlDatabase
from pierre.errors import PierreError, ServiceUnavailable
from pierre.plugins.base import PluginContext

API_VERSION = "1.0"


class _SqliteConn:
    __slots__ = ("_db",)

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def execute(self, sql: str, *args: Any) -> int:
        try:
            cur = await self._db.execute(sql, args)
        except sqlite3.IntegrityError as exc:
            raise IntegrityViolation(str(exc)) from exc
        n = cur.rowcount
        await cur.close()
        return max(n, 0)

    # execute_fetchall runs execute + fetch + close in ONE hop to aiosqlite's thread (three
    # hops otherwise); the hand-off, not SQLite, dominates a primary-key read.
    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        return list(await self._db.execute_fetchall(sql, args))

    async def fetchrow(self, sql: str, *args: Any) -> Any | None:
        rows = await self._db.execute_fetchall(sql, args)
        return next(iter(rows), None)


class SQLiteDatabase(SqlDatabase):
    """Options: ``path`` (relative to the config folder; default ``<data_dir>/pierre.db``),
    ``readers`` (reader connections, default 2), ``busy_timeout_ms``."""

    API_VERSION = API_VERSION
    types = SQLITE_TYPES

    def __init__(self, path: str, *, readers: int = 2, busy_timeout_ms: int = 5000) -> None:
        self.path = path
        self.n_readers = max(1, readers) if path != ":memory:" else 0
        self.busy_timeout_ms = busy_timeout_ms
        self._writer: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all: list[aiosqlite.Connection] = []

    @classmethod
    def from_config(cls, options: dict[str, Any], ctx: PluginContext) -> SQLiteDatabase:
        path = options.get("path") or os.path.join(ctx.data_dir, "pierre.db")
        if path != ":memory:":
            path = ctx.config.resolve_path(str(path))
        return cls(path, readers=int(options.get("readers", 2)),
                   busy_timeout_ms=int(options.get("busy_timeout_ms", 5000)))

    async def _open(self) -> aiosqlite.Connection:
        db = await aiosqlite.connect(self.path, isolation_level=None)
        db.row_factory = sqlite3.Row
        for pragma in (f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}",
                       "PRAGMA foreign_keys = ON", "PRAGMA synchronous = NORMAL"):
            async with db.execute(pragma):
                pass
        self._all.append(db)
        return db

    async def start(self) -> None:
        if self.path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        try:
            self._writer = await self._open()
            if self.path != ":memory:":
                await (await self._writer.execute("PRAGMA journal_mode = WAL")).close()
            for _ in range(self.n_readers):
                self._readers.put_nowait(await self._open())
        except sqlite3.Error as exc:
            await self.close()
            raise PierreError(f"cannot open the SQLite database {self.path}: {exc}") from exc

    async def close(self) -> None:
        for db in self._all:
            try:
                await db.close()
            except Exception:  # closing must not raise during shutdown
                pass
        self._all.clear()
        self._writer = None

    def _need(self) -> aiosqlite.Connection:
        if self._writer is None:
            raise ServiceUnavailable("the database is not open")
        return self._writer

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Conn]:
        if self.n_readers == 0:
            async with self._write_lock:
                yield _SqliteConn(self._need())
            return
        self._need()
        db = await self._readers.get()
        try:
            yield _SqliteConn(db)
        finally:
            self._readers.put_nowait(db)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Conn]:
        async with self._write_lock:
            db = self._need()
            await db.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteConn(db)
            except BaseException:
                await db.execute("ROLLBACK")
                raise
            await db.execute("COMMIT")

    def ts(self, v: datetime | None) -> Any:
        # Fixed-width UTC ISO text, so string comparison is time comparison.
        return None if v is None else v.astimezone(UTC).isoformat(timespec="microseconds")

    def day(self, v: date) -> Any:
        return v.isoformat()
