"""Disconnecting a provider whose data Pierre stores (local files, Garmin) deletes that data,
for that user and provider only (database `delete_provider_data`, on SQLite)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from pierre.config.schema import ProviderConfig
from pierre.models import ActivityQuery
from pierre.plugins.provider import UserRef
from pierre.services import Services
from tests.fakes import garmin as g
from tests.providers.conftest import build_services, close_services, new_user

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
async def svc(tmp_path: Path) -> AsyncIterator[Services]:
    s = await build_services(tmp_path, {"garmin": ProviderConfig(client_id="c",
                                                                 client_secret="s")})
    yield s
    await close_services(s)


async def test_local_files_disconnect_deletes_imported_activities(svc: Services) -> None:
    a, b = await new_user(svc, "a@x.org"), await new_user(svc, "b@x.org")
    files = [(n, (DATA / n).read_bytes()) for n in ("sample_run.gpx", "sample_ride.tcx")]
    for who in (a, b):
        await svc.providers.connect(who, "localfiles")
        out = await (await svc.providers.client(who, "localfiles")).import_files(files)
        assert len(out["imported"]) == 2
    await svc.providers.disconnect(a, "localfiles")
    await svc.providers.connect(a, "localfiles")
    assert await (await svc.providers.client(a, "localfiles")).activities() == []
    assert len(await (await svc.providers.client(b, "localfiles")).activities()) == 2
    # Importing again after the disconnect is not refused as a duplicate.
    again = await (await svc.providers.client(a, "localfiles")).import_files(files)
    assert len(again["imported"]) == 2


async def test_delete_provider_data_drops_activities_and_daily_records(svc: Services) -> None:
    who = await new_user(svc)
    user = UserRef(who.tenant_id, who.user_id)
    garmin = svc.providers.get("garmin")
    store = svc.providers.store
    await garmin.store_summary(store, user, "activities", g.activity(1))
    await garmin.store_summary(store, user, "sleeps", g.sleep("2025-06-01"))
    await store.put_activity(user, "other", await store.get_activity(user, "garmin", "7001"))
    n = await svc.db.delete_provider_data(user.tenant_id, user.user_id, "garmin")
    assert n == 2
    assert await store.list_activities(user, "garmin", ActivityQuery()) == []
    assert await store.list_daily(user, "garmin", "sleep", date(2025, 1, 1),
                                  date(2025, 12, 31)) == []
    assert len(await store.list_activities(user, "other", ActivityQuery())) == 1
