"""The monitor inside the real daemon: wired, routes mounted, reloads become events."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

import httpx

from tests.support.daemon import DaemonProcess


def reload_events(d: DaemonProcess) -> float:
    text = httpx.get(f"{d.http_url}/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith('pierre_security_events_total{event="config_reloaded"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_reload_is_a_security_event_and_admin_routes_need_credentials(
        daemon_factory: Callable[..., DaemonProcess]) -> None:
    d = daemon_factory({"security": {"monitoring": {"brute_force_account": {"threshold": 5}}}})
    assert reload_events(d) == 0
    d.signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while reload_events(d) < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert reload_events(d) == 1
    for method, path in (("GET", "/api/admin/security/alerts"),
                         ("POST", "/api/auth/mfa/enroll"),
                         ("DELETE", "/api/admin/security/restrictions/address/203.0.113.1")):
        r = httpx.request(method, f"{d.http_url}{path}", timeout=5)
        assert r.status_code in (401, 503), (path, r.status_code, r.text)
        body = r.json()
        assert body["error"] and "Traceback" not in r.text
    assert "security_monitor_failed" not in d.logs()
