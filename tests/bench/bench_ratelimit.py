"""Rate-limit check cost: memory and Redis backends, each next to a baseline from the same run.

Prints checks/s and p50/p99 per check for:
- memory `check` (one bucket) and `check_many` (key + user + tenant buckets and a
  monthly quota: what one MCP call costs), against a bare dict update;
- Redis `check_many` (one EVALSHA) against a bare PING, on one connection;
- Redis throughput with 2 processes hammering the same Redis concurrently.
Targets: < 10 us per memory check, p99 < 1 ms per Redis check on loopback.

Usage: python tests/bench/bench_ratelimit.py [--redis redis://127.0.0.1:6379/0] [-n 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from pierre.plugins.ratelimit import Bucket, Quota
from pierre.ratelimit.memory import MemoryRateLimiter

BUCKETS = (Bucket("t:bench:c:key1", 10**9, 1e6, "key"), Bucket("t:bench:u:u1", 10**9, 1e6, "user"),
           Bucket("t:bench:all", 10**9, 1e6, "tenant"))
QUOTAS = (Quota("t:bench:c:key1:m:202601", 10**12, 3600.0),)


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def report(name: str, samples_ns: list[float], wall_s: float) -> None:
    n = len(samples_ns)
    print(f"  {name:<42} {n / wall_s:>12,.0f} checks/s   p50 {pct(samples_ns, 0.5) / 1e3:8.2f} us"
          f"   p99 {pct(samples_ns, 0.99) / 1e3:8.2f} us   mean "
          f"{statistics.fmean(samples_ns) / 1e3:8.2f} us")


async def timed(n: int, op: Callable[[], Awaitable[Any]]) -> tuple[list[float], float]:
    for _ in range(min(1000, n)):  # warm up
        await op()
    samples: list[float] = []
    clock = time.perf_counter_ns
    start = time.perf_counter()
    for _ in range(n):
        t0 = clock()
        await op()
        samples.append(clock() - t0)
    return samples, time.perf_counter() - start


async def bench_memory(n: int) -> None:
    print("memory backend (one process, no I/O)")
    table: dict[str, list[float]] = {}

    async def bare() -> None:  # the floor: an awaited dict update
        entry = table.get("k")
        table["k"] = [entry[0] + 1.0 if entry else 1.0, 0.0]

    lim = MemoryRateLimiter(max_entries=100_000)
    report("baseline: awaited dict update", *await timed(n, bare))
    report("check (1 bucket)", *await timed(n, lambda: lim.check("t:bench:c:k", 10**9, 1e6)))
    report("check_many (3 buckets + quota)", *await timed(n, lambda: lim.check_many(BUCKETS,
                                                                                     QUOTAS)))


async def bench_redis(url: str, n: int) -> None:
    import redis.asyncio as aioredis
    from pierre_redis.ratelimit import RedisRateLimiter

    prefix = f"pierrebench:{uuid.uuid4().hex}:"
    lim = RedisRateLimiter({"url": url, "prefix": prefix})
    raw = aioredis.Redis.from_url(url)
    try:
        await lim.start()
        print(f"redis backend ({url}, one connection, sequential)")
        report("baseline: PING", *await timed(n, raw.ping))
        report("check (1 bucket, EVALSHA)", *await timed(
            n, lambda: lim.check("t:bench:c:k", 10**9, 1e6)))
        report("check_many (3 buckets + quota, EVALSHA)", *await timed(
            n, lambda: lim.check_many(BUCKETS, QUOTAS)))
    finally:
        keys = [k async for k in raw.scan_iter(match=prefix + "*")]
        if keys:
            await raw.unlink(*keys)
        await raw.aclose()
        await lim.close()


def _worker(url: str, prefix: str, seconds: float, concurrency: int, out: Any) -> None:
    async def run() -> int:
        from pierre_redis.ratelimit import RedisRateLimiter

        lim = RedisRateLimiter({"url": url, "prefix": prefix, "max_connections": concurrency})
        await lim.start()
        done = 0
        deadline = time.perf_counter() + seconds

        async def loop() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                await lim.check_many(BUCKETS, QUOTAS)
                done += 1

        await asyncio.gather(*(loop() for _ in range(concurrency)))
        await lim.close()
        return done

    out.put(asyncio.run(run()))


def bench_redis_processes(url: str, seconds: float, procs: int = 2, concurrency: int = 16) -> None:
    print(f"redis backend, {procs} processes x {concurrency} concurrent callers, "
          f"same buckets, {seconds:.0f} s")
    prefix = f"pierrebench:{uuid.uuid4().hex}:"
    ctx = mp.get_context("spawn")
    out: Any = ctx.Queue()
    workers = [ctx.Process(target=_worker, args=(url, prefix, seconds, concurrency, out))
               for _ in range(procs)]
    for w in workers:
        w.start()
    counts = [out.get(timeout=seconds + 30) for _ in workers]
    for w in workers:
        w.join()
    total = sum(counts)
    print(f"  {'check_many total':<42} {total / seconds:>12,.0f} checks/s   "
          f"(per process: {', '.join(f'{c / seconds:,.0f}' for c in counts)})")

    async def cleanup() -> None:
        import redis.asyncio as aioredis

        raw = aioredis.Redis.from_url(url)
        keys = [k async for k in raw.scan_iter(match=prefix + "*")]
        if keys:
            await raw.unlink(*keys)
        await raw.aclose()

    asyncio.run(cleanup())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("-n", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    asyncio.run(bench_memory(args.n * 5))
    try:
        asyncio.run(bench_redis(args.redis, args.n))
        bench_redis_processes(args.redis, args.seconds)
    except Exception as exc:  # Redis not running: the memory figures still stand
        print(f"redis benchmark skipped: {type(exc).__name__}: {exc}")


if __name__ == "__main__":
    main()
