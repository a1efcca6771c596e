"""Invite-based registration over the real daemon: a tenant admin (REST) or an operator
(CLI) issues single-use codes; `POST /api/auth/register` with one creates the user in the
invite's tenant with its role; wrong, used or mismatched invites are clean 4xx."""

from __future__ import annotations

from typing import Any

import httpx

PW = "invited password 42"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _admin(d: Any, tenant: str, email: str) -> None:
    d.cli("admin", "create-tenant", "--name", tenant)
    d.cli("admin", "create-user", "--tenant", tenant, "--email", email, "--role",
          "tenant_admin", "--password-file", "-", input=PW)


async def _login(h: httpx.AsyncClient, email: str) -> dict[str, Any]:
    r = await h.post("/api/auth/login", json={"email": email, "password": PW})
    assert r.status_code == 200, r.text
    return r.json()


async def test_invite_registration_lifecycle(daemon_factory: Any) -> None:
    d = daemon_factory({"security": {"registration": "invite"}})
    _admin(d, "club", "boss@club.example")
    _admin(d, "rival", "boss@rival.example")
    async with httpx.AsyncClient(base_url=d.http_url, timeout=10) as h:
        boss = await _login(h, "boss@club.example")
        club_id, admin = boss["user"]["tenant_id"], _bearer(boss["access_token"])

        # Without an invite, registration is refused and says why.
        r = await h.post("/api/auth/register", json={"email": "x@example.com", "password": PW})
        assert r.status_code == 403 and "invite" in r.json()["message"]

        r = await h.post("/api/tenant/invites", headers=admin,
                         json={"email": "Coach@Example.com", "role": "tenant_admin"})
        assert r.status_code == 201, r.text
        inv = r.json()
        code = inv["code"]
        assert code.startswith("inv_") and len(code) > 30
        assert (inv["email"], inv["role"], inv["status"], inv["tenant_id"]) == (
            "coach@example.com", "tenant_admin", "pending", club_id)
        r = await h.get("/api/tenant/invites", headers=admin)
        listed = r.json()
        assert [i["id"] for i in listed] == [inv["id"]]
        assert code not in r.text and "code" not in listed[0]

        # Refusals: unknown code, another address; the invite stays pending after both.
        for body, msg in (({"email": "coach@example.com", "invite": "inv_nope"}, "not valid"),
                          ({"email": "intruder@example.com", "invite": code}, "another email"),
                          ({"email": "coach@example.com", "invite": 7}, "'invite'")):
            r = await h.post("/api/auth/register", json={**body, "password": PW})
            assert r.status_code == 400 and msg in r.json()["message"], r.text
            assert r.json()["details"]["field"] == "invite"
            assert "Traceback" not in r.text

        r = await h.post("/api/auth/register",
                         json={"email": "coach@example.com", "password": PW, "invite": code})
        assert r.status_code == 201, r.text
        coach = r.json()
        assert (coach["tenant_id"], coach["role"]) == (club_id, "tenant_admin")
        r = await h.post("/api/auth/register",
                         json={"email": "coach2@example.com", "password": PW, "invite": code})
        assert r.status_code == 400 and "already used" in r.json()["message"]

        # The new tenant admin is in the club at once and can invite in turn (users only
        # up to their own powers: a server admin role is refused).
        coach_auth = _bearer((await _login(h, "coach@example.com"))["access_token"])
        me = (await h.get("/api/me", headers=coach_auth)).json()
        assert (me["tenant_id"], me["role"]) == (club_id, "tenant_admin")
        r = await h.post("/api/tenant/invites", headers=coach_auth, json={"role": "admin"})
        assert r.status_code == 403
        r = await h.post("/api/tenant/invites", headers=coach_auth,
                         json={"expires_days": 0})
        assert r.status_code == 400 and r.json()["details"]["field"] == "expires_days"
        r = await h.post("/api/tenant/invites", headers=coach_auth, json={"expires_days": 2})
        assert r.status_code == 201
        open_code, open_id = r.json()["code"], r.json()["id"]

        listed = {i["id"]: i for i in (await h.get("/api/tenant/invites",
                                                   headers=admin)).json()}
        assert listed[inv["id"]]["status"] == "used"
        assert listed[inv["id"]]["used_by"] == coach["id"]
        assert listed[open_id]["status"] == "pending" and listed[open_id]["email"] is None

        # Another tenant's admin cannot see or delete the club's invites; a plain user
        # of the club cannot manage invites at all.
        rival = _bearer((await _login(h, "boss@rival.example"))["access_token"])
        assert (await h.get("/api/tenant/invites", headers=rival)).json() == []
        assert (await h.delete(f"/api/tenant/invites/{open_id}",
                               headers=rival)).status_code == 404
        r = await h.post("/api/auth/register",
                         json={"email": "member@example.com", "password": PW,
                               "invite": open_code})
        assert r.status_code == 201 and r.json()["role"] == "user"
        member = _bearer((await _login(h, "member@example.com"))["access_token"])
        assert (await h.get("/api/tenant/invites", headers=member)).status_code == 403
        assert (await h.post("/api/tenant/invites", headers=member,
                             json={})).status_code == 403

        # Deleting an invite makes its code worthless.
        r = await h.post("/api/tenant/invites", headers=admin, json={})
        doomed_code, doomed_id = r.json()["code"], r.json()["id"]
        assert (await h.delete(f"/api/tenant/invites/{doomed_id}",
                               headers=admin)).status_code == 204
        assert (await h.delete(f"/api/tenant/invites/{doomed_id}",
                               headers=admin)).status_code == 404
        r = await h.post("/api/auth/register", json={"email": "late@example.com",
                                                     "password": PW, "invite": doomed_code})
        assert r.status_code == 400

        # The operator's CLI: an invite bound to an address, redeemed over REST.
        out = d.cli_json("admin", "create-invite", "--tenant", "rival", "--email",
                         "ops@rival.example", "--role", "user", "--expires-days", "3")
        assert out["status"] == "pending" and out["code"].startswith("inv_")
        r = await h.post("/api/auth/register", json={"email": "ops@rival.example",
                                                     "password": PW, "invite": out["code"]})
        assert r.status_code == 201 and r.json()["tenant_id"] == out["tenant_id"]

        # Audit: creation, redemption (with the invite id) and deletion are recorded.
        audit = (await h.get("/api/admin/audit", headers=admin)).json()
        actions = [a["action"] for a in audit]
        assert {"invite_created", "invite_deleted", "user_registered"} <= set(actions)
        reg = next(a for a in audit if a["action"] == "user_registered"
                   and a["user_id"] == coach["id"])
        assert reg["details"]["invite_id"] == inv["id"]
        assert all(code not in str(a) and open_code not in str(a) for a in audit)
    d.stop()
    assert code not in d.logs() and open_code not in d.logs()


async def test_closed_registration_refuses_invites_too(daemon_factory: Any) -> None:
    d = daemon_factory({"security": {"registration": "closed"}})
    d.cli("admin", "create-tenant", "--name", "shut")
    out = d.cli("admin", "create-invite", "--tenant", "shut")
    assert "closed" in out.stdout
    code = next(w for w in out.stdout.split() if w.startswith("inv_"))
    async with httpx.AsyncClient(base_url=d.http_url, timeout=10) as h:
        r = await h.post("/api/auth/register",
                         json={"email": "n@example.com", "password": PW, "invite": code})
        assert r.status_code == 403 and "closed" in r.json()["message"]
