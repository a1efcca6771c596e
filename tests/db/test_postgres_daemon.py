"""The real daemon on PostgreSQL: accounts, keys and tokens work end to end."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

pytest.importorskip("pierre_postgres")
asyncpg = pytest.importorskip("asyncpg")
pytestmark = pytest.mark.postgres


async def test_daemon_on_postgres_registers_logs_in_and_revokes(daemon_factory: Any,
                                                                 pg_dsn: str) -> None:
    schema = f"d_{uuid.uuid4().hex[:10]}"
    try:
        d = await asyncio.to_thread(daemon_factory, {"database": {
            "backend": "postgres", "dsn": pg_dsn, "schema": schema, "max_size": 4}})
        async with httpx.AsyncClient(base_url=d.http_url, timeout=10) as http:
            r = await http.post("/api/auth/register",
                                json={"email": "pg@example.com", "password": "pg-password-1"})
            assert r.status_code == 201, r.text
            r = await http.post("/api/auth/login",
                                json={"email": "pg@example.com", "password": "pg-password-1"})
            token = r.json()["access_token"]
            r = await http.post("/api/keys", json={"name": "k"},
                                headers={"Authorization": f"Bearer {token}"})
            key = r.json()
            me = await http.get("/api/me", headers={"Authorization": f"Bearer {key['key']}"})
            assert me.status_code == 200 and me.json()["email"] == "pg@example.com"
            gone = await http.delete(f"/api/keys/{key['id']}",
                                     headers={"Authorization": f"Bearer {token}"})
            assert gone.status_code == 204
            me = await http.get("/api/me", headers={"Authorization": f"Bearer {key['key']}"})
            assert me.status_code == 401
        d.stop()
    finally:
        con = await asyncpg.connect(pg_dsn)
        await con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await con.close()
