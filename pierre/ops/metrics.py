"""Prometheus metrics, one registry per daemon (so tests and embedders don't share state)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.connections = Gauge(
            "pierre_connections_open", "Open client connections", ["transport"], registry=r
        )
        self.requests = Counter(
            "pierre_requests_total", "Requests handled", ["transport", "method", "outcome"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "pierre_request_seconds", "Request latency", ["transport"], registry=r,
            buckets=LATENCY_BUCKETS,
        )
        self.tool_calls = Counter(
            "pierre_tool_calls_total", "Tool calls", ["tool", "outcome"], registry=r
        )
        self.tool_seconds = Histogram(
            "pierre_tool_seconds", "Tool call latency", ["tool"], registry=r,
            buckets=LATENCY_BUCKETS,
        )
        self.ratelimit_refusals = Counter(
            "pierre_ratelimit_refusals_total", "Calls refused by a rate limit", ["scope"],
            registry=r,
        )
        self.provider_calls = Counter(
            "pierre_provider_calls_total", "Upstream provider calls", ["provider", "status"],
            registry=r,
        )
        self.token_refreshes = Counter(
            "pierre_token_refreshes_total", "Provider token refreshes", ["provider", "outcome"],
            registry=r,
        )
        self.cache_lookups = Counter(
            "pierre_cache_lookups_total", "Provider cache lookups", ["result"], registry=r
        )
        self.security_events = Counter(
            "pierre_security_events_total", "Security-relevant events", ["event"], registry=r
        )
        self.db_pool_in_use = Gauge(
            "pierre_db_pool_in_use", "Database connections in use", registry=r
        )
        self.info = Gauge("pierre_build_info", "Build information", ["version"], registry=r)

    def track_db_pool(self, fn: Callable[[], float]) -> None:
        self.db_pool_in_use.set_function(fn)

    def track_connections(self, transport: str, fn: Callable[[], float]) -> None:
        """Read the count when scraped: no inc/dec pairs to keep balanced on error paths."""
        self.connections.labels(transport).set_function(fn)

    def refused(self, scope: str | None) -> None:
        self.ratelimit_refusals.labels(scope or "unknown").inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


def outcome(exc: BaseException | None) -> str:
    """A bounded label for how a call ended: "ok", an upstream HTTP status, or an error code.

    Never the message (unbounded, and may carry user data)."""
    if exc is None:
        return "ok"
    status = getattr(exc, "status", None)
    if isinstance(status, int):
        return str(status)
    code = getattr(exc, "code", None)
    if isinstance(code, str) and code:
        return code
    return "error" if isinstance(exc, Exception) else "cancelled"


def of(services: Any) -> Metrics | None:
    """The daemon's metrics, or None in in-process tests that built Services without them."""
    m = getattr(services, "metrics", None)
    return m if isinstance(m, Metrics) else None
