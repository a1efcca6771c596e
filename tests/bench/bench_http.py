"""Authenticated REST throughput: `GET /api/me` with an API key on the real daemon, next to
a bare aiohttp handler (same loop policy, its own process) measured in the same run.

Both servers run as separate processes on loopback; one client process drives each with W
concurrent keep-alive workers for a fixed time and reports req/s and p50/p99 latency. The
daemon runs with the production logging level (one JSON line per request) and tiers wide
enough that the rate limiter checks every call but never refuses. Anything other than
200 is counted and printed.

Run: .venv/bin/python tests/bench/bench_http.py [--seconds 5] [--workers 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

BARE = """
import json, sys, uvloop
from aiohttp import web

async def me(request):
    return web.json_response({"id": "u1", "email": "bench@example.com", "tenant_id": "t1"})

async def main():
    app = web.Application()
    app.router.add_get("/api/me", me)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    print(json.dumps({"port": port}), flush=True)
    await __import__("asyncio").Event().wait()

uvloop.run(main())
"""


async def load(url: str, headers: dict[str, str], seconds: float, workers: int
               ) -> dict[str, Any]:
    import aiohttp

    lat: list[float] = []
    bad: dict[int, int] = {}
    conn = aiohttp.TCPConnector(limit=workers, force_close=False)
    async with aiohttp.ClientSession(connector=conn, headers=headers) as http:
        for _ in range(50):  # warm up connections and the server's caches
            async with http.get(url) as r:
                await r.read()
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < stop:
                t = time.perf_counter_ns()
                async with http.get(url) as r:
                    await r.read()
                    status = r.status
                lat.append((time.perf_counter_ns() - t) / 1e6)
                if status != 200:
                    bad[status] = bad.get(status, 0) + 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(workers)))
        took = time.perf_counter() - t0
    lat.sort()
    return {"rps": len(lat) / took, "p50": statistics.median(lat),
            "p99": lat[min(len(lat) - 1, int(0.99 * len(lat)))], "n": len(lat), "bad": bad}


def fmt(name: str, r: dict[str, Any], base: dict[str, Any] | None) -> str:
    ratio = f"   {r['rps'] / base['rps']:5.1%} of bare" if base else ""
    bad = f"   non-200: {r['bad']}" if r["bad"] else ""
    return (f"  {name:<36} {r['rps']:8.0f} req/s   p50 {r['p50']:6.2f} ms   "
            f"p99 {r['p99']:6.2f} ms   ({r['n']} requests){ratio}{bad}")


def start_bare() -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, "-c", BARE], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    return proc, int(json.loads(line)["port"])


def start_daemon(tmp: Path) -> tuple[Any, str]:
    from tests.mcp.support import api_key
    from tests.support.daemon import DaemonProcess

    wide = {"capacity": 1_000_000_000, "refill_per_s": 1_000_000.0, "monthly_quota": 0}
    d = DaemonProcess(tmp / "daemon", {
        "logging": {"level": "info", "format": "json"},
        "ratelimit": {"tiers": {"starter": wide}, "user": wide, "tenant": wide},
    })
    d.start()
    return d, api_key(d, "starter", "bench")


async def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--workers", type=int, default=32)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pierre-bench-http-"))
    bare_proc, bare_port = start_bare()
    daemon = None
    try:
        daemon, key = await asyncio.to_thread(start_daemon, tmp)
        print(f"GET /api/me, {a.workers} keep-alive workers, {a.seconds:g} s each, "
              f"client and servers on this machine (loopback)")
        base = await load(f"http://127.0.0.1:{bare_port}/api/me", {}, a.seconds, a.workers)
        print(fmt("bare aiohttp handler (ceiling)", base, None))
        auth = {"Authorization": f"Bearer {key}"}
        pierre = await load(f"{daemon.http_url}/api/me", auth, a.seconds, a.workers)
        print(fmt("pierre, API key (auth+limit+log)", pierre, base))
        assert not pierre["bad"] or sum(pierre["bad"].values()) < pierre["n"], "all failed"
    finally:
        bare_proc.terminate()
        bare_proc.wait(5)
        if daemon is not None:
            daemon.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    import uvloop

    os.environ.setdefault("PYTHONPATH", str(ROOT))
    raise SystemExit(uvloop.run(main()))
