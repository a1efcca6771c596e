"""Database queries/s through the plugins (SQLite and PostgreSQL), next to the bare driver.

For each backend, the same run measures `SELECT 1` straight on the driver (aiosqlite on its
own connection; an asyncpg pool of the same size) as the ceiling, then the repository calls
every request makes: get_user, lookup_api_key (the API-key path), get_connection and
list_stored_activities (30 rows of 300). Each row: queries/s with C concurrent tasks for a
fixed time, and the p50/p99 latency of one query. PostgreSQL uses a throwaway database on
the local server (dropped at the end); it is skipped with a note when the server is down.

Run: .venv/bin/python tests/bench/bench_db.py [--seconds 1.5] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

PG_DSN = os.environ.get("PIERRE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
Op = Callable[[], Awaitable[Any]]


async def measure(op: Op, seconds: float, concurrency: int) -> tuple[float, float, float]:
    """(queries/s, p50 µs, p99 µs) with `concurrency` tasks looping for `seconds`."""
    for _ in range(50):  # warm caches and prepared statements
        await op()
    lat: list[float] = []
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < stop:
            t = time.perf_counter_ns()
            await op()
            lat.append((time.perf_counter_ns() - t) / 1000)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    took = time.perf_counter() - t0
    lat.sort()
    return len(lat) / took, statistics.median(lat), lat[min(len(lat) - 1, int(0.99 * len(lat)))]


def row(name: str, qps: float, p50: float, p99: float, base: float | None) -> str:
    ratio = f"  {qps / base:5.0%} of bare" if base else ""
    return f"  {name:<28} {qps:9.0f} q/s   p50 {p50:8.1f} µs   p99 {p99:8.1f} µs{ratio}"


async def seed(db: Any) -> dict[str, Any]:
    """One tenant with 200 users and 1000 keys; the measured user has 300 activities."""
    from pierre.plugins.database import StoredActivity

    tenant = await db.create_tenant(f"bench-{uuid.uuid4().hex[:6]}")
    users = [await db.create_user(tenant.id, f"u{i}@bench.example") for i in range(200)]
    me = users[17]
    hashes = []
    for i in range(1000):
        h = hashlib.sha256(f"key{i}".encode()).hexdigest()
        hashes.append(h)
        await db.create_api_key(tenant.id, users[i % 200].id, name=f"k{i}", prefix=f"pk_{i}",
                                key_hash=h, tier="starter", expires_at=None)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    acts = [StoredActivity(str(i), t0 + timedelta(hours=6 * i), "Run" if i % 2 else "Ride",
                           f"d{i}", {"distance_m": 1000.0 * i, "name": f"activity {i}"})
            for i in range(300)]
    await db.upsert_activities(tenant.id, me.id, "localfiles", acts)
    await db.upsert_connection(tenant.id, me.id, "localfiles", access_token_enc=None,
                               refresh_token_enc=None, expires_at=None, scopes=[],
                               provider_user_id=None, status="connected", meta={})
    return {"tenant": tenant.id, "user": me.id, "hash": hashes[500]}


def plugin_ops(db: Any, s: dict[str, Any]) -> list[tuple[str, Op]]:
    t, u = s["tenant"], s["user"]

    async def get_user() -> Any:
        assert await db.get_user(t, u) is not None

    async def lookup_api_key() -> Any:
        assert await db.lookup_api_key(s["hash"]) is not None

    async def get_connection() -> Any:
        assert await db.get_connection(t, u, "localfiles") is not None

    async def list_activities() -> Any:
        assert len(await db.list_stored_activities(t, u, "localfiles", limit=30)) == 30

    async def select_1() -> Any:
        async with db.read() as con:
            await con.fetchrow("SELECT 1")

    return [("plugin SELECT 1", select_1), ("get_user", get_user),
            ("lookup_api_key", lookup_api_key), ("get_connection", get_connection),
            ("list_stored_activities(30)", list_activities)]


async def run_backend(title: str, db: Any, bare: Op, seconds: float, conc: int) -> None:
    print(f"{title} ({conc} concurrent tasks, {seconds:g} s per row)")
    await db.migrate()
    s = await seed(db)
    base, p50, p99 = await measure(bare, seconds, conc)
    print(row("bare driver SELECT 1", base, p50, p99, None))
    for name, op in plugin_ops(db, s):
        print(row(name, *(await measure(op, seconds, conc)), base), flush=True)


async def sqlite(seconds: float, conc: int) -> None:
    import aiosqlite

    from pierre.db.sqlite import SQLiteDatabase

    tmp = Path(tempfile.mkdtemp(prefix="pierre-bench-db-"))
    db = SQLiteDatabase(str(tmp / "bench.db"))
    await db.start()
    raw = await aiosqlite.connect(str(tmp / "bench.db"))
    try:
        async def bare() -> None:
            async with raw.execute("SELECT 1") as cur:
                await cur.fetchone()

        await run_backend("SQLite (WAL, one writer + 2 readers; aiosqlite baseline on one "
                          "connection)", db, bare, seconds, conc)
    finally:
        await raw.close()
        await db.close()
        shutil.rmtree(tmp, ignore_errors=True)


async def postgres(seconds: float, conc: int) -> None:
    try:
        import asyncpg
        from pierre_postgres import PostgresDatabase
    except ImportError as exc:
        print(f"PostgreSQL: skipped ({exc})")
        return
    try:
        admin = await asyncpg.connect(PG_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"PostgreSQL: skipped, server not reachable ({type(exc).__name__})")
        return
    name = f"pierre_bench_{uuid.uuid4().hex[:10]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = urlunsplit(urlsplit(PG_DSN)._replace(path=f"/{name}"))
    pool_size = 10
    db = PostgresDatabase(dsn, min_size=pool_size, max_size=pool_size)
    pool = None
    try:
        await db.start()
        pool = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)
        version = await pool.fetchval("SHOW server_version")

        async def bare() -> None:
            await pool.fetchval("SELECT 1")

        await run_backend(f"PostgreSQL {version} on loopback (pool of {pool_size}; asyncpg "
                          "pool baseline of the same size)", db, bare, seconds, conc)
    finally:
        if pool is not None:
            await pool.close()
        await db.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=1.5)
    ap.add_argument("--concurrency", type=int, default=16)
    a = ap.parse_args()
    await sqlite(a.seconds, a.concurrency)
    print()
    await postgres(a.seconds, a.concurrency)
    return 0


if __name__ == "__main__":
    import uvloop  # the daemon's loop

    raise SystemExit(uvloop.run(main()))
