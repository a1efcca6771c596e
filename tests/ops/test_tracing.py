"""OpenTelemetry tracing: spans reach an OTLP/HTTP collector; off means not even imported.

The collector is a small aiohttp server decoding the exporter's protobuf bodies, the way a
real OpenTelemetry Collector's OTLP/HTTP receiver does.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from mcp import ClientSession
from mcp.client.websocket import websocket_client

from pierre.config import load_config
from pierre.config.schema import TracingConfig
from pierre.errors import ConfigError
from pierre.ops import tracing
from pierre.providers.resilience import HttpApi
from tests.mcp.support import _find_key
from tests.support.daemon import ROOT, DaemonProcess, base_config

pytest.importorskip("opentelemetry.sdk")
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
KIND_SERVER, KIND_CLIENT = 2, 3  # opentelemetry.proto.trace.v1.Span.SpanKind
STATUS_ERROR = 2
_n = itertools.count()


@dataclass
class Collected:
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_id: str
    status: int
    attrs: dict[str, Any]


@dataclass
class Collector:
    url: str
    spans: list[Collected] = field(default_factory=list)
    resources: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    def named(self, name: str) -> list[Collected]:
        return [s for s in self.spans if s.name == name]

    async def wait_for(self, *names: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not all(self.named(n) for n in names):
            if time.monotonic() > deadline:
                pytest.fail(f"spans {names} not all exported; got {[s.name for s in self.spans]}")
            await asyncio.sleep(0.05)


def _value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    return getattr(v, kind) if kind else None


@pytest.fixture
async def collector() -> AsyncIterator[Collector]:
    col = Collector(url="")

    async def export(request: web.Request) -> web.Response:
        body = ExportTraceServiceRequest()
        body.ParseFromString(await request.read())
        col.headers.append(dict(request.headers))
        for rs in body.resource_spans:
            col.resources.append({a.key: _value(a.value) for a in rs.resource.attributes})
            for ss in rs.scope_spans:
                for sp in ss.spans:
                    col.spans.append(Collected(
                        sp.name, sp.kind, sp.trace_id.hex(), sp.span_id.hex(),
                        sp.parent_span_id.hex(), sp.status.code,
                        {a.key: _value(a.value) for a in sp.attributes}))
        return web.Response(body=ExportTraceServiceResponse().SerializeToString(),
                            content_type="application/x-protobuf")

    app = web.Application()
    app.router.add_post("/v1/traces", export)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    col.url = f"http://127.0.0.1:{port}/v1/traces"
    yield col
    await runner.cleanup()


def _user(d: DaemonProcess) -> tuple[str, str]:
    email = f"trace{next(_n)}@example.com"
    d.cli("admin", "create-tenant", "--name", "tracing", check=False)
    d.cli_json("admin", "create-user", "--tenant", "tracing", "--email", email)
    key = _find_key(d.cli_json("admin", "create-api-key", "--email", email,
                               "--tier", "enterprise"))
    assert key
    return email, key


async def test_spans_for_http_mcp_and_tools_reach_the_otlp_collector(
        daemon_factory: Callable[..., DaemonProcess], collector: Collector) -> None:
    collector_secret = secrets.token_hex(8)
    d: DaemonProcess = await asyncio.to_thread(
        daemon_factory,
        {"tracing": {"enabled": True, "otlp_endpoint": collector.url,
                     "service_name": "pierre-under-test",
                     "headers": {"Authorization": f"Bearer {collector_secret}"}}},
        env={"OTEL_BSP_SCHEDULE_DELAY": "100"})
    email, key = await asyncio.to_thread(_user, d)

    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{d.http_url}/api/me", headers={
                "Authorization": f"Bearer {key}",
                "traceparent": f"00-{trace_id}-{parent_id}-01"}) as resp:
            assert resp.status == 200, await resp.text()
        async with http.get(f"{d.http_url}/api/me") as resp:  # no key: 401, new trace
            assert resp.status == 401
        async with http.post(f"{d.http_url}/mcp", json={
                "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                    "protocolVersion": "2025-06-18", "capabilities": {},
                    "clientInfo": {"name": "t", "version": "1"}}}, headers={
                "Authorization": f"Bearer {key}",
                "Accept": "application/json, text/event-stream"}) as resp:
            assert resp.status == 200, await resp.text()

    async with websocket_client(f"{d.ws_url}?token={key}") as (read, write), \
            ClientSession(read, write) as s:
        await s.initialize()
        ok = await s.call_tool("connect_provider", {"provider": "synthetic"})
        assert not ok.isError, ok.content
        bad = await s.call_tool("get_activities", {"limit": "many"})
        assert bad.isError

    await collector.wait_for("GET /api/me", "POST /mcp", "tools/call connect_provider",
                             "execute_tool connect_provider", "execute_tool get_activities")

    me = collector.named("GET /api/me")
    continued = [s for s in me if s.trace_id == trace_id]
    assert len(continued) == 1, "the traceparent sent must become the span's parent"
    http_span = continued[0]
    assert http_span.parent_id == parent_id and http_span.kind == KIND_SERVER
    assert http_span.attrs["http.route"] == "/api/me"
    assert http_span.attrs["http.request.method"] == "GET"
    assert http_span.attrs["http.response.status_code"] == 200
    refused = [s for s in me if s.trace_id != trace_id]
    assert refused and refused[0].attrs["http.response.status_code"] == 401
    assert refused[0].parent_id == ""  # no traceparent: a root span of its own trace

    (mcp_span,) = collector.named("tools/call connect_provider")
    assert mcp_span.attrs["mcp.method.name"] == "tools/call"
    assert mcp_span.attrs["network.transport"] == "websocket"
    assert mcp_span.attrs["gen_ai.tool.name"] == "connect_provider"
    (tool_span,) = collector.named("execute_tool connect_provider")
    assert tool_span.parent_id == mcp_span.span_id and tool_span.trace_id == mcp_span.trace_id
    assert tool_span.attrs["gen_ai.tool.name"] == "connect_provider"
    assert tool_span.attrs["pierre.tool.outcome"] == "ok"
    assert tool_span.status != STATUS_ERROR
    (failed,) = collector.named("execute_tool get_activities")
    assert failed.attrs["pierre.tool.outcome"] == "invalid_arguments"
    assert failed.status == STATUS_ERROR
    # Streamable HTTP: the MCP request span is a child of the HTTP request span.
    (post,) = collector.named("POST /mcp")
    (over_http,) = [s for s in collector.named("initialize")
                    if s.attrs["network.transport"] == "http"]
    assert over_http.parent_id == post.span_id and over_http.trace_id == post.trace_id

    assert {r.get("service.name") for r in collector.resources} == {"pierre-under-test"}
    assert all(h.get("Authorization") == f"Bearer {collector_secret}"
               for h in collector.headers)
    everything = json.dumps([s.attrs for s in collector.spans] + collector.resources)
    assert key not in everything and key[:16] not in everything
    assert email not in everything
    assert collector_secret not in d.logs()

    # Tracing settings are not applied live: SIGHUP says a restart is needed.
    d.config["tracing"]["sample_ratio"] = 0.5
    d.write_config()
    d.signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while not (reloads := [e for e in d.log_events() if e.get("event") == "config_reloaded"]):
        assert time.monotonic() < deadline, "no config_reloaded after SIGHUP"
        await asyncio.sleep(0.05)
    assert "tracing" in reloads[0]["needs_restart"]


async def test_provider_call_span_carries_status_and_retries(collector: Collector) -> None:
    seen = {"calls": 0}

    async def flaky(request: web.Request) -> web.Response:
        seen["calls"] += 1
        if seen["calls"] == 1:
            return web.json_response({"message": "busy"}, status=503)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/athlete/{id}", flaky)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    token = secrets.token_hex(12)
    stop = tracing.start(TracingConfig(enabled=True, otlp_endpoint=collector.url),
                         version="test", schedule_delay_ms=50)
    api = HttpApi("fakeprov", "Fake", retries=2, backoff_base_s=0.001)
    try:
        assert tracing.tracer.enabled
        resp = await api.request("GET", f"http://127.0.0.1:{port}/athlete/4242", token=token)
        assert resp.status == 200
    finally:
        await api.close()
        await stop()
        await runner.cleanup()
    assert not tracing.tracer.enabled
    await collector.wait_for("fakeprov GET", timeout=5)
    (span,) = collector.named("fakeprov GET")
    assert span.kind == KIND_CLIENT
    assert span.attrs["pierre.provider"] == "fakeprov"
    assert span.attrs["http.response.status_code"] == 200
    assert span.attrs["pierre.provider.retries"] == 1
    assert token not in json.dumps(span.attrs) and "4242" not in json.dumps(span.attrs)


# Runs the daemon in a fresh interpreter where opentelemetry cannot be imported (as on an
# install without the extra), recording every attempt made from Pierre's own modules.
# (Third-party libraries may probe for it themselves: redis-py does, for its own metrics.)
_OFF_PROBE = """
import asyncio, json, sys
from importlib.abc import MetaPathFinder

