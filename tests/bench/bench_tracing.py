"""Tracing overhead per call: the disabled span path next to no span at all (the claim is
"off costs ~nothing"), and the live path for scale (OpenTelemetry SDK, batch processor,
in-memory exporter, so no network in the figure).

Run: .venv/bin/python tests/bench/bench_tracing.py [--n 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pierre.ops import tracing
from pierre.ops.tracing import tracer


def _best_ns(fn: Callable[[int], None], n: int, rounds: int = 5) -> float:
    """Best of `rounds` (noise only ever adds time), per call, in nanoseconds."""
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter_ns()
        fn(n)
        best = min(best, (time.perf_counter_ns() - t) / n)
    return best


def _bare(n: int) -> None:
    for i in range(n):
        _work(i)


def _work(i: int) -> int:
    return i + 1


def _spanned(n: int) -> None:
    # The shape of the tool span in pierre.tools.invoke: f-string name, attribute dict, set().
    for i in range(n):
        label = "get_activities"
        with tracer.span(f"execute_tool {label}", {"gen_ai.tool.name": label,
                                                   "pierre.transport": "mcp"}) as span:
            _work(i)
            span.set("pierre.tool.outcome", "ok")


async def _inner() -> int:
    return 1


async def _awaited(n: int) -> None:
    for _ in range(n):
        await _inner()


async def _gated(n: int) -> None:
    # The shape of the MCP request wrapper when tracing is off: one check, one extra await.
    async def handle() -> int:
        if not tracer.enabled:
            return await _inner()
        return 0

    for _ in range(n):
        await handle()


def _async_ns(coro_fn: Callable[[int], object], n: int) -> float:
    loop = asyncio.new_event_loop()
    try:
        best = float("inf")
        for _ in range(5):
            t = time.perf_counter_ns()
            loop.run_until_complete(coro_fn(n))  # type: ignore[arg-type]
            best = min(best, (time.perf_counter_ns() - t) / n)
        return best
    finally:
        loop.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    n = ap.parse_args().n
    assert not tracer.enabled
    imported_before = any(m.startswith("opentelemetry") for m in sys.modules)
    bare = _best_ns(_bare, n)
    off = _best_ns(_spanned, n)
    awaited = _async_ns(_awaited, n // 4)
    gated = _async_ns(_gated, n // 4)
    print(f"tracing off, tool-span shape : {off:7.0f} ns/call vs {bare:5.0f} ns bare call "
          f"-> +{off - bare:.0f} ns per span")
    print(f"tracing off, MCP wrapper     : {gated:7.0f} ns/call vs {awaited:5.0f} ns bare await "
          f"-> +{gated - awaited:.0f} ns per request")
    print(f"opentelemetry imported while off: {'yes' if imported_before else 'no'}")

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(BatchSpanProcessor(InMemorySpanExporter(),
                                                   max_queue_size=1_000_000))
    tracer._backend = tracing._Backend(provider.get_tracer("bench"))
    try:
        on = _best_ns(_spanned, max(1, n // 50), rounds=3)
    finally:
        tracer._backend = None
        provider.shutdown()
    print(f"tracing on (SDK, in-memory)  : {on:7.0f} ns/call -> +{on - bare:.0f} ns per span")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
