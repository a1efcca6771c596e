"""Tenant isolation on the identity endpoints: tenant A's credentials on tenant B's ids
get 403/404 and nothing of B; and the demo bootstrap prints a working key once."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

PW = "isolation-password"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.support.daemon import DaemonProcess

    d = DaemonProcess(tmp_path_factory.mktemp("iso"))
    d.start()
    pw = d.tmp / "pw"
    pw.write_text(PW)
    out: dict[str, Any] = {"d": d}
    for t in ("a", "b"):
        d.cli("admin", "create-tenant", "--name", f"tenant-{t}")
        out[f"admin_{t}"] = d.cli_json("admin", "create-user", "--tenant", f"tenant-{t}",
                                       "--email", f"admin@{t}.test", "--role", "tenant_admin",
                                       "--password-file", str(pw))
        out[f"user_{t}"] = d.cli_json("admin", "create-user", "--tenant", f"tenant-{t}",
                                      "--email", f"user@{t}.test")
        out[f"key_{t}"] = d.cli_json("admin", "create-api-key", "--email", f"admin@{t}.test",
                                     "--tier", "professional")
        out[f"ukey_{t}"] = d.cli_json("admin", "create-api-key", "--email", f"user@{t}.test")
    http = httpx.Client(base_url=d.http_url, timeout=10)
    h = {"Authorization": f"Bearer {out['key_b']['key']}"}
    r = http.put("/api/tenant/oauth-apps/strava", headers=h,
                 json={"client_id": "b-client", "client_secret": "b-secret-value"})
    assert r.status_code == 200, r.text
    r = http.post("/api/tenant/invites", headers=h, json={"email": "invitee@b.test"})
    assert r.status_code == 201, r.text
    out["invite_b"] = r.json()
    out["http"] = http
    yield out
    http.close()
    d.stop()


def _h(world: Any, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world[name]['key']}"}


def _nothing_of_b(world: Any, text: str) -> None:
    for secret in (world["admin_b"]["id"], world["user_b"]["id"], "b-client",
                   "b-secret-value", "@b.test", world["key_b"]["id"],
                   world["invite_b"]["id"], world["invite_b"]["code"]):
        assert secret not in text


def test_a_cannot_touch_b_ids(world: Any) -> None:
    http, h = world["http"], _h(world, "key_a")
    cases = [
        ("DELETE", f"/api/keys/{world['key_b']['id']}", None, 404),
        ("DELETE", f"/api/keys/{world['ukey_b']['id']}", None, 404),
        ("PATCH", f"/api/tenant/users/{world['user_b']['id']}", {"status": "disabled"}, 404),
        ("PATCH", f"/api/keys/{world['ukey_b']['id']}", {"tier": "trial"}, 404),
        ("DELETE", f"/api/tenant/invites/{world['invite_b']['id']}", None, 404),
        ("GET", f"/api/admin/audit?tenant_id={world['admin_b']['tenant_id']}", None, 403),
        ("GET", "/api/admin/tenants", None, 403),
        ("POST", "/api/admin/tenants", {"name": "x"}, 403),
    ]
    for method, path, body, status in cases:
        r = http.request(method, path, headers=h, json=body)
        assert r.status_code == status, (method, path, r.text)
        _nothing_of_b(world, r.text)
    # B's key, user and invite are as they were: nothing was changed by A's attempts.
    me_b = http.get("/api/me", headers=_h(world, "ukey_b"))
    assert me_b.status_code == 200 and me_b.json()["tier"] == "starter"
    invites_b = http.get("/api/tenant/invites", headers=_h(world, "key_b")).json()
    assert [i["id"] for i in invites_b] == [world["invite_b"]["id"]]


def test_listings_show_only_own_tenant(world: Any) -> None:
    http, h = world["http"], _h(world, "key_a")
    for path in ("/api/tenant/users", "/api/tenant/oauth-apps", "/api/keys",
                 "/api/admin/audit", "/api/me", "/api/tenant/invites"):
        r = http.get(path, headers=h)
        assert r.status_code == 200, (path, r.text)
        _nothing_of_b(world, r.text)
    users = http.get("/api/tenant/users", headers=h).json()
    assert {u["email"] for u in users} == {"admin@a.test", "user@a.test"}
    apps_b = http.get("/api/tenant/oauth-apps", headers=_h(world, "key_b")).json()
    assert [a["client_id"] for a in apps_b] == ["b-client"]
    assert "b-secret-value" not in orjson.dumps(apps_b).decode()


def test_plain_user_is_forbidden_from_admin_endpoints(world: Any) -> None:
    http, h = world["http"], _h(world, "ukey_a")
    for method, path in (("GET", "/api/tenant/users"), ("GET", "/api/tenant/oauth-apps"),
                         ("GET", "/api/admin/audit"), ("GET", "/api/admin/tenants"),
                         ("GET", "/api/tenant/invites"), ("POST", "/api/tenant/invites"),
                         ("PATCH", f"/api/keys/{world['ukey_a']['id']}")):
        r = http.request(method, path, headers=h, json={"tier": "enterprise"})
        assert r.status_code == 403 and r.json()["error"] == "forbidden", path
    r = http.post("/api/keys", headers=h, json={"tier": "enterprise"})
    assert r.status_code == 403
    # The tenant admin of A may revoke A's user key, not B's.
    r = http.delete(f"/api/keys/{world['ukey_a']['id']}", headers=_h(world, "key_a"))
    assert r.status_code == 204
    assert http.get("/api/me", headers=h).status_code == 401


def test_demo_mode_prints_a_working_key_once(daemon_factory: Any) -> None:
    d = daemon_factory({"server": {"demo": True}})
    logs = d.logs()
    line = next(x for x in logs.splitlines() if x.strip().startswith("pk_"))
    key = line.strip()
    assert "?token=" in logs and "pierre bridge --url" in logs and "/mcp" in logs
    # Never through the structured log: only the banner lines carry it.
    assert all(key not in x for x in logs.splitlines() if x.startswith("{"))
    r = httpx.get(f"{d.http_url}/api/me", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200 and r.json()["role"] == "tenant_admin"
    d.stop()
    d.start()
    assert d.logs().count("Pierre demo ready") == 1  # not again on a non-empty database