PIERRE = sys.argv[2]
from_pierre = []

class NoOtel(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "opentelemetry" and not name.startswith("opentelemetry."):
            return None
        f = sys._getframe(1)
        while f is not None and (f.f_code.co_filename.startswith("<frozen")
                                 or "importlib" in f.f_code.co_filename):
            f = f.f_back
        if f is not None and f.f_code.co_filename.startswith(PIERRE):
            from_pierre.append(f"{f.f_code.co_filename}:{f.f_lineno}")
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NoOtel())
import aiohttp
from pierre.config import load_config
from pierre.config.schema import TracingConfig
from pierre.daemon import Daemon
from pierre.errors import ConfigError
from pierre.ops import tracing

async def main():
    d = Daemon(load_config(sys.argv[1]), sys.argv[1])
    await d.start()
    statuses = []
    try:
        host, port = d.services.extras["http_bound"]
        async with aiohttp.ClientSession() as http:
            for path in ("/health", "/api/me"):
                async with http.get(f"http://{host}:{port}{path}") as resp:
                    statuses.append(resp.status)
    finally:
        await d.stop()
    attempts = list(from_pierre)
    try:
        tracing.start(TracingConfig(enabled=True), version="x")
        refusal = None
    except ConfigError as exc:
        refusal = exc.message
    print(json.dumps({"statuses": statuses, "while_serving": attempts,
                      "on_start": from_pierre[len(attempts):], "refusal": refusal,
                      "loaded": sorted(m for m in sys.modules if m.startswith("opentelemetry"))}))

