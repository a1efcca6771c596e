"""Changing an API key's tier: an administrator's action (tenant admins up to the tenant's
plan, server admins any), followed at once by the key's live MCP sessions."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.mcp.support import Raw, api_key, start

PW = "tier changing password 7"
LIST_CHANGED = "notifications/tools/list_changed"


async def tool_names(c: Raw) -> set[str]:
    out: set[str] = set()
    params: dict[str, Any] = {}
    while True:
        res = (await c.call("tools/list", params))["result"]
        out |= {t["name"] for t in res["tools"]}
        if "nextCursor" not in res:
            return out
        params = {"cursor": res["nextCursor"]}


async def quiet(c: Raw) -> None:
    """Nothing arrived before the answer to this ping."""
    await c.send({"jsonrpc": "2.0", "id": "quiet", "method": "ping"})
    assert await c.recv(timeout=5) == {"jsonrpc": "2.0", "id": "quiet", "result": {}}


def _user(d: Any, email: str, role: str) -> None:
    d.cli("admin", "create-user", "--tenant", "kt", "--email", email, "--role", role,
          "--password-file", "-", input=PW)


async def _bearer(h: httpx.AsyncClient, email: str) -> dict[str, str]:
    r = await h.post("/api/auth/login", json={"email": email, "password": PW})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_raising_a_key_tier_reaches_its_live_session(daemon_factory: Any) -> None:
    d = start(daemon_factory)
    trial = api_key(d, tier="trial", tenant="kt")  # creates tenant kt
    _user(d, "root@kt.example", "admin")
    _user(d, "ta@kt.example", "tenant_admin")
    other = api_key(d, tier="enterprise", tenant="elsewhere")
    d.cli("admin", "create-user", "--tenant", "elsewhere", "--email", "ta@else.example",
          "--role", "tenant_admin", "--password-file", "-", input=PW)
    async with httpx.AsyncClient(base_url=d.http_url, timeout=10) as h:
        own = {"Authorization": f"Bearer {trial}"}
        key_id = (await h.get("/api/me", headers=own)).json()["credential_id"]
        root, ta = await _bearer(h, "root@kt.example"), await _bearer(h, "ta@kt.example")

        session = await Raw.open(d.ws_url, trial)
        await session.initialize()
        before = await tool_names(session)
        assert "detect_patterns" not in before and "test_pro_only" not in before

        # Refusals first, none of which may move the session.
        r = await h.patch(f"/api/keys/{key_id}", json={"tier": "starter"}, headers=own)
        assert r.status_code == 403  # the key's own (non-admin) owner
        r = await h.patch(f"/api/keys/{key_id}", json={"tier": "gold"}, headers=root)
        assert r.status_code == 400 and r.json()["details"]["field"] == "tier"
        r = await h.patch(f"/api/keys/{key_id}", json={"tier": "professional"}, headers=ta)
        assert r.status_code == 403 and "plan" in r.json()["message"]  # plan is starter
        for cred in (await _bearer(h, "ta@else.example"),
                     {"Authorization": f"Bearer {other}"}):
            r = await h.patch(f"/api/keys/{key_id}", json={"tier": "starter"}, headers=cred)
            assert r.status_code in (403, 404) and "tier" not in r.text
        await quiet(session)
        assert (await h.get("/api/me", headers=own)).json()["tier"] == "trial"

        # The tenant admin raises it to the plan; the session hears it and sees more.
        r = await h.patch(f"/api/keys/{key_id}", json={"tier": "starter"}, headers=ta)
        assert r.status_code == 200 and r.json()["tier"] == "starter", r.text
        assert (await session.recv(timeout=5))["method"] == LIST_CHANGED
        mid = await tool_names(session)
        assert mid - before == {"detect_patterns", "analyze_performance_trends"}
        assert (await h.get("/api/me", headers=own)).json()["tier"] == "starter"

        # A server admin may go beyond the plan.
        r = await h.patch(f"/api/keys/{key_id}", json={"tier": "professional"}, headers=root)
        assert r.status_code == 200 and r.json()["tier"] == "professional"
        assert (await session.recv(timeout=5))["method"] == LIST_CHANGED
        assert "test_pro_only" in await tool_names(session)
        res = await session.call("tools/call", {"name": "test_pro_only", "arguments": {}})
        assert "error" not in res, res

        audit = (await h.get("/api/admin/audit", headers=ta,
                             params={"action": "api_key_tier_set"})).json()
        assert [(a["details"]["was"], a["details"]["tier"]) for a in audit] == [
            ("starter", "professional"), ("trial", "starter")]

        # The operator's CLI lowers it again (memory cache: no bus, so the daemon's 1 s
        # key cache and periodic sweep carry it; REST sees it within the cache time).
        out = d.cli_json("admin", "set-key-tier", key_id, "trial")
        assert (out["id"], out["tier"]) == (key_id, "trial")
        for _ in range(40):
            if (await h.get("/api/me", headers=own)).json()["tier"] == "trial":
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the CLI's tier change never reached the daemon")
        r = await h.delete(f"/api/keys/{key_id}", headers=own)
        assert r.status_code == 204
        r = await h.patch(f"/api/keys/{key_id}", json={"tier": "starter"}, headers=root)
        assert r.status_code == 409 and "revoked" in r.json()["message"]
        await session.close()


async def test_new_keys_stay_within_the_tenant_plan(daemon_factory: Any) -> None:
    """Creating a key obeys the same plan cap as raising one: a tenant cannot mint itself a
    bigger rate limit; plain users stay at trial/starter; a server admin may grant more."""
    d = start(daemon_factory)
    api_key(d, tier="trial", tenant="kt")  # creates tenant kt (no plan set: starter)
    _user(d, "root@kt.example", "admin")
    _user(d, "ta@kt.example", "tenant_admin")
    _user(d, "plain@kt.example", "user")
    async with httpx.AsyncClient(base_url=d.http_url, timeout=10) as h:
        root, ta = await _bearer(h, "root@kt.example"), await _bearer(h, "ta@kt.example")
        plain = await _bearer(h, "plain@kt.example")
        for who, tier, status in ((plain, "starter", 201), (plain, "professional", 403),
                                  (ta, "starter", 201), (ta, "enterprise", 403),
                                  (root, "enterprise", 201)):
            r = await h.post("/api/keys", json={"tier": tier, "name": "k"}, headers=who)
            assert r.status_code == status, (tier, r.text)
            if status == 403:
                assert "key" not in r.json()
        r = await h.patch("/api/admin/tenants/kt", json={"tier": "professional"}, headers=root)
        assert r.status_code == 200, r.text
        r = await h.post("/api/keys", json={"tier": "professional", "name": "k"}, headers=ta)
        assert r.status_code == 201 and r.json()["tier"] == "professional", r.text
