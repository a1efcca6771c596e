"""Per-tool latency on cached data for a year of synthetic activities, in process.

Real Services (SQLite in a temp dir, memory cache and limiter, ProviderManager with
the synthetic athlete). Each tool is warmed once (fills the provider cache), then
timed; the baseline is orjson.dumps of the same result (the cost of merely encoding
it). Target: p99 < 10 ms per tools/call. Run: .venv/bin/python tests/bench/bench_tools.py
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.tools.harness import call, new_user, real_services

N = 200


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


async def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        async with real_services(Path(tmp)) as services:
            ctx = await new_user(services)
            year = await call(ctx, "get_activities", {"limit": 1})
            aid = year["activities"][0]["provider_id"]
            goal = await call(ctx, "set_goal", {
                "title": "bench", "goal_type": "distance", "target_value": 500,
                "target_date": (date.today() + timedelta(days=90)).isoformat()})
            gid = goal["goal"]["goal_id"]
            args: dict[str, dict[str, Any]] = {
                "get_activity": {"activity_id": aid}, "analyze_activity": {"activity_id": aid},
                "calculate_metrics": {"activity_id": aid},
                "get_activity_intelligence": {"activity_id": aid},
                "compare_activities": {"activity_id": aid},
                "track_progress": {"goal_id": gid}, "analyze_goal_feasibility": {"goal_id": gid},
                "analyze_training_load": {"days": 365},
                "set_fitness_config": {"ftp_w": 250},
            }
            skip = {"set_goal", "connect_provider", "disconnect_provider"}
            print(f"{'tool':32} {'p50 ms':>8} {'p99 ms':>8} {'json p50':>9}  (n={N}, cached)")
            worst = 0.0
            for spec in services.tools.all():
                if spec.name in skip:
                    continue
                a = args.get(spec.name, {})
                result = await call(ctx, spec.name, a)  # warm the provider cache
                times, base = [], []
                for _ in range(N):
                    t0 = time.perf_counter()
                    result = await spec.handler(ctx, dict(a))
                    t1 = time.perf_counter()
                    orjson.dumps(result)
                    t2 = time.perf_counter()
                    times.append((t1 - t0) * 1000)
                    base.append((t2 - t1) * 1000)
                p99 = pct(times, 0.99)
                worst = max(worst, p99)
                print(f"{spec.name:32} {statistics.median(times):8.2f} {p99:8.2f} "
                      f"{statistics.median(base):9.3f}")
            n_year = len((await call(ctx, "analyze_training_load", {"days": 365}))
                         ["data_used"]["activity_ids"])
            verdict = "met" if worst < 10.0 else "MISSED"
            print(f"activities in the year analysed: {n_year}; worst p99 {worst:.2f} ms "
                  f"(target < 10 ms: {verdict})")
            return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
