"""The database contract on the built-in SQLite plugin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pierre.db.sqlite import SQLiteDatabase
from pierre.testing.database import DatabaseContract


class TestSQLiteContract(DatabaseContract):
    @pytest.fixture
    async def db(self, tmp_path: Path) -> AsyncIterator[SQLiteDatabase]:
        db = SQLiteDatabase(str(tmp_path / "contract.db"))
        await db.start()
        await db.migrate()
        yield db
        await db.close()


async def test_unmigrated_database_is_refused_with_a_hint(tmp_path: Path) -> None:
    from pierre.errors import PierreError

    db = SQLiteDatabase(str(tmp_path / "empty.db"))
    await db.start()
    try:
        with pytest.raises(PierreError, match="pierre migrate"):
            await db.check_schema()
    finally:
        await db.close()
