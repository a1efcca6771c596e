"""Through the real daemon: OAuth redirect to the callback page, REST status, upload, CLI."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.fakes.strava import FakeStrava
from tests.providers import samples
from tests.providers.test_strava import strava_config

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
async def fake() -> AsyncIterator[FakeStrava]:
    f = await FakeStrava(n_activities=10).start()
    yield f
    await f.stop()


async def login(http: aiohttp.ClientSession, base: str, email: str) -> dict[str, str]:
    async with http.post(f"{base}/api/auth/register",
                         json={"email": email, "password": "correct horse battery"}) as r:
        assert r.status == 201, await r.text()
    async with http.post(f"{base}/api/auth/login",
                         json={"email": email, "password": "correct horse battery"}) as r:
        body = await r.json()
        assert r.status == 200, body
    return {"Authorization": f"Bearer {body['access_token']}"}


async def test_strava_connect_via_redirect_then_disconnect(
        daemon_factory: Callable[..., Any], fake: FakeStrava) -> None:
    d = daemon_factory({"providers": {"strava": strava_config(fake)}})
    base = d.http_url
    async with aiohttp.ClientSession() as http:
        auth = await login(http, base, "runner@example.com")
        async with http.post(f"{base}/api/providers/strava/connect", headers=auth) as r:
            out = await r.json()
            assert r.status == 200 and out["status"] == "authorization_required", out
        assert out["authorization_url"].startswith(fake.url)
        async with http.get(out["authorization_url"]) as r:  # fake -> daemon callback
            page = await r.text()
            assert r.status == 200 and "Strava connected" in page
            assert str(r.url).startswith(f"{base}/oauth/strava/callback")
        async with http.get(out["authorization_url"].replace("state=", "state=x")) as r:
            assert r.status == 400 and "expired" in await r.text()
        async with http.get(f"{base}/api/providers", headers=auth) as r:
            st = {p["provider"]: p for p in (await r.json())["providers"]}
        assert st["strava"]["connected"] and "activity:read_all" in st["strava"]["scopes"]
        async with http.delete(f"{base}/api/providers/strava", headers=auth) as r:
            assert r.status == 200 and (await r.json())["revoked_upstream"]
        assert fake.deauthorized
        async with http.get(f"{base}/api/providers") as r:
            assert r.status == 401


async def test_upload_and_cli_import(daemon_factory: Callable[..., Any], tmp_path: Path) -> None:
    d = daemon_factory()
    base = d.http_url
    async with aiohttp.ClientSession() as http:
        auth = await login(http, base, "files@example.com")
        form = aiohttp.FormData()
        for name in ("sample_run.gpx", "sample_ride.tcx"):
            form.add_field("file", (DATA / name).read_bytes(), filename=name)
        async with http.post(f"{base}/api/import", data=form, headers=auth) as r:
            out = await r.json()
            assert r.status == 200, out
        assert len(out["imported"]) == 2 and not out["errors"]
    pts = samples.track(100, step_s=2)
    f1 = tmp_path / "a.fit"
    f1.write_bytes(samples.fit(pts))
    res = d.cli_json("import", str(f1), str(DATA / "sample_run.gpx"),
                     "--email", "files@example.com")
    assert len(res["imported"]) == 1 and res["duplicates"] == ["sample_run.gpx"]
    assert res["imported"][0]["distance_m"] == pytest.approx(pts[-1].distance, abs=0.01)
