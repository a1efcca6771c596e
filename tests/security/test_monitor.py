"""The monitor end to end on real backends (SQLite, memory counters, Prometheus registry,
a webhook receiver on loopback): attack traffic per rule -> action, signed alert, audit
entries, admin undo; normal traffic raises nothing; TOTP enrolment and login.

In-process because the daemon's login path (identity) is not wired yet; the
crypto here is a stand-in AES-GCM with the same call shape as `pierre.crypto`.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pierre.config.schema import Config
from pierre.config.validate import validate
from pierre.errors import AuthError, RateLimited
from pierre.ops.metrics import Metrics
from pierre.plugins.base import PluginContext
from pierre.plugins.registry import PluginRegistry
from pierre.ratelimit.memory import MemoryRateLimiter
from pierre.security import alerts, totp
from pierre.security import events as ev
from pierre.security.mfa import MfaRequired
from pierre.security.monitor import Locked, SecurityMonitor
from pierre.services import Services
from pierre.tools.base import ToolRegistry

SECRET = "webhook-test-secret"


class StandInCrypto:
    def __init__(self) -> None:
        self.aead = AESGCM(AESGCM.generate_key(bit_length=256))

    def _aad(self, *parts: str) -> bytes:
        return "|".join(parts).encode()

    def encrypt(self, plain: bytes, *aad: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self.aead.encrypt(nonce, plain, self._aad(*aad))

    def decrypt(self, blob: bytes, *aad: str) -> bytes:
        return self.aead.decrypt(blob[:12], blob[12:], self._aad(*aad))


@pytest.fixture
async def hook() -> AsyncIterator[dict[str, Any]]:
    state: dict[str, Any] = {"received": [], "event": asyncio.Event()}

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        state["received"].append((dict(request.headers), body))
        state["event"].set()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/alerts", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state["url"] = f"http://127.0.0.1:{port}/alerts"
    yield state
    await runner.cleanup()


def rules(threshold: int = 3) -> dict[str, Any]:
    low = {"threshold": threshold, "window_s": 60}
    return {"brute_force_account": low, "brute_force_address": {**low, "threshold": 8},
            "credential_stuffing": low, "api_key_addresses": low, "cross_tenant": low,
            "tool_spike": {"threshold": 30, "window_s": 3600, "factor": 2.0}}


@pytest.fixture
async def env(tmp_path: Path, hook: dict[str, Any]) -> AsyncIterator[Services]:
    cfg, errors = validate(Config, {"security": {"monitoring": {
        **rules(), "webhook": {"url": hook["url"], "secret": SECRET, "allow_private": True,
                               "backoff_s": 0.05}}}, "base_dir": str(tmp_path)})
    assert not errors
    plugins = PluginRegistry()
    plugins.discover()
    ctx = PluginContext(config=cfg, data_dir=str(tmp_path))
    db = plugins.get("pierre.databases", "sqlite").from_config(
        {"path": str(tmp_path / "p.db")}, ctx)
    await db.start()
    await db.migrate()
    s = Services(config=cfg, plugins=plugins, tools=ToolRegistry(), db=db,
                 ratelimiter=MemoryRateLimiter(), metrics=Metrics(), crypto=StandInCrypto())
    s.security = SecurityMonitor(s)
    await s.security.start()
    yield s
    await s.security.close()
    await db.close()


async def wait_alert(hook: dict[str, Any], n: int = 1) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 5
    while len(hook["received"]) < n and time.monotonic() < deadline:
        hook["event"].clear()
        try:
            await asyncio.wait_for(hook["event"].wait(), 0.5)
        except TimeoutError:
            pass
    out = []
    for headers, body in hook["received"]:
        assert alerts.verify(SECRET, headers[alerts.TIMESTAMP_HEADER], body,
                             headers[alerts.SIGNATURE_HEADER]), "bad webhook signature"
        out.append(orjson.loads(body)["alert"])
    return out


async def audit(s: Services, action: str) -> list[Any]:
    return list(await s.db.list_audit(None, action=action, limit=500))


def metric(s: Services, name: str, **labels: str) -> float:
    value = s.metrics.registry.get_sample_value(name, labels)
    return float(value or 0.0)


async def test_brute_force_locks_the_account_then_admin_unlocks(
        env: Services, hook: dict[str, Any]) -> None:
    mon = env.security
    for i in range(3):
        await mon.emit(ev.LOGIN_FAILED, user_id="u1", ip=f"198.51.100.{i}",
                       details={"account": "ana@x.org"})
    with pytest.raises(Locked) as refused:
        await mon.check_allowed(account="ana@x.org", ip="198.51.100.50")
    assert "blocked" in refused.value.message and refused.value.http_status == 403
    # The lock stops sign-in by that login name; the owner's sessions and keys go on.
    await mon.check_allowed(user_id="u1", ip="198.51.100.50")
    (alert,) = await wait_alert(hook)
    assert alert["rule"] == "brute_force_account" and alert["subject"]["user_id"] == "u1"
    assert alert["actions"][0]["kind"] == "account"
    assert alert["actions"][0]["target"] == "ana@x.org"
    assert len(await audit(env, "security.login_failed")) == 3
    (applied,) = await audit(env, "security.action")
    assert applied.details["rule"] == "brute_force_account"
    assert applied.details["evidence"]["count"] == 3
    assert metric(env, "pierre_security_alerts_total", rule="brute_force_account") == 1
    assert metric(env, "pierre_security_events_total", event="login_failed") == 3
    listed = await mon.list_alerts()
    assert [a["id"] for a in listed] == [alert["id"]]
    acked = await mon.acknowledge(alert["id"], by="admin1")
    assert acked["acknowledged_by"] == "admin1"
    assert await mon.list_alerts(include_acknowledged=False) == []
    await mon.undo_by_id(alert["actions"][0]["restriction_id"], by="admin1")
    await mon.check_allowed(account="ana@x.org", ip="198.51.100.50")
    assert len(await audit(env, "security.action_undone")) == 1


async def test_credential_stuffing_locks_the_address(env: Services, hook: dict[str, Any]) -> None:
    mon = env.security
    for i in range(3):
        await mon.emit(ev.LOGIN_FAILED, ip="203.0.113.5", details={"account": f"u{i}@x.org"})
    with pytest.raises(Locked):
        await mon.check_allowed(ip="203.0.113.5")
    await mon.check_allowed(ip="203.0.113.6")
    (alert,) = await wait_alert(hook)
    assert alert["rule"] == "credential_stuffing"
    await mon.undo("address", "203.0.113.5", by="admin1")
    await mon.check_allowed(ip="203.0.113.5")


async def test_api_key_from_many_addresses_is_suspended_and_reinstated(
        env: Services, hook: dict[str, Any]) -> None:
    mon = env.security
    for i in range(3):
        await mon.emit(ev.API_KEY_USED, tenant_id="t1", user_id="u1", credential_id="key1",
                       ip=f"192.0.2.{i}")
    with pytest.raises(Locked) as refused:
        await mon.check_allowed(credential_id="key1", ip="192.0.2.1")
    assert "API key" in refused.value.message
    (alert,) = await wait_alert(hook)
    assert alert["rule"] == "api_key_addresses"
    assert len(await audit(env, "security.api_key_new_address")) == 3
    await mon.undo("credential", "key1", by="admin1")
    await mon.check_allowed(credential_id="key1", ip="192.0.2.1")


async def test_cross_tenant_probing_locks_the_prober(env: Services, hook: dict[str, Any]) -> None:
    mon = env.security
    for i in range(3):
        await mon.emit(ev.CROSS_TENANT_REFUSED, tenant_id="t1", user_id="u9",
                       details={"resource": f"activity/{i}"})
    with pytest.raises(Locked):
        await mon.check_allowed(user_id="u9")
    (alert,) = await wait_alert(hook)
    assert alert["rule"] == "cross_tenant" and alert["severity"] == "high"
    await mon.undo("account", "u9", by="admin1")
    await mon.check_allowed(user_id="u9")


async def test_refresh_reuse_revokes_the_family_and_requires_reauth(
        env: Services, hook: dict[str, Any]) -> None:
    db, mon = env.db, env.security
    tenant = await db.create_tenant("acme")
    user = await db.create_user(tenant.id, "bo@x.org")
    from datetime import UTC, datetime, timedelta

    tok = await db.create_refresh_token(
        tenant.id, user.id, family_id="fam1", token_hash=hashlib.sha256(b"r").hexdigest(),
        expires_at=datetime.now(UTC) + timedelta(days=1))
    issued_before = time.time() - 5
    await mon.emit(ev.REFRESH_REUSE, tenant_id=tenant.id, user_id=user.id,
                   details={"family_id": "fam1"})
    rec = await db.get_refresh_token(tok.token_hash)
    assert rec is not None and rec.revoked_at is not None
    with pytest.raises(AuthError):
        await mon.check_allowed(user_id=user.id, issued_at=issued_before)
    await mon.check_allowed(user_id=user.id, issued_at=time.time() + 1)  # signed in again
    (alert,) = await wait_alert(hook)
    assert [a["action"] for a in alert["actions"]] == ["revoke_family", "require_reauth"]
    await mon.undo("reauth", user.id, by="admin1")
    await mon.check_allowed(user_id=user.id, issued_at=issued_before)


async def test_tool_spike_throttles_the_tenant_until_lifted(
        env: Services, hook: dict[str, Any]) -> None:
    mon = env.security
    with pytest.raises(RateLimited):
        for _ in range(40):
            await mon.check_tool_call("t-spike")
    (alert,) = await wait_alert(hook)
    assert alert["rule"] == "tool_spike"
    await mon.check_tool_call("t-other")
    await mon.undo("tenant", "t-spike", by="admin1")
    await mon.check_tool_call("t-spike")


async def test_normal_session_raises_no_alert(env: Services, hook: dict[str, Any]) -> None:
    mon = env.security
    # A person mistypes once, signs in, uses a key from home and office, calls tools.
    await mon.emit(ev.LOGIN_FAILED, user_id="u1", ip="198.51.100.1",
                   details={"account": "ana@x.org"})
    await mon.emit(ev.LOGIN_SUCCEEDED, user_id="u1", ip="198.51.100.1")
    for ip in ("198.51.100.1", "203.0.113.20"):
        for _ in range(20):
            await mon.emit(ev.API_KEY_USED, credential_id="k1", user_id="u1", ip=ip)
    for _ in range(25):
        await mon.check_tool_call("t1")
    await mon.emit(ev.RATE_LIMITED, tenant_id="t1", credential_id="k1")
    await mon.check_allowed(user_id="u1", ip="198.51.100.1", credential_id="k1")
    await asyncio.sleep(0.1)
    assert hook["received"] == []
    assert await mon.list_alerts() == []


async def test_totp_enrolment_login_reuse_and_recovery_codes(env: Services) -> None:
    db, mfa = env.db, env.security.mfa
    tenant = await db.create_tenant("mfa")
    user = await db.create_user(tenant.id, "cy@x.org", role="admin")
    t, u = tenant.id, user.id
    assert await mfa.check_login(t, u, "admin", None) is False  # not enrolled yet
    enrol = await mfa.enroll(t, u, "cy@x.org")
    assert enrol["otpauth_uri"].startswith("otpauth://totp/") and "<svg" in enrol["qr_svg"]
    stored = await db.get_user_settings(t, u, "mfa")
    assert enrol["secret"] not in orjson.dumps(stored).decode()  # encrypted at rest
    secret, now = enrol["secret"], time.time()
    mfa.clock = lambda: now
    done = await mfa.verify(t, u, totp.totp(secret, now - 30))  # previous step is accepted
    codes = done["recovery_codes"]
    assert len(codes) == 10
    with pytest.raises(MfaRequired):
        await mfa.check_login(t, u, "admin", None)
    assert await mfa.check_login(t, u, "admin", totp.totp(secret, now))
    with pytest.raises(AuthError):  # the same code again
        await mfa.check_login(t, u, "admin", totp.totp(secret, now))
    assert await mfa.check_login(t, u, "admin", codes[0])
    with pytest.raises(AuthError):
        await mfa.check_login(t, u, "admin", codes[0])
    assert len(await audit(env, "security.mfa_failed")) == 2
    assert len(await audit(env, "security.mfa_recovery_code_used")) == 1
    mfa.clock = lambda: now + 30
    fresh = await mfa.new_recovery_codes(t, u, totp.totp(secret, now + 30))
    with pytest.raises(AuthError):
        await mfa.check_login(t, u, "admin", codes[1])  # old set replaced
    mfa.clock = lambda: now + 60
    assert await mfa.check_login(t, u, "admin", fresh[1])
