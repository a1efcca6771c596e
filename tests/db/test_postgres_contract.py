"""The database contract on the real local PostgreSQL, one schema per test (dropped after)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from pierre.testing.database import DatabaseContract

asyncpg = pytest.importorskip("asyncpg")
pierre_postgres = pytest.importorskip("pierre_postgres")

pytestmark = pytest.mark.postgres


class TestPostgresContract(DatabaseContract):
    @pytest.fixture
    async def db(self, pg_dsn: str) -> AsyncIterator[object]:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        db = pierre_postgres.PostgresDatabase(pg_dsn, schema=schema, min_size=1, max_size=4)
        await db.start()
        try:
            await db.migrate()
            yield db
        finally:
            await db.close()
            con = await asyncpg.connect(pg_dsn)
            try:
                await con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            finally:
                await con.close()


async def test_bad_dsn_is_a_clear_error() -> None:
    from pierre.errors import PierreError

    db = pierre_postgres.PostgresDatabase("postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(PierreError, match="cannot connect to PostgreSQL"):
        await db.start()
