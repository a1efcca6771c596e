"""OpenTelemetry tracing behind a no-op facade: spans cost ~nothing until `[tracing]` is on.

Call sites use the module-level :data:`tracer`::

    with tracer.span("execute_tool get_activities", {"gen_ai.tool.name": name}) as span:
        ...
        span.set("pierre.tool.outcome", "ok")

While tracing is off, ``tracer.span`` returns one shared null context whose methods do
nothing, and opentelemetry is never imported (the daemon stays as lean as without the
extra). :func:`start` (called once by the wiring when ``[tracing] enabled = true``) imports
the SDK, builds a tracer provider with a ``BatchSpanProcessor`` and an OTLP/HTTP exporter,
and switches the facade to live spans; the returned closer flushes and shuts it down.

What may go in an attribute: names Pierre chose (routes, tool names, providers, statuses,
counts). Never tokens, e-mail addresses, request paths with ids, or error messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pierre.errors import ConfigError

if TYPE_CHECKING:
    from types import TracebackType

    from pierre.config.schema import TracingConfig

AttrValue = str | bool | int | float
Attrs = Mapping[str, AttrValue]

# Span kinds by name, so call sites need no opentelemetry import.
INTERNAL: Final = "internal"
SERVER: Final = "server"
CLIENT: Final = "client"


class NullSpan:
    """The span handed out while tracing is off: every method is a no-op."""

    __slots__ = ()
    recording = False

    def __enter__(self) -> NullSpan:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        return None

    def set(self, key: str, value: AttrValue) -> None:
        """Set one attribute (no-op here)."""

    def fail(self, description: str) -> None:
        """Mark the span as failed with a short, secret-free reason (no-op here)."""


NULL_SPAN: Final = NullSpan()


class Tracer:
    """The facade every call site shares; a live backend is plugged in by :func:`start`."""

    __slots__ = ("_backend",)

    def __init__(self) -> None:
        self._backend: _Backend | None = None

    @property
    def enabled(self) -> bool:
        return self._backend is not None

    def span(self, name: str, attrs: Attrs | None = None, kind: str = INTERNAL
             ) -> NullSpan | LiveSpan:
        """A context manager for one span, child of the current one (contextvars)."""
        backend = self._backend
        if backend is None:
            return NULL_SPAN
        return LiveSpan(backend, name, attrs, kind, None)

    def server_span(self, name: str, headers: Mapping[str, str], attrs: Attrs | None = None
                    ) -> NullSpan | LiveSpan:
        """A SERVER span continuing the caller's W3C ``traceparent`` when one is sent."""
        backend = self._backend
        if backend is None:
            return NULL_SPAN
        return LiveSpan(backend, name, attrs, SERVER, backend.extract(headers))


tracer: Final = Tracer()


class _Backend:
    """The opentelemetry objects, imported only when tracing is turned on."""

    def __init__(self, otel_tracer: Any) -> None:
        from opentelemetry import context, trace
        from opentelemetry.trace import SpanKind, Status, StatusCode
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        self.tracer = otel_tracer
        self.attach = context.attach
        self.detach = context.detach
        self.in_context = trace.set_span_in_context
        self.kinds = {INTERNAL: SpanKind.INTERNAL, SERVER: SpanKind.SERVER,
                      CLIENT: SpanKind.CLIENT}
        self.error = lambda description: Status(StatusCode.ERROR, description)
        self.propagator = TraceContextTextMapPropagator()

    def extract(self, headers: Mapping[str, str]) -> Any:
        return self.propagator.extract(headers) if "traceparent" in headers else None


class LiveSpan:
    """One opentelemetry span, current for the duration of the ``with`` block."""

    __slots__ = ("_attrs", "_backend", "_context", "_failed", "_kind", "_name", "_span",
                 "_token")
    recording = True

    def __init__(self, backend: _Backend, name: str, attrs: Attrs | None, kind: str,
                 context: Any) -> None:
        self._backend = backend
        self._name = name
        self._attrs = attrs
        self._kind = kind
        self._context = context
        self._failed = False
        self._span: Any = None
        self._token: Any = None

    def __enter__(self) -> LiveSpan:
        b = self._backend
        # Exceptions are not recorded: their messages and tracebacks may carry personal data.
        self._span = b.tracer.start_span(
            self._name, context=self._context, kind=b.kinds[self._kind],
            attributes=self._attrs, record_exception=False, set_status_on_exception=False)
        self._token = b.attach(b.in_context(self._span, self._context))
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if et is not None and not self._failed:
                self.fail(et.__name__)
        finally:
            self._backend.detach(self._token)
            self._span.end()

    def set(self, key: str, value: AttrValue) -> None:
        self._span.set_attribute(key, value)

    def fail(self, description: str) -> None:
        self._failed = True
        self._span.set_status(self._backend.error(description))


# -- start and stop ----------------------------------------------------------------
def read_headers_file(path: str) -> dict[str, str]:
    """`Name: value` lines (blank lines and `#` comments skipped)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"tracing.headers_file: cannot read {path}: "
                           f"{exc.strerror or exc}"]) from None
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise ConfigError([f"tracing.headers_file: line {n}: expected 'Name: value'"])
        out[name.strip()] = value.strip()
    return out


def check(cfg: TracingConfig) -> list[str]:
    """Problems with the section, each with its key path (empty when usable).

    Run by the config loader too; wrong types were already reported there, so skipped here.
    """
    problems = []
    ratio = cfg.sample_ratio
    if isinstance(ratio, float | int) and not 0.0 <= ratio <= 1.0:
        problems.append(f"tracing.sample_ratio: expected 0..1, got {ratio}")
    url = cfg.otlp_endpoint
    if isinstance(url, str) and not url.startswith(("http://", "https://")):
        problems.append("tracing.otlp_endpoint: expected an http:// or https:// URL")
    if cfg.service_name == "":
        problems.append("tracing.service_name: must not be empty")
    return problems


def start(cfg: TracingConfig, *, version: str, base_dir: str = ".",
          schedule_delay_ms: float | None = None) -> Callable[[], Awaitable[None]]:
    """Turn live spans on; return the closer that flushes pending spans and stops export.

    Raises ConfigError when the section is invalid or the `otel` extra is not installed.
    """
    problems = check(cfg)
    if problems:
        raise ConfigError(problems)
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
    except ImportError:
        raise ConfigError(["tracing.enabled: needs the OpenTelemetry packages; install "
                           "Pierre with the `otel` extra (pip install 'pierre[otel]')"]) from None
    headers = dict(cfg.headers)
    if cfg.headers_file:
        p = Path(cfg.headers_file)
        headers.update(read_headers_file(str(p if p.is_absolute() else Path(base_dir) / p)))
    provider = TracerProvider(
        sampler=ParentBased(TraceIdRatioBased(cfg.sample_ratio)),
        resource=Resource.create({"service.name": cfg.service_name,
                                  "service.version": version}),
        shutdown_on_exit=False)
    exporter = OTLPSpanExporter(endpoint=cfg.otlp_endpoint, headers=headers or None,
                                timeout=10)
    provider.add_span_processor(BatchSpanProcessor(exporter,
                                                   schedule_delay_millis=schedule_delay_ms))
    tracer._backend = _Backend(provider.get_tracer("pierre", version))

    async def stop() -> None:
        tracer._backend = None
        # Shutdown joins the export thread after a last flush: keep it off the event loop.
        await asyncio.to_thread(provider.shutdown)

    return stop