asyncio.run(main())
"""


def test_tracing_off_by_default_never_imports_opentelemetry(tmp_path: Path) -> None:
    from tests.support import toml

    path = tmp_path / "pierre.toml"
    path.write_text(toml.dumps(base_config(tmp_path)))
    res = subprocess.run([sys.executable, "-c", _OFF_PROBE, str(path), str(ROOT / "pierre")],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["statuses"] == [200, 401]  # served HTTP with tracing off, no SDK needed
    assert out["loaded"] == []
    assert out["while_serving"] == []
    # The probe does see Pierre's imports: an explicit start() tries, and is refused clearly.
    assert out["on_start"] and all("ops/tracing.py" in a for a in out["on_start"])
    assert "otel" in out["refusal"] and "tracing.enabled" in out["refusal"]


def test_disabled_span_is_one_shared_no_op() -> None:
    assert not tracing.tracer.enabled
    a = tracing.tracer.span("x", {"k": 1})
    b = tracing.tracer.server_span("y", {"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"})
    assert a is b is tracing.NULL_SPAN
    with a as span:
        span.set("k", "v")
        span.fail("nothing")
    assert not span.recording


@pytest.mark.parametrize(("line", "problem"), [
    ("sample_ratio = 1.5", "tracing.sample_ratio: expected 0..1"),
    ('sample_ratio = "all"', "tracing.sample_ratio: expected number"),
    ('otlp_endpoint = "127.0.0.1:4318"', "tracing.otlp_endpoint: expected an http"),
    ('service_name = ""', "tracing.service_name: must not be empty"),
    ('headers = { Authorization = 1 }', "tracing.headers.Authorization: expected string"),
])
def test_invalid_tracing_settings_are_named_at_load(tmp_path: Path, line: str,
                                                    problem: str) -> None:
    path = tmp_path / "pierre.toml"
    path.write_text(f"[tracing]\nenabled = true\n{line}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, environ={})
    assert len(err.value.problems) == 1 and err.value.problems[0].startswith(problem)


def test_headers_file_reads_name_value_lines(tmp_path: Path) -> None:
    f = tmp_path / "otlp-headers"
    f.write_text("# collector auth\nAuthorization: Bearer abc:def\n\nX-Scope:  team-1 \n")
    assert tracing.read_headers_file(str(f)) == {"Authorization": "Bearer abc:def",
                                                 "X-Scope": "team-1"}
    f.write_text("no separator here\n")
    with pytest.raises(Exception, match="line 1"):
        tracing.read_headers_file(str(f))
