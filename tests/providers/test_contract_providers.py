"""The provider contract suite (pierre.testing.provider) on every provider Pierre ships:
Strava and Garmin against their fakes, the synthetic athlete, and local files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest
from pierre_garmin.provider import GarminProvider
from pierre_strava import StravaProvider

from pierre.plugins.provider import CallContext, OAuthApp, UserRef
from pierre.providers import oauth
from pierre.providers.localfiles import LocalFilesProvider
from pierre.providers.store import MemoryProviderStore
from pierre.providers.synthetic import SyntheticProvider
from pierre.testing.provider import ProviderContract, ProviderHarness
from tests.fakes import garmin as g
from tests.fakes.garmin import FakeGarmin
from tests.fakes.strava import FakeStrava
from tests.providers import samples

USER = UserRef("tenant-1", "user-1")
DATA = Path(__file__).resolve().parents[1] / "data"


async def _code(url: str) -> dict[str, str]:
    async with aiohttp.ClientSession() as http, http.get(url, allow_redirects=False) as r:
        assert r.status == 302
        return dict(parse_qsl(urlsplit(r.headers["Location"]).query))


class TestStravaContract(ProviderContract):
    @pytest.fixture
    async def harness(self) -> AsyncIterator[ProviderHarness]:
        fake = await FakeStrava(n_activities=12).start()
        p = StravaProvider({"retries": 0})
        app = OAuthApp(fake.client_id, fake.client_secret, f"{fake.url}/oauth/authorize",
                       f"{fake.url}/oauth/token", f"{fake.url}/api/v3",
                       scopes=p.default_scopes)
        params = await _code(p.authorization_url(app, redirect_uri="http://cb.invalid/cb",
                                                 state="s", code_challenge=None))
        token = await p.exchange_code(app, code=params["code"], redirect_uri="http://cb",
                                      code_verifier=None, params=params)
        ctx = CallContext(USER, MemoryProviderStore(), token, app)
        yield ProviderHarness(p, ctx, min_activities=12, oauth_app=app)
        await p.close()
        await fake.stop()


class TestGarminContract(ProviderContract):
    @pytest.fixture
    async def harness(self) -> AsyncIterator[ProviderHarness]:
        fake = await FakeGarmin().start()
        p = GarminProvider({"retries": 0})
        app = OAuthApp(fake.client_id, fake.client_secret, f"{fake.url}/oauth2Confirm",
                       f"{fake.url}/di-oauth2-service/oauth/token", fake.url)
        verifier = oauth.new_verifier()
        params = await _code(p.authorization_url(
            app, redirect_uri="http://cb.invalid/cb", state="s",
            code_challenge=oauth.challenge_s256(verifier)))
        token = await p.exchange_code(app, code=params["code"],
                                      redirect_uri="http://cb.invalid/cb",
                                      code_verifier=verifier, params=params)
        ctx = CallContext(USER, MemoryProviderStore(), token, app)
        days = [f"2025-05-{d:02d}" for d in range(20, 31)]
        delivered = {"activities": [g.activity(i) for i in range(10)],
                     "activityDetails": [g.activity_details(i) for i in range(10)],
                     "sleeps": [g.sleep(d) for d in days],
                     "dailies": [g.daily(d, 45 + i) for i, d in enumerate(days)],
                     "hrv": [g.hrv(d, 60) for d in days]}
        for kind, items in delivered.items():
            for item in items:
                await p.store_summary(ctx.store, USER, kind, item)
        yield ProviderHarness(p, ctx, min_activities=10, oauth_app=app,
                              day_range=(date(2025, 5, 22), date(2025, 5, 28)))
        await p.close()
        await fake.stop()


class TestSyntheticContract(ProviderContract):
    @pytest.fixture
    async def harness(self) -> AsyncIterator[ProviderHarness]:
        p = SyntheticProvider({"seed": 11, "days": 60})
        today = date.today()
        yield ProviderHarness(p, CallContext(USER, MemoryProviderStore()), min_activities=20,
                              day_range=(date.fromordinal(today.toordinal() - 20),
                                         date.fromordinal(today.toordinal() - 10)),
                              missing_activity_id="1")


class TestLocalFilesContract(ProviderContract):
    @pytest.fixture
    async def harness(self, tmp_path: Path) -> AsyncIterator[ProviderHarness]:
        p = LocalFilesProvider({})
        ctx = CallContext(USER, MemoryProviderStore())
        files = [(n, (DATA / n).read_bytes()) for n in ("sample_run.gpx", "sample_ride.tcx",
                                                         "sample_run.fit")]
        for k in range(4):  # distinct starts, a day apart
            pts = samples.track(60, step_s=2,
                                start=datetime(2025, 4, 1, 7, tzinfo=UTC) + timedelta(days=k))
            files.append((f"extra{k}.fit", samples.fit(pts)))
        out = await p.import_files(ctx, files)
        assert not out["errors"], out
        n = len(out["imported"])
        yield ProviderHarness(p, ctx, min_activities=n, missing_activity_id="nope")
