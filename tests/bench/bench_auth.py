"""Authentication cost: JWT validation and API-key lookup, p50/p99, each next to a
baseline measured in the same run (a bare Ed25519 verify; a bare `SELECT 1` on the same
SQLite plugin), so a slow machine is visible as such. Targets: JWT < 50 µs (cached path,
which every call after a connection's first takes), API key < 1 ms p99.

Run: .venv/bin/python tests/bench/bench_auth.py [--n 2000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def _pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))]


async def _time_async(fn: Callable[[], Awaitable[Any]], n: int) -> list[float]:
    for _ in range(min(200, n)):
        await fn()
    out = []
    for _ in range(n):
        t = time.perf_counter_ns()
        await fn()
        out.append((time.perf_counter_ns() - t) / 1000)
    return out


def _time_sync(fn: Callable[[], Any], n: int) -> list[float]:
    for _ in range(min(200, n)):
        fn()
    out = []
    for _ in range(n):
        t = time.perf_counter_ns()
        fn()
        out.append((time.perf_counter_ns() - t) / 1000)
    return out


def _row(name: str, us: list[float], target: float | None = None) -> str:
    p50, p99 = statistics.median(us), _pct(us, 0.99)
    verdict = "" if target is None else ("  OK" if p99 < target else f"  OVER {target:g} µs")
    return f"{name:<38} p50 {p50:9.1f} µs   p99 {p99:9.1f} µs{verdict}"


async def main(n: int) -> int:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from pierre.auth.audit import AuditLog
    from pierre.auth.service import IdentityService
    from pierre.config.schema import Config, SecurityConfig
    from pierre.crypto import open_crypto
    from pierre.db.sqlite import SQLiteDatabase
    from pierre.plugins.base import PluginContext

    tmp = Path(tempfile.mkdtemp(prefix="pierre-bench-"))
    cfg = Config(security=SecurityConfig(master_key="ef" * 32), base_dir=str(tmp))
    db = SQLiteDatabase(str(tmp / "bench.db"))
    await db.start()
    await db.migrate()
    crypto = await open_crypto(cfg, db, PluginContext(config=cfg, data_dir=str(tmp)))
    ident = IdentityService(cfg, db, crypto, AuditLog(db))
    tenant = await ident.create_tenant("bench")
    user = await ident.create_user(tenant.id, "bench@example.com")
    for i in range(1000):  # a realistically sized key table
        await ident.create_api_key(tenant.id, user.id, name=f"k{i}")
    key = (await ident.create_api_key(tenant.id, user.id, name="bench")).key
    token = (await ident.tokens.issue(
        (await ident.authenticate(key, transport="bench")).__class__(
            tenant_id=tenant.id, user_id=user.id)))[0]

    priv = ed25519.Ed25519PrivateKey.generate()
    msg, sig = b"x" * 200, priv.sign(b"x" * 200)
    pub = priv.public_key()

    async def jwt_cold() -> None:
        ident.tokens.forget(token)
        await ident.tokens.verify(token)

    async def jwt_cached() -> None:
        await ident.authenticate(token, transport="bench")

    async def api_key() -> None:
        await ident.authenticate(key, transport="bench")

    async def api_key_miss() -> None:
        ident._keys.clear()
        await ident.authenticate(key, transport="bench")

    async def select_one() -> None:
        async with db.read() as c:
            await c.fetchrow("SELECT 1 AS x")

    rows = [
        "Pierre auth benchmark (same run baselines)",
        _row("baseline: Ed25519 verify (bare)", _time_sync(lambda: pub.verify(sig, msg), n)),
        _row("JWT validation, first sight", await _time_async(jwt_cold, n)),
        _row("JWT validation (per call)", await _time_async(jwt_cached, n), 50),
        _row("baseline: SELECT 1 (SQLite plugin)", await _time_async(select_one, n)),
        _row("API-key lookup, database read", await _time_async(api_key_miss, n), 1000),
        _row("API-key lookup (per call, 1 s reuse)", await _time_async(api_key, n), 1000),
    ]
    print("\n".join(rows))
    await db.close()
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    import uvloop

    sys.exit(uvloop.run(main(ap.parse_args().n)))
