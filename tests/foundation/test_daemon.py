"""The real daemon: ports file, SIGHUP reload, SIGTERM drain, sd_notify, socket activation."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from tests.mcp.support import api_key
from tests.mcp.support import start as start_with_test_tools
from tests.support.daemon import BIN, DaemonProcess

Factory = Callable[..., DaemonProcess]


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def events(d: DaemonProcess, name: str) -> list[dict]:
    return [e for e in d.log_events() if e.get("event") == name]


def test_serves_health_and_writes_ports_file(daemon: DaemonProcess) -> None:
    ports = json.loads(daemon.ports_file.read_text())
    assert ports == {"mcp": daemon.mcp_port, "http": daemon.http_port}
    assert 0 not in ports.values()
    r = httpx.get(f"{daemon.http_url}/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    ready = httpx.get(f"{daemon.http_url}/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["database"] == "ok"
    metrics = httpx.get(f"{daemon.http_url}/metrics")
    assert metrics.status_code == 200 and "pierre_requests_total" in metrics.text
    # Unauthenticated MCP upgrade is refused before the handshake.
    with pytest.raises(InvalidStatus) as info:
        connect(daemon.ws_url, subprotocols=[Subprotocol("mcp")], open_timeout=5)
    assert info.value.response.status_code == 401


def test_sighup_applies_log_level_and_rejects_invalid_file(daemon_factory: Factory) -> None:
    d = daemon_factory({"logging": {"level": "warning", "format": "json"}})
    httpx.get(f"{d.http_url}/health")
    time.sleep(0.2)
    assert not events(d, "http_request"), "info lines must be filtered at level warning"

    d.config["logging"]["level"] = "info"
    d.write_config()
    d.signal(signal.SIGHUP)
    assert wait_for(lambda: bool(events(d, "config_reloaded")))
    httpx.get(f"{d.http_url}/health")
    assert wait_for(lambda: bool(events(d, "http_request")))

    d.config_path.write_text("[mcp]\nport = 'not a number'\n[logging]\nlevel = 'debug'\n")
    d.signal(signal.SIGHUP)
    assert wait_for(lambda: bool(events(d, "config_reload_rejected")))
    rejected = events(d, "config_reload_rejected")[0]
    assert "mcp.port: expected integer, got string" in rejected["problems"]
    # Still serving, old config kept (no debug lines appear).
    assert httpx.get(f"{d.http_url}/health").status_code == 200
    assert d.proc is not None and d.proc.poll() is None


async def test_sigterm_lets_in_flight_http_call_finish(daemon_factory: Factory) -> None:
    """A Streamable HTTP tools/call running when SIGTERM arrives is answered, then exit 0."""
    d = start_with_test_tools(daemon_factory)
    key = api_key(d)
    headers = {"Authorization": f"Bearer {key}", "Accept": "application/json, text/event-stream",
               "MCP-Protocol-Version": "2025-06-18"}
    async with httpx.AsyncClient(base_url=d.http_url, headers=headers, timeout=20) as client:
        init = await client.post("/mcp", json={
            "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "test", "version": "1"}}})
        assert init.status_code == 200, init.text
        client.headers["Mcp-Session-Id"] = init.headers["Mcp-Session-Id"]
        await client.post("/mcp", json={"jsonrpc": "2.0",
                                        "method": "notifications/initialized"})
        call = asyncio.ensure_future(client.post("/mcp", headers={"Accept": "application/json"},
                                                 json={
            "jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "test_slow", "arguments": {"steps": 6, "delay_ms": 100}}}))
        await asyncio.sleep(0.25)  # the call is now running inside the daemon
        d.signal(signal.SIGTERM)
        resp = await call
    assert resp.status_code == 200, resp.text
    assert resp.json()["result"]["structuredContent"] == {"steps": 6}

    def refused() -> bool:
        try:
            socket.create_connection(("127.0.0.1", d.http_port), timeout=0.5).close()
            return False
        except OSError:
            return True

    assert wait_for(refused), "listener must stop accepting on SIGTERM"
    assert d.proc is not None and d.proc.wait(20) == 0
    assert events(d, "daemon_stopped")


def test_sd_notify_protocol(daemon_factory: Factory, tmp_path: Path) -> None:
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(10)
    try:
        d = daemon_factory(env={"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "400000"})
        got: list[str] = []

        def read_until(word: str) -> None:
            while True:
                msg = sock.recv(4096).decode()
                got.append(msg)
                if word in msg.split("\n"):
                    return

        read_until("READY=1")
        assert any(line.startswith("STATUS=") for line in got[-1].split("\n"))
        read_until("WATCHDOG=1")
        d.signal(signal.SIGHUP)
        read_until("RELOADING=1")
        assert "MONOTONIC_USEC=" in got[-1]
        read_until("READY=1")
        d.signal(signal.SIGTERM)
        read_until("STOPPING=1")
        assert d.proc is not None and d.proc.wait(20) == 0
    finally:
        sock.close()


def test_socket_activation_listen_fds(tmp_path: Path) -> None:
    mcp = socket.socket()
    mcp.bind(("127.0.0.1", 0))
    mcp.listen(16)
    http = socket.socket()
    http.bind(("127.0.0.1", 0))
    http.listen(16)
    d = DaemonProcess(tmp_path / "sa")
    d.config["mcp"]["port"] = 1  # ignored: the inherited sockets win
    d.config["http"]["port"] = 1
    d.write_config()
    m, h = mcp.fileno(), http.fileno()
    script = (
        f"exec 3<&{m} 4<&{h} {m}<&- {h}<&-; export LISTEN_PID=$$; "
        f'exec "{BIN}" serve --config "{d.config_path}"'
    )
    env = {**os.environ, "LISTEN_FDS": "2", "LISTEN_FDNAMES": "mcp:http"}
    log = (tmp_path / "sa.log").open("wb")
    proc = subprocess.Popen(["bash", "-c", script], pass_fds=(m, h), env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        assert wait_for(d.ports_file.exists, 30), (tmp_path / "sa.log").read_text()
        ports = json.loads(d.ports_file.read_text())
        assert ports == {"mcp": mcp.getsockname()[1], "http": http.getsockname()[1]}
        r = httpx.get(f"http://127.0.0.1:{http.getsockname()[1]}/health")
        assert r.status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
        log.close()
        mcp.close()
        http.close()


def test_check_config_and_version_cli() -> None:
    res = subprocess.run([str(BIN), "version", "--json"], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0 and "version" in json.loads(res.stdout)
