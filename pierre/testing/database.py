"""The `pierre.databases` contract suite.

A backend's test module subclasses :class:`DatabaseContract` and provides a
``db`` fixture yielding a started, migrated, empty backend::

    class TestMyBackend(DatabaseContract):
        @pytest.fixture
        async def db(self, tmp_path):
            db = MyBackend(...)
            await db.start(); await db.migrate()
            yield db
            await db.close()
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from pierre.errors import Conflict, InvalidArguments, PierreError
from pierre.plugins.database import Database, StoredActivity


def _t(minutes: int) -> datetime:
    return datetime(2024, 5, 1, 6, 0, tzinfo=UTC) + timedelta(minutes=minutes)


async def _two_tenants(db: Any) -> tuple[Any, Any, Any, Any]:
    a = await db.create_tenant("tenant-a")
    b = await db.create_tenant("tenant-b")
    ua = await db.create_user(a.id, "a@example.com", role="tenant_admin")
    ub = await db.create_user(b.id, "b@example.com")
    return a, ua, b, ub


class DatabaseContract:
    """What every backend promises; see pierre.plugins.database for the method docs."""

    # -- schema ------------------------------------------------------------------
    async def test_satisfies_protocol_and_migrations_are_idempotent(self, db: Any) -> None:
        assert isinstance(db, Database)
        from pierre.db.migrations import LATEST_VERSION

        assert await db.schema_version() == LATEST_VERSION
        assert await db.migrate() == []
        await db.check_schema()
        await db.health()

    async def test_newer_schema_is_refused(self, db: Any) -> None:
        async with db.write() as c:
            await c.execute("INSERT INTO schema_migrations (version, name, applied_at) "
                            "VALUES (?, ?, ?)", 9999, "9999_future", "2099-01-01")
        with pytest.raises(PierreError, match="newer release"):
            await db.check_schema()

    # -- tenants and users ------------------------------------------------------------
    async def test_tenant_names_and_user_emails_are_unique(self, db: Any) -> None:
        t = await db.create_tenant("acme")
        with pytest.raises(Conflict):
            await db.create_tenant("acme")
        u = await db.create_user(t.id, "Someone@Example.com", role="tenant_admin")
        assert u.email == "someone@example.com"
        with pytest.raises(Conflict):
            await db.create_user(t.id, "someone@example.com")
        assert (await db.find_user_by_email("SOMEONE@example.com")).id == u.id
        assert (await db.get_tenant_by_name("acme")).id == t.id
        assert await db.count_users() == 1

    async def test_users_are_invisible_across_tenants(self, db: Any) -> None:
        a, ua, b, ub = await _two_tenants(db)
        assert await db.get_user(a.id, ub.id) is None
        assert [u.id for u in await db.list_users(a.id)] == [ua.id]
        assert len(await db.list_users(None)) == 2
        assert await db.update_user(a.id, ub.id, role="admin") is None
        assert (await db.get_user(b.id, ub.id)).role == "user"
        updated = await db.update_user(b.id, ub.id, status="disabled")
        assert updated.status == "disabled"

    async def test_tenant_settings_round_trip(self, db: Any) -> None:
        t = await db.create_tenant("s", settings={"disabled_tools": ["x"]})
        await db.update_tenant_settings(t.id, {"disabled_tools": ["y"], "tier": "enterprise"})
        assert (await db.get_tenant(t.id)).settings == {"disabled_tools": ["y"],
                                                        "tier": "enterprise"}

    # -- API keys -----------------------------------------------------------------------
    async def test_api_key_lookup_revoke_and_tenant_scope(self, db: Any) -> None:
        a, ua, b, ub = await _two_tenants(db)
        exp = _t(0) + timedelta(days=400)
        k = await db.create_api_key(a.id, ua.id, name="n", prefix="pk_live_abcd1234",
                                    key_hash="h1", tier="trial", expires_at=exp)
        with pytest.raises(InvalidArguments):
            await db.create_api_key(a.id, ub.id, name="n", prefix="p", key_hash="h2",
                                    tier="trial", expires_at=None)
        found = await db.lookup_api_key("h1")
        assert found.key.id == k.id and found.user_role == "tenant_admin"
        assert found.key.expires_at == exp and found.tenant_status == "active"
        assert await db.lookup_api_key("nope") is None
        assert await db.get_api_key(b.id, k.id) is None
        assert await db.revoke_api_key(b.id, k.id) is False
        assert await db.revoke_api_key(a.id, k.id) is True
        assert await db.revoke_api_key(a.id, k.id) is False
        assert (await db.lookup_api_key("h1")).key.revoked_at is not None
        await db.touch_api_key(k.id, _t(5))
        assert (await db.get_api_key(a.id, k.id)).last_used_at == _t(5)
        assert [x.id for x in await db.list_api_keys(a.id, ua.id)] == [k.id]
        assert await db.list_api_keys(b.id, None) == []

    async def test_api_key_tier_changes_within_its_tenant_only(self, db: Any) -> None:
        a, ua, b, _ = await _two_tenants(db)
        k = await db.create_api_key(a.id, ua.id, name="n", prefix="pk_trial_abcd1234",
                                    key_hash="ht", tier="trial", expires_at=None)
        assert await db.set_api_key_tier(b.id, k.id, "enterprise") is None
        assert (await db.lookup_api_key("ht")).key.tier == "trial"
        changed = await db.set_api_key_tier(a.id, k.id, "professional")
        assert (changed.id, changed.tier, changed.prefix) == (k.id, "professional",
                                                             "pk_trial_abcd1234")
        assert (await db.lookup_api_key("ht")).key.tier == "professional"
        assert await db.set_api_key_tier(a.id, "no-such-key", "trial") is None

    # -- registration invites ------------------------------------------------------------
    async def test_invite_is_single_use_tenant_scoped_and_bound_to_its_email(
            self, db: Any) -> None:
        a, ua, b, _ = await _two_tenants(db)
        soon = datetime.now(UTC) + timedelta(days=1)
        inv = await db.create_invite(a.id, code_hash="c1", email="New@Example.com",
                                     role="tenant_admin", expires_at=soon, created_by=ua.id)
        assert inv.email == "new@example.com" and inv.used_at is None
        assert [i.id for i in await db.list_invites(a.id)] == [inv.id]
        assert await db.list_invites(b.id) == []
        when = datetime.now(UTC)
        for code, email, msg in (("nope", "new@example.com", "not valid"),
                                 ("c1", "other@example.com", "another email")):
            with pytest.raises(InvalidArguments, match=msg) as err:
                await db.redeem_invite(code, email, password_hash="ph", when=when)
            assert err.value.field == "invite"
        used, user = await db.redeem_invite("c1", "NEW@example.com", password_hash="ph",
                                            when=when)
        assert (user.tenant_id, user.role, user.email) == (a.id, "tenant_admin",
                                                           "new@example.com")
        assert (used.used_by, used.used_at) == (user.id, when)
        assert (await db.find_user_by_email("new@example.com")).password_hash == "ph"
        with pytest.raises(InvalidArguments, match="already used"):
            await db.redeem_invite("c1", "new@example.com", password_hash="ph", when=when)
        [listed] = await db.list_invites(a.id)
        assert (listed.used_by, listed.used_at) == (user.id, when)
        assert await db.delete_invite(b.id, inv.id) is False
        assert await db.delete_invite(a.id, inv.id) is True
        assert await db.list_invites(a.id) == []
        with pytest.raises(InvalidArguments):
            await db.create_invite("no-tenant", code_hash="c9", email=None, role="user",
                                   expires_at=soon, created_by=None)

    async def test_invite_expiry_and_taken_email_leave_it_unused(self, db: Any) -> None:
        a, _ua, _, _ = await _two_tenants(db)
        now_ = datetime.now(UTC)
        await db.create_invite(a.id, code_hash="old", email=None, role="user",
                               expires_at=now_ - timedelta(seconds=1), created_by=None)
        with pytest.raises(InvalidArguments, match="expired"):
            await db.redeem_invite("old", "x@example.com", password_hash="ph", when=now_)
        await db.create_invite(a.id, code_hash="open", email=None, role="user",
                               expires_at=now_ + timedelta(hours=1), created_by=None)
        with pytest.raises(Conflict):  # b@example.com exists (in another tenant even)
            await db.redeem_invite("open", "b@example.com", password_hash="ph", when=now_)
        assert all(i.used_at is None for i in await db.list_invites(a.id))
        _, user = await db.redeem_invite("open", "fresh@example.com", password_hash="ph",
                                         when=now_)
        assert user.role == "user" and user.tenant_id == a.id

    async def test_concurrent_redeemers_of_one_invite_get_one_account(self, db: Any) -> None:
        import asyncio

        a, _, _, _ = await _two_tenants(db)
        await db.create_invite(a.id, code_hash="race", email=None, role="user",
                               expires_at=datetime.now(UTC) + timedelta(hours=1),
                               created_by=None)
        results = await asyncio.gather(*(
            db.redeem_invite("race", f"r{i}@example.com", password_hash="ph",
                             when=datetime.now(UTC)) for i in range(5)),
            return_exceptions=True)
        won = [r for r in results if not isinstance(r, BaseException)]
        assert len(won) == 1
        assert all(isinstance(r, InvalidArguments) for r in results if r not in won)
        assert len(await db.list_users(a.id)) == 2

    # -- refresh tokens --------------------------------------------------------------
    async def test_refresh_token_is_used_once_and_family_revocation(self, db: Any) -> None:
        a, ua, _, _ = await _two_tenants(db)
        r = await db.create_refresh_token(a.id, ua.id, family_id="f", token_hash="rh",
                                          expires_at=_t(60))
        assert (await db.get_refresh_token("rh")).id == r.id
        assert await db.mark_refresh_token_used(r.id, _t(1)) is True
        assert await db.mark_refresh_token_used(r.id, _t(2)) is False
        await db.create_refresh_token(a.id, ua.id, family_id="f", token_hash="rh2",
                                      expires_at=_t(60))
        assert await db.revoke_refresh_family(a.id, "f") == 2
        assert (await db.get_refresh_token("rh2")).revoked_at is not None

    # -- keys ------------------------------------------------------------------------
    async def test_data_keys_version_and_retire(self, db: Any) -> None:
        k1 = await db.add_data_key(b"w1")
        k2 = await db.add_data_key(b"w2")
        assert (k1.version, k2.version) == (1, 2)
        status = {k.version: k.status for k in await db.list_data_keys()}
        assert status == {1: "retiring", 2: "active"}
        await db.set_data_key_status(1, "retired")
        assert [k.status for k in await db.list_data_keys()] == ["retired", "active"]

    async def test_encrypted_cells_scan_and_compare_and_swap(self, db: Any) -> None:
        a, ua, _, _ = await _two_tenants(db)
        await db.upsert_connection(a.id, ua.id, "strava", access_token_enc=b"old",
                                   refresh_token_enc=None, expires_at=None, scopes=[],
                                   provider_user_id=None, status="connected", meta={})
        cells = await db.scan_encrypted("user_tokens", "access_token_enc", after_id=None,
                                        limit=10)
        assert [(c.tenant_id, c.user_id, c.value) for c in cells] == [(a.id, ua.id, b"old")]
        assert await db.scan_encrypted("user_tokens", "refresh_token_enc", after_id=None,
                                       limit=10) == []
        assert await db.replace_encrypted(cells[0], b"new") is True
        assert await db.replace_encrypted(cells[0], b"newer") is False  # value changed since
        assert (await db.get_connection(a.id, ua.id, "strava")).access_token_enc == b"new"
        with pytest.raises(InvalidArguments):
            await db.scan_encrypted("users", "email", after_id=None, limit=1)

    async def test_signing_keys(self, db: Any) -> None:
        await db.add_signing_key("k1", "EdDSA", b"enc", {"kid": "k1", "kty": "OKP"})
        await db.retire_signing_key("k1", _t(0))
        [k] = await db.list_signing_keys()
        assert k.kid == "k1" and k.public_jwk["kty"] == "OKP" and k.retired_at == _t(0)

    # -- provider connections ------------------------------------------------------------
    async def test_connections_upsert_isolation_and_webhook_lookup(self, db: Any) -> None:
        a, ua, b, ub = await _two_tenants(db)
        for t, u, tok in ((a, ua, b"A"), (b, ub, b"B")):
            await db.upsert_connection(t.id, u.id, "garmin", access_token_enc=tok,
                                       refresh_token_enc=b"r", expires_at=_t(30),
                                       scopes=["read"], provider_user_id="g-1",
                                       status="connected", meta={"n": 1})
        await db.upsert_connection(a.id, ua.id, "garmin", access_token_enc=b"A2",
                                   refresh_token_enc=None, expires_at=None, scopes=[],
                                   provider_user_id="g-1", status="connected", meta={})
        ca = await db.get_connection(a.id, ua.id, "garmin")
        assert ca.access_token_enc == b"A2" and ca.refresh_token_enc is None
        assert await db.get_connection(b.id, ua.id, "garmin") is None
        assert await db.get_connection(a.id, ub.id, "garmin") is None
        found = await db.find_connections_by_provider_user("garmin", "g-1")
        assert {(c.tenant_id, c.user_id) for c in found} == {(a.id, ua.id), (b.id, ub.id)}
        await db.set_connection_status(a.id, ua.id, "garmin", "reauth_required")
        assert (await db.get_connection(a.id, ua.id, "garmin")).status == "reauth_required"
        assert (await db.get_connection(b.id, ub.id, "garmin")).status == "connected"
        assert await db.delete_connection(b.id, ua.id, "garmin") is False
        assert await db.delete_connection(a.id, ua.id, "garmin") is True
        assert [c.provider for c in await db.list_connections(b.id, ub.id)] == ["garmin"]
        with pytest.raises(InvalidArguments):
            await db.upsert_connection(a.id, ub.id, "x", access_token_enc=None,
                                       refresh_token_enc=None, expires_at=None, scopes=[],
                                       provider_user_id=None, status="c", meta={})

    async def test_oauth_apps_and_single_use_states(self, db: Any) -> None:
        a, ua, b, _ = await _two_tenants(db)
        await db.upsert_oauth_app(a.id, "strava", client_id="cid", client_secret_enc=b"s",
                                  redirect_uri=None, scopes=["read"])
        await db.upsert_oauth_app(a.id, "strava", client_id="cid2", client_secret_enc=b"s2",
                                  redirect_uri="https://x/cb", scopes=[])
        app = await db.get_oauth_app(a.id, "strava")
        assert (app.client_id, app.client_secret_enc, app.redirect_uri) == (
            "cid2", b"s2", "https://x/cb")
        assert await db.get_oauth_app(b.id, "strava") is None
        assert await db.delete_oauth_app(b.id, "strava") is False
        future = datetime.now(UTC) + timedelta(minutes=10)
        await db.save_oauth_state("st", a.id, ua.id, "strava", {"v": "x"}, future)
        got = await db.pop_oauth_state("st")
        assert got == {"tenant_id": a.id, "user_id": ua.id, "provider": "strava",
                       "data": {"v": "x"}}
        assert await db.pop_oauth_state("st") is None
        await db.save_oauth_state("old", a.id, ua.id, "strava", {},
                                  datetime.now(UTC) - timedelta(seconds=1))
        assert await db.pop_oauth_state("old") is None

    # -- stored activities and daily ----------------------------------------------------
    async def test_activities_dedup_order_filters_and_isolation(self, db: Any) -> None:
        a, ua, b, ub = await _two_tenants(db)
        items = [StoredActivity(str(i), _t(i * 60), "Run" if i % 2 else "Ride", f"d{i}",
                                {"i": i}, {"laps": [i]} if i == 1 else None) for i in range(5)]
        assert await db.upsert_activities(a.id, ua.id, "localfiles", items) == 5
        dup = StoredActivity("other-id", _t(0), "Ride", "d0", {})
        changed = replace(items[2], summary={"i": 22})
        assert await db.upsert_activities(a.id, ua.id, "localfiles", [dup, changed]) == 0
        got = await db.list_stored_activities(a.id, ua.id, "localfiles")
        assert [x.provider_id for x in got] == ["4", "3", "2", "1", "0"]
        assert got[2].summary == {"i": 22}
        runs = await db.list_stored_activities(a.id, ua.id, "localfiles", sport_type="Run",
                                               before=_t(240), after=_t(0), limit=1, offset=0)
        assert [x.provider_id for x in runs] == ["3"]
        one = await db.get_stored_activity(a.id, ua.id, "localfiles", "1")
        assert one.detail == {"laps": [1]} and one.start_utc == _t(60)
        assert await db.get_stored_activity(b.id, ub.id, "localfiles", "1") is None
        assert await db.list_stored_activities(b.id, ua.id, "localfiles") == []
        with pytest.raises(InvalidArguments):
            await db.upsert_activities(a.id, ua.id, "x", [StoredActivity(
                "n", datetime(2024, 1, 1), "Run")])

    async def test_daily_records_by_range(self, db: Any) -> None:
        a, ua, b, ub = await _two_tenants(db)
        for d in range(1, 6):
            await db.upsert_daily(a.id, ua.id, "fitbit", "sleep", f"s{d}", date(2024, 3, d),
                                  {"day": d})
        await db.upsert_daily(a.id, ua.id, "fitbit", "sleep", "s2", date(2024, 3, 2),
                              {"day": 2, "v": 2})
        got = await db.list_daily(a.id, ua.id, "fitbit", "sleep", date(2024, 3, 2),
                                  date(2024, 3, 4))
        assert got == [{"day": 2, "v": 2}, {"day": 3}, {"day": 4}]
        assert await db.list_daily(b.id, ub.id, "fitbit", "sleep", date(2024, 1, 1),
                                   date(2025, 1, 1)) == []

    # -- goals and settings ---------------------------------------------------------------
    async def test_goals_crud_is_owner_scoped(self, db: Any) -> None:
        a, ua, b, ub = await _two_tenants(db)
        g = await db.create_goal(a.id, ua.id, {"type": "distance", "target": 100})
        assert g["id"] and g["created_at"] and g["target"] == 100
        assert await db.get_goal(b.id, ub.id, g["id"]) is None
        assert await db.update_goal(b.id, ub.id, g["id"], {"target": 1}) is None
        assert await db.delete_goal(b.id, ub.id, g["id"]) is False
        up = await db.update_goal(a.id, ua.id, g["id"], {"target": 120, "id": "hijack"})
        assert up["target"] == 120 and up["id"] == g["id"] and up["type"] == "distance"
        assert [x["id"] for x in await db.list_goals(a.id, ua.id)] == [g["id"]]
        assert await db.delete_goal(a.id, ua.id, g["id"]) is True
        assert await db.list_goals(a.id, ua.id) == []

    async def test_user_settings_namespaces(self, db: Any) -> None:
        a, ua, b, _ub = await _two_tenants(db)
        assert await db.get_user_settings(a.id, ua.id, "zones") == {}
        await db.set_user_settings(a.id, ua.id, "zones", {"max_hr": 190})
        await db.set_user_settings(a.id, ua.id, "zones", {"max_hr": 185})
        assert await db.get_user_settings(a.id, ua.id, "zones") == {"max_hr": 185}
        assert await db.get_user_settings(b.id, ua.id, "zones") == {}

    # -- A2A --------------------------------------------------------------------------
    async def test_a2a_clients_and_tasks(self, db: Any) -> None:
        a, ua, b, ub = await _two_tenants(db)
        cl = await db.create_a2a_client(a.id, ua.id, name="bot", description="d",
                                        secret_hash="sh")
        assert (await db.get_a2a_client(cl.id)).tenant_id == a.id
        assert await db.list_a2a_clients(b.id, None) == []
        assert await db.revoke_a2a_client(b.id, cl.id) is False
        await db.touch_a2a_client(cl.id, _t(3))
        assert (await db.get_a2a_client(cl.id)).last_used_at == _t(3)
        assert await db.revoke_a2a_client(a.id, cl.id) is True
        await db.save_a2a_task(a.id, ua.id, "t1", "c1", "working", {"n": 1})
        await db.save_a2a_task(a.id, ua.id, "t2", "c2", "working", {})
        await db.save_a2a_task(a.id, ua.id, "t1", "c1", "completed", {"n": 2})
        t1 = await db.get_a2a_task(a.id, "t1")
        assert (t1["state"], t1["data"], t1["user_id"]) == ("completed", {"n": 2}, ua.id)
        assert await db.get_a2a_task(b.id, "t1") is None
        assert [t["task_id"] for t in await db.list_a2a_tasks(a.id, ua.id, context_id="c1")
                ] == ["t1"]
        assert [t["task_id"] for t in await db.list_a2a_tasks(a.id, ua.id, state="working")
                ] == ["t2"]
        assert await db.list_a2a_tasks(b.id, ub.id) == []

    # -- audit ----------------------------------------------------------------------------
    async def test_audit_filters(self, db: Any) -> None:
        a, ua, b, ub = await _two_tenants(db)
        await db.add_audit("login", tenant_id=a.id, user_id=ua.id, ip="10.0.0.1",
                           user_agent="ua", details={"x": 1})
        await db.add_audit("login_failed", tenant_id=b.id, user_id=ub.id)
        await db.add_audit("keys_rotated", tenant_id=None)
        assert [r.action for r in await db.list_audit(a.id)] == ["login"]
        assert len(await db.list_audit(None)) == 3
        assert [r.tenant_id for r in await db.list_audit(None, action="login_failed")] == [b.id]
        got = (await db.list_audit(a.id, user_id=ua.id))[0]
        assert (got.ip, got.user_agent, got.details) == ("10.0.0.1", "ua", {"x": 1})
        future = datetime.now(UTC) + timedelta(hours=1)
        assert await db.list_audit(None, since=future) == []
        assert len(await db.list_audit(None, until=future, limit=2)) == 2
