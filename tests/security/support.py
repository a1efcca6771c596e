"""Daemon-test helpers: an independent TOTP, a signed-webhook receiver, and a
`World` of clients bound to chosen loopback source addresses."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from aiohttp import web

from tests.support.daemon import DaemonProcess

SECRET = "alert-signing-secret-for-tests"
PW = "correct horse battery staple"
ADMIN = "root@ops.test"
ADMIN_IP = "127.0.0.2"


# -- independent references ---------------------------------------------------------
def totp_at(secret_b32: str, unix_time: float) -> str:
    """RFC 6238 (SHA-1, 30 s, 6 digits), written from the RFC, not from pierre.security."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8), casefold=True)
    mac = hmac.new(key, struct.pack(">Q", int(unix_time // 30)), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    return str((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1_000_000).zfill(6)


def account_hash(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]


# -- the webhook receiver -------------------------------------------------------------
class Receiver:
    """An aiohttp server on 127.0.0.1:0 in its own thread, keeping every delivery."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.url = ""
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def receive(request: web.Request) -> web.Response:
            self.deliveries.append((dict(request.headers), await request.read()))
            return web.Response(status=204)

        async def start() -> None:
            app = web.Application()
            app.router.add_post("/alerts", receive)
            self._runner = web.AppRunner(app)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self.url = f"http://127.0.0.1:{port}/alerts"
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())

    def __enter__(self) -> Receiver:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def alerts(self) -> list[dict[str, Any]]:
        out = []
        for headers, body in list(self.deliveries):
            ts, sig = headers["X-Pierre-Timestamp"], headers["X-Pierre-Signature"]
            want = "sha256=" + hmac.new(SECRET.encode(), ts.encode() + b"." + body,
                                        hashlib.sha256).hexdigest()
            assert hmac.compare_digest(sig, want), "alert webhook signature does not verify"
            assert abs(time.time() - float(ts)) < 300
            out.append(orjson.loads(body)["alert"])
        return out

    def wait(self, rule: str, timeout: float = 10.0, **subject: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for a in self.alerts():
                if a["rule"] == rule and all(a["subject"].get(k) == v
                                             for k, v in subject.items()):
                    return a
            time.sleep(0.05)
        raise AssertionError(f"no {rule} alert for {subject}; got {self.alerts()}")


# -- the daemon and its people ----------------------------------------------------------
@dataclass
class World:
    d: DaemonProcess
    hook: Receiver
    admin_token: str = ""
    admin_mfa: dict[str, Any] = field(default_factory=dict)

    def client(self, ip: str, token: str | None = None) -> httpx.Client:
        """A client whose connections leave from `ip` (a loopback alias)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.d.http_url, headers=headers, timeout=15,
                            transport=httpx.HTTPTransport(local_address=ip))

    def admin(self) -> httpx.Client:
        return self.client(ADMIN_IP, self.admin_token)

    def register(self, email: str, ip: str) -> dict[str, Any]:
        with self.client(ip) as c:
            r = c.post("/api/auth/register", json={"email": email, "password": PW})
            assert r.status_code == 201, r.text
            r = c.post("/api/auth/login", json={"email": email, "password": PW})
            assert r.status_code == 200, r.text
            session: dict[str, Any] = r.json()
            return session

    def audit(self, action: str, **query: str) -> list[dict[str, Any]]:
        with self.admin() as c:
            r = c.get("/api/admin/audit", params={"action": action, "limit": "1000", **query})
            assert r.status_code == 200, r.text
            rows: list[dict[str, Any]] = r.json()
            return rows

    def undo(self, alert: dict[str, Any]) -> dict[str, Any]:
        """Lift the restriction an alert's action put in place, as the admin would."""
        with self.admin() as c:
            listed = c.get("/api/admin/security/actions", params={"active": "1"}).json()
            (action,) = [a for a in listed["actions"] if a.get("alert_id") == alert["id"]
                         and "restriction_id" in a]
            r = c.post(f"/api/admin/security/actions/{action['restriction_id']}/undo")
            assert r.status_code == 200, r.text
            lifted: dict[str, Any] = r.json()["lifted"]
        undone = self.audit("security.action_undone")
        assert any(u["details"]["id"] == lifted["id"] for u in undone)
        return lifted

    def check_audit(self, alert: dict[str, Any]) -> None:
        alerts = self.audit("security.alert")
        assert any(a["details"]["id"] == alert["id"] for a in alerts)
        applied = [a["details"] for a in self.audit("security.action")
                   if a["details"].get("alert_id") == alert["id"]]
        assert applied and all(a["rule"] == alert["rule"] for a in applied)
        assert all(a["evidence"]["count"] >= a["evidence"]["threshold"] for a in applied)
