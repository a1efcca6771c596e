"""TOTP through the REST API of a running daemon with the default rules, and a
realistic normal session on that daemon that must raise no alert and take no action."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from websockets.sync.client import connect

from tests.security.support import ADMIN, ADMIN_IP, PW, Receiver, World, totp_at
from tests.support.daemon import DaemonProcess


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with Receiver() as hook:
        from tests.security.support import SECRET

        d = DaemonProcess(tmp_path_factory.mktemp("normal"), {"security": {"monitoring": {
            "webhook": {"url": hook.url, "secret": SECRET, "allow_private": True}}}})
        d.start()
        try:
            d.cli("admin", "create-tenant", "--name", "ops")
            d.cli("admin", "create-user", "--tenant", "ops", "--email", ADMIN, "--role",
                  "admin", "--password-file", "-", input=PW)
            w = World(d, hook)
            with w.client(ADMIN_IP) as c:
                r = c.post("/api/auth/login", json={"email": ADMIN, "password": PW})
                assert r.status_code == 200, r.text
                w.admin_token = r.json()["access_token"]
            yield w
        finally:
            d.stop()


def away_from_step_edge() -> None:
    """Codes are computed here and checked there: don't straddle a 30 s boundary."""
    if time.time() % 30 > 27:
        time.sleep(30.2 - time.time() % 30)


def login(w: World, ip: str, email: str, code: str | None = None) -> Any:
    body = {"email": email, "password": PW, **({"mfa_code": code} if code else {})}
    with w.client(ip) as c:
        return c.post("/api/auth/login", json=body)


def test_totp_enrolment_login_reuse_and_recovery_codes(world: World) -> None:
    email = "two-step@mfa.test"
    session = world.register(email, "127.0.0.80")
    away_from_step_edge()
    with world.client("127.0.0.80", session["access_token"]) as c:
        assert c.get("/api/auth/mfa").json() == {"enabled": False}
        started = c.post("/api/auth/mfa/enroll")
        assert started.status_code == 201
        secret = started.json()["secret"]
        assert f"secret={secret}" in started.json()["otpauth_uri"]
        assert "<svg" in started.json()["qr_svg"]
        # Enrolment is not active until a code proves the app has the secret.
        assert login(world, "127.0.0.81", email).status_code == 200
        wrong = c.post("/api/auth/mfa/verify", json={"code": "000000"
                                                      if totp_at(secret, time.time()) != "000000"
                                                      else "111111"})
        assert wrong.status_code == 401
        # The previous step is still accepted (clock skew between phone and server).
        done = c.post("/api/auth/mfa/verify", json={"code": totp_at(secret, time.time() - 30)})
        assert done.status_code == 200, done.text
        recovery = done.json()["recovery_codes"]
        assert len(recovery) >= 8 and len(set(recovery)) == len(recovery)
        assert c.get("/api/auth/mfa").json() == {"enabled": True}

    r = login(world, "127.0.0.81", email)
    assert r.status_code == 401 and r.json()["error"] == "mfa_required"
    assert "access_token" not in r.json()
    current = totp_at(secret, time.time())
    ok = login(world, "127.0.0.81", email, current)
    assert ok.status_code == 200 and ok.json()["access_token"]
    reused = login(world, "127.0.0.81", email, current)
    assert reused.status_code == 401 and "already used" in reused.json()["message"]
    assert "access_token" not in reused.json()

    by_recovery = login(world, "127.0.0.81", email, recovery[0])
    assert by_recovery.status_code == 200
    assert login(world, "127.0.0.81", email, recovery[0]).status_code == 401
    assert login(world, "127.0.0.81", email, recovery[1]).status_code == 200

    audited = {a["action"] for a in world.audit("security.mfa_enrolled")
               + world.audit("security.mfa_recovery_code_used")
               + world.audit("security.mfa_failed")
               if a["user_id"] == session["user"]["id"]}
    assert audited == {"security.mfa_enrolled", "security.mfa_recovery_code_used",
                       "security.mfa_failed"}
    # The stored secret is sealed: the database file holds no base32 secret.
    db = (world.d.tmp / "var" / "pierre.db").read_bytes()
    assert secret.encode() not in db


def _tool(ws: Any, n: int, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    ws.send(orjson.dumps({"jsonrpc": "2.0", "id": n, "method": "tools/call",
                          "params": {"name": name, "arguments": arguments}}).decode())
    while True:
        msg = orjson.loads(ws.recv(timeout=15))
        if msg.get("id") == n:
            return dict(msg)


def test_a_normal_session_raises_no_alert_and_takes_no_action(world: World) -> None:
    email = "runner@normal.test"
    with world.client("127.0.0.90") as c:
        assert c.post("/api/auth/register",
                      json={"email": email, "password": PW}).status_code == 201
        typo = c.post("/api/auth/login", json={"email": email, "password": PW + "!"})
        assert typo.status_code == 401  # people mistype; one slip is not an attack
        s = c.post("/api/auth/login", json={"email": email, "password": PW}).json()
        for _ in range(3):
            s = c.post("/api/auth/refresh", json={"refresh_token": s["refresh_token"]}).json()
        auth = {"Authorization": f"Bearer {s['access_token']}"}
        assert c.get("/api/me", headers=auth).status_code == 200
        key = c.post("/api/keys", headers=auth, json={"name": "claude"}).json()["key"]
        assert len(c.get("/api/keys", headers=auth).json()) == 1
    calls = 0
    for token in (s["access_token"], key):
        with connect(world.d.ws_url, additional_headers={"Authorization": f"Bearer {token}"},
                     subprotocols=["mcp"]) as ws:  # type: ignore[list-item]
            ws.send(orjson.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                                  "params": {"protocolVersion": "2025-06-18",
                                             "capabilities": {},
                                             "clientInfo": {"name": "n", "version": "0"}}
                                  }).decode())
            ws.recv(timeout=10)
            ws.send(orjson.dumps({"jsonrpc": "2.0",
                                  "method": "notifications/initialized"}).decode())
            r = _tool(ws, 1, "connect_provider", {"provider": "synthetic"})
            assert "error" not in r, r
            for i in range(2, 22):
                name, args = [("get_activities", {"limit": 5}), ("get_athlete", {}),
                              ("get_connection_status", {}), ("get_fitness_config", {})][i % 4]
                r = _tool(ws, i, name, args)
                assert "error" not in r, r
                calls += 1
    with world.client("127.0.0.91", key) as laptop:  # the same key from a second place
        assert laptop.get("/api/me").status_code == 200
    with world.client("127.0.0.90") as c:
        assert c.post("/api/auth/logout",
                      json={"refresh_token": s["refresh_token"]}).status_code == 204
    assert calls == 40

    time.sleep(0.5)  # an alert would be on its way to the webhook by now
    assert world.hook.deliveries == []
    with world.admin() as admin:
        assert admin.get("/api/admin/security/alerts").json() == {"alerts": []}
        assert admin.get("/api/admin/security/actions").json() == {"actions": []}
        metrics = admin.get("/metrics").text
    assert "pierre_security_alerts_total{" not in metrics
    assert 'pierre_security_events_total{event="login_succeeded"}' in metrics
    assert "security_alert" not in world.d.logs()
    assert "security_monitor_failed" not in world.d.logs()
