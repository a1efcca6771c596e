"""Attack traffic replayed against a running daemon, one rule at a time.

Each attack comes from its own loopback source address (the client socket is
bound to 127.0.0.x), so the address rules see distinct attackers without any
forwarded-for trust. For every rule: the action taken (as a client sees it),
the alert at a local webhook receiver with a valid HMAC signature (checked
here with hashlib, not with Pierre's code), the audit trail as a server admin
reads it, and the admin's undo. Thresholds are lowered in the daemon's TOML so
the attacks stay short; the defaults get their own false-positive test.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from websockets.sync.client import connect

from tests.security.support import (
    ADMIN,
    ADMIN_IP,
    PW,
    SECRET,
    Receiver,
    World,
    account_hash,
    totp_at,
)
from tests.support.daemon import DaemonProcess


def low_thresholds(hook_url: str) -> dict[str, Any]:
    return {"security": {"require_admin_mfa": True, "monitoring": {
        "brute_force_account": {"threshold": 4},
        "brute_force_address": {"threshold": 6},
        "credential_stuffing": {"threshold": 3},
        "api_key_addresses": {"threshold": 3},
        "cross_tenant": {"threshold": 3},
        "tool_spike": {"threshold": 15, "window_s": 3600, "factor": 2.0},
        "webhook": {"url": hook_url, "secret": SECRET, "allow_private": True,
                    "backoff_s": 0.05, "retries": 2},
    }}}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with Receiver() as hook:
        d = DaemonProcess(tmp_path_factory.mktemp("attacks"), low_thresholds(hook.url))
        d.start()
        try:
            d.cli("admin", "create-tenant", "--name", "ops")
            d.cli("admin", "create-user", "--tenant", "ops", "--email", ADMIN, "--role",
                  "admin", "--password-file", "-", input=PW)
            w = World(d, hook)
            w.admin_mfa = enrol_admin(w)
            yield w
        finally:
            d.stop()


def enrol_admin(w: World) -> dict[str, Any]:
    """require_admin_mfa: the admin signs in, is refused on admin routes, enrols."""
    seen: dict[str, Any] = {}
    with w.client(ADMIN_IP) as c:
        r = c.post("/api/auth/login", json={"email": ADMIN, "password": PW})
        assert r.status_code == 200, r.text
        w.admin_token = r.json()["access_token"]
        auth = {"Authorization": f"Bearer {w.admin_token}"}
        seen["before"] = c.get("/api/admin/audit", headers=auth)
        seen["alerts_before"] = c.get("/api/admin/security/alerts", headers=auth)
        secret = c.post("/api/auth/mfa/enroll", headers=auth).json()["secret"]
        r = c.post("/api/auth/mfa/verify", headers=auth,
                   json={"code": totp_at(secret, time.time())})
        assert r.status_code == 200, r.text
        seen["after"] = c.get("/api/admin/audit", headers=auth)
        seen["login_without_code"] = c.post("/api/auth/login",
                                            json={"email": ADMIN, "password": PW})
    return seen


def test_server_admin_must_enrol_and_use_mfa(world: World) -> None:
    m = world.admin_mfa
    for r in (m["before"], m["alerts_before"]):
        assert r.status_code == 401 and r.json()["error"] == "mfa_enrolment_required"
        assert "/api/auth/mfa/enroll" in r.json()["message"]
    assert m["after"].status_code == 200
    r = m["login_without_code"]
    assert r.status_code == 401 and r.json()["error"] == "mfa_required"
    assert "refresh_token" not in r.text


def test_brute_force_on_one_account_locks_sign_in_until_an_admin_unlocks(world: World) -> None:
    email = "victim@bf.test"
    session = world.register(email, "127.0.0.10")
    with world.client("127.0.0.11") as attacker:
        for i in range(4):
            r = attacker.post("/api/auth/login", json={"email": email, "password": f"guess{i}"})
            assert r.status_code == 401, r.text
    with world.client("127.0.0.12") as owner:
        r = owner.post("/api/auth/login", json={"email": email, "password": PW})
        assert r.status_code == 403 and r.json()["error"] == "locked"
        assert "this account is temporarily blocked" in r.json()["message"]
        assert "Traceback" not in r.text and "guess" not in r.text
        # The owner's session goes on: the lock stops sign-in, not existing tokens.
        me = owner.get("/api/me", headers={"Authorization":
                                           f"Bearer {session['access_token']}"})
        assert me.status_code == 200
    alert = world.hook.wait("brute_force_account", account=account_hash(email))
    assert alert["actions"][0]["kind"] == "account" and alert["severity"] == "medium"
    world.check_audit(alert)
    failed = world.audit("security.login_failed")
    assert sum(1 for f in failed if f["ip"] == "127.0.0.11") >= 4
    assert all(email not in orjson.dumps(f).decode() for f in failed)
    world.undo(alert)
    with world.client("127.0.0.12") as owner:
        assert owner.post("/api/auth/login",
                          json={"email": email, "password": PW}).status_code == 200


def test_brute_force_from_one_address_blocks_that_address_only(world: World) -> None:
    session = world.register("bystander@bfa.test", "127.0.0.21")
    with world.client("127.0.0.20") as attacker:
        for i in range(6):  # two accounts, 3 each: under the account and stuffing rules
            r = attacker.post("/api/auth/login",
                              json={"email": f"nobody{i % 2}@bfa.test", "password": "x" * 12})
            assert r.status_code == 401, r.text
        r = attacker.post("/api/auth/login",
                          json={"email": "bystander@bfa.test", "password": PW})
        assert r.status_code == 403
        assert "requests from this address are temporarily blocked" in r.json()["message"]
        r = attacker.get("/api/me", headers={"Authorization":
                                             f"Bearer {session['access_token']}"})
        assert r.status_code == 403 and r.json()["details"]["rule"] == "brute_force_address"
    with world.client("127.0.0.21", session["access_token"]) as elsewhere:
        assert elsewhere.get("/api/me").status_code == 200
    alert = world.hook.wait("brute_force_address", ip="127.0.0.20")
    world.check_audit(alert)
    with world.admin() as admin:
        r = admin.delete("/api/admin/security/restrictions/address/127.0.0.20")
        assert r.status_code == 200 and r.json()["lifted"]["rule"] == "brute_force_address"
    with world.client("127.0.0.20") as again:
        assert again.post("/api/auth/login", json={"email": "bystander@bfa.test",
                                                   "password": PW}).status_code == 200


def test_credential_stuffing_across_accounts_blocks_the_address(world: World) -> None:
    world.register("real@cs.test", "127.0.0.31")
    with world.client("127.0.0.30") as attacker:
        for i in range(3):
            r = attacker.post("/api/auth/login",
                              json={"email": f"leaked{i}@cs.test", "password": "hunter2hunter2"})
            assert r.status_code == 401
        r = attacker.post("/api/auth/login", json={"email": "real@cs.test", "password": PW})
        assert r.status_code == 403 and r.json()["details"]["rule"] == "credential_stuffing"
    alert = world.hook.wait("credential_stuffing", ip="127.0.0.30")
    assert alert["severity"] == "high" and alert["evidence"]["count"] == 3
    world.check_audit(alert)
    world.undo(alert)
    with world.client("127.0.0.30") as again:
        assert again.post("/api/auth/login", json={"email": "real@cs.test",
                                                   "password": PW}).status_code == 200


def test_api_key_used_from_many_addresses_is_suspended_then_reinstated(world: World) -> None:
    session = world.register("keyholder@ka.test", "127.0.0.40")
    with world.client("127.0.0.40", session["access_token"]) as owner:
        created = owner.post("/api/keys", json={"name": "laptop"})
        assert created.status_code == 201
    key, key_id = created.json()["key"], created.json()["id"]
    for ip in ("127.0.0.41", "127.0.0.42", "127.0.0.43"):
        with world.client(ip, key) as c:
            assert c.get("/api/me").status_code == 200
    with world.client("127.0.0.44", key) as c:
        r = c.get("/api/me")
        assert r.status_code == 403 and "this API key is temporarily blocked" in r.text
        assert key not in r.text
    with world.client("127.0.0.44", session["access_token"]) as c:
        assert c.get("/api/me").status_code == 200  # the person is not locked, the key is
    alert = world.hook.wait("api_key_addresses", credential_id=key_id)
    assert alert["actions"][0]["kind"] == "credential"
    world.check_audit(alert)
    new_addresses = [a for a in world.audit("security.api_key_new_address")
                     if a["details"].get("credential_id") == key_id]
    assert {a["ip"] for a in new_addresses} >= {"127.0.0.41", "127.0.0.42", "127.0.0.43"}
    world.undo(alert)
    with world.client("127.0.0.44", key) as c:
        assert c.get("/api/me").status_code == 200


def test_burst_of_cross_tenant_requests_locks_the_prober(world: World) -> None:
    with world.admin() as admin:
        target = admin.post("/api/keys", json={"name": "ops-key"}).json()["id"]
    session = world.register("prober@ct.test", "127.0.0.50")
    with world.client("127.0.0.50", session["access_token"]) as prober:
        for _ in range(3):
            r = prober.delete(f"/api/keys/{target}")
            assert r.status_code == 404 and r.json()["message"] == "no such API key"
        r = prober.get("/api/me")
        assert r.status_code == 403 and "this account is temporarily blocked" in r.text
    with world.admin() as admin:  # the other tenant's key was never touched
        keys = {k["id"]: k for k in admin.get("/api/keys").json()}
        assert keys[target]["revoked_at"] is None
    alert = world.hook.wait("cross_tenant", user_id=session["user"]["id"])
    world.check_audit(alert)
    refused = [a for a in world.audit("security.cross_tenant_refused")
               if a["user_id"] == session["user"]["id"]]
    assert len(refused) == 3 and target not in orjson.dumps(refused).decode()
    assert refused[0]["details"]["id_hash"] == hashlib.sha256(target.encode()).hexdigest()[:16]
    assert refused[0]["details"]["route"] == "/api/keys/{key_id}"
    world.undo(alert)
    with world.client("127.0.0.50", session["access_token"]) as prober:
        assert prober.get("/api/me").status_code == 200


def test_refresh_token_reuse_revokes_the_family_and_forces_sign_in(world: World) -> None:
    s1 = world.register("reuse@rr.test", "127.0.0.60")
    with world.client("127.0.0.60") as c:
        s2 = c.post("/api/auth/refresh", json={"refresh_token": s1["refresh_token"]}).json()
        r = c.post("/api/auth/refresh", json={"refresh_token": s1["refresh_token"]})
        assert r.status_code == 401 and "already used" in r.json()["message"]
        r = c.post("/api/auth/refresh", json={"refresh_token": s2["refresh_token"]})
        assert r.status_code == 401  # the whole family is gone
        for old in (s1["access_token"], s2["access_token"]):
            r = c.get("/api/me", headers={"Authorization": f"Bearer {old}"})
            assert r.status_code == 401 and "sign in again" in r.json()["message"]
        fresh = c.post("/api/auth/login", json={"email": "reuse@rr.test", "password": PW})
        assert fresh.status_code == 200
        assert c.get("/api/me", headers={
            "Authorization": f"Bearer {fresh.json()['access_token']}"}).status_code == 200
    alert = world.hook.wait("refresh_reuse", user_id=s1["user"]["id"])
    kinds = [a["action"] for a in alert["actions"]]
    assert kinds == ["revoke_family", "require_reauth"]
    assert alert["actions"][0]["family_id"] and alert["severity"] == "high"
    world.check_audit(alert)
    reuse = [a for a in world.audit("security.refresh_token_reuse")
             if a["user_id"] == s1["user"]["id"]]
    assert reuse and reuse[0]["details"]["family_id"] == alert["actions"][0]["family_id"]
    world.undo(alert)  # lifts the re-authentication requirement
    with world.client("127.0.0.60", s2["access_token"]) as c:
        assert c.get("/api/me").status_code == 200


def _tool_call(ws: Any, n: int) -> dict[str, Any]:
    ws.send(orjson.dumps({"jsonrpc": "2.0", "id": n, "method": "tools/call",
                          "params": {"name": "get_connection_status",
                                     "arguments": {}}}).decode())
    while True:
        msg = orjson.loads(ws.recv(timeout=10))
        if msg.get("id") == n:
            return dict(msg)


def test_spike_of_tool_calls_throttles_the_tenant_until_lifted(world: World) -> None:
    # Only this test calls tools, so the tenant's previous window is empty.
    key = world.register("bot@spike.test", "127.0.0.70")["access_token"]
    with connect(world.d.ws_url, additional_headers={"Authorization": f"Bearer {key}"},
                 subprotocols=["mcp"]) as ws:  # type: ignore[list-item]
        ws.send(orjson.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "spike", "version": "0"}}}).decode())
        orjson.loads(ws.recv(timeout=10))
        ws.send(orjson.dumps({"jsonrpc": "2.0",
                              "method": "notifications/initialized"}).decode())
        results = [_tool_call(ws, i) for i in range(1, 16)]
        assert all("error" not in r and not r["result"].get("isError") for r in results)
        refused = _tool_call(ws, 16)["error"]
        assert refused["data"]["scope"] == "security" and refused["data"]["retry_after_s"] > 60
        assert "retry" in refused["message"].lower()
        alert = world.hook.wait("tool_spike")
        tenant = alert["subject"]["tenant_id"]
        world.check_audit(alert)
        world.undo(alert)
        after = _tool_call(ws, 17)
        assert "error" not in after and not after["result"].get("isError"), after
    with world.admin() as admin:
        metrics = admin.get("/metrics").text
    assert 'pierre_security_alerts_total{rule="tool_spike"} 1.0' in metrics
    assert tenant


def test_alerts_listing_and_acknowledge(world: World) -> None:
    with world.admin() as admin:
        alerts = admin.get("/api/admin/security/alerts").json()["alerts"]
        assert alerts, "the attacks above raised alerts"
        first = alerts[0]["id"]
        r = admin.post(f"/api/admin/security/alerts/{first}/acknowledge",
                       json={"note": "seen"})
        assert r.status_code == 200 and r.json()["alert"]["acknowledged_by"]
        open_ = admin.get("/api/admin/security/alerts",
                          params={"unacknowledged": "1"}).json()["alerts"]
        assert first not in {a["id"] for a in open_}
        assert len(open_) == len(alerts) - 1
