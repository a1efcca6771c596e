"""The `pierre.providers` contract suite.

A provider plugin's test module subclasses :class:`ProviderContract` and gives it a
``harness`` fixture yielding a :class:`ProviderHarness`: a started provider and a
:class:`CallContext` for one user whose data is reachable (a fake server behind an
OAuth token, delivered summaries in the store, imported files...)::

    class TestMyProvider(ProviderContract):
        @pytest.fixture
        async def harness(self, tmp_path):
            fake = await FakeMine().start()
            provider = MyProvider({...})
            ctx = ...  # CallContext with token/app for the fake's user
            yield ProviderHarness(provider, ctx, min_activities=10)
            await provider.close(); await fake.stop()

The suite checks what the manager and the tools rely on: normalized, UTC-aware,
newest-first activities; offset/limit windows that tile the whole history;
before/after filters; details and streams consistent with the summaries; typed
refusals for missing data and capabilities not offered; models that survive the
cache's JSON round trip.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from typing import Any

import msgspec
import pytest

from pierre.errors import NotFound, PierreError, ProviderError
from pierre.models import ActivityDetail, ActivityQuery, ActivitySummary
from pierre.plugins.provider import API_VERSION, CAPABILITIES, CallContext, OAuthApp, Provider

STREAM_FIELDS = ("distance_m", "latlng", "altitude_m", "heartrate_bpm", "cadence_rpm",
                 "power_w", "velocity_mps", "temperature_c")


@dataclass
class ProviderHarness:
    """What a plugin's test gives the suite.

    `min_activities`: how many activities the user has at least (>= 6 for the paging
    checks). `day_range`: a span with sleep / daily heart data when offered.
    `oauth_app`: the app the fake accepts, for OAuth providers.
    """

    provider: Provider
    ctx: CallContext
    min_activities: int = 6
    day_range: tuple[date, date] | None = None
    oauth_app: OAuthApp | None = None
    missing_activity_id: str = "999999999999"


async def _all(h: ProviderHarness, **kw: Any) -> list[ActivitySummary]:
    return await h.provider.activities(h.ctx, ActivityQuery(limit=h.min_activities, **kw))


class ProviderContract:
    """What every provider plugin promises; see pierre.plugins.provider."""

    # -- identity ------------------------------------------------------------------
    async def test_declares_name_version_and_known_capabilities(
            self, harness: ProviderHarness) -> None:
        p = harness.provider
        assert p.name and p.name.isidentifier()
        assert p.API_VERSION.split(".")[0] == API_VERSION.split(".")[0]
        assert p.capabilities <= CAPABILITIES, p.capabilities - CAPABILITIES
        assert p.display_name
        if p.pkce:
            assert p.uses_oauth

    async def test_oauth_authorization_url_carries_state_client_and_challenge(
            self, harness: ProviderHarness) -> None:
        p = harness.provider
        if not p.uses_oauth:
            with pytest.raises(PierreError):
                p.authorization_url(OAuthApp("c", None, "http://a", "http://t", "http://b"),
                                    redirect_uri="http://cb", state="s", code_challenge=None)
            return
        assert harness.oauth_app is not None, "OAuth providers must give the harness their app"
        url = p.authorization_url(harness.oauth_app, redirect_uri="http://cb.invalid/cb",
                                  state="st4te", code_challenge="c" * 43 if p.pkce else None)
        assert url.startswith(harness.oauth_app.auth_url)
        assert "state=st4te" in url and f"client_id={harness.oauth_app.client_id}" in url
        assert ("code_challenge=" + "c" * 43 in url) == p.pkce

    # -- activities -------------------------------------------------------------------
    async def test_activities_are_normalized_newest_first(self, harness: ProviderHarness
                                                          ) -> None:
        items = await _all(harness)
        assert len(items) == harness.min_activities
        assert len({a.provider_id for a in items}) == len(items)
        for a in items:
            assert a.provider == harness.provider.name
            assert a.start_utc.utcoffset() == timedelta(0)
            assert a.start_local is None or a.start_local.tzinfo is None
            assert a.sport_type and a.sport_type[0].isupper()
            for v in (a.distance_m, a.moving_time_s, a.elapsed_time_s):
                assert v is None or v >= 0
        starts = [a.start_utc for a in items]
        assert starts == sorted(starts, reverse=True)

    async def test_offset_and_limit_tile_the_history(self, harness: ProviderHarness) -> None:
        n = harness.min_activities
        whole = await _all(harness)
        a = n // 3
        first = await harness.provider.activities(harness.ctx, ActivityQuery(limit=a))
        rest = await harness.provider.activities(harness.ctx,
                                                 ActivityQuery(limit=n - a, offset=a))
        assert [x.provider_id for x in first + rest] == [x.provider_id for x in whole]
        past = await harness.provider.activities(harness.ctx,
                                                 ActivityQuery(limit=5, offset=100_000))
        assert past == []

    async def test_before_and_after_filter_by_start_time(self, harness: ProviderHarness
                                                         ) -> None:
        whole = await _all(harness)
        pivot = whole[len(whole) // 2].start_utc
        older = await _all(harness, before=pivot)
        newer = await harness.provider.activities(harness.ctx,
                                                  ActivityQuery(limit=1000, after=pivot))
        assert older and all(x.start_utc < pivot for x in older)
        assert newer and all(x.start_utc > pivot for x in newer)
        assert {x.provider_id for x in newer} == {x.provider_id for x in whole
                                                  if x.start_utc > pivot}

    async def test_detail_matches_summary_and_streams_are_aligned(
            self, harness: ProviderHarness) -> None:
        p = harness.provider
        if "activity" not in p.capabilities:
            return
        s = (await _all(harness))[0]
        d = await p.activity(harness.ctx, s.provider_id, streams="streams" in p.capabilities)
        assert isinstance(d, ActivityDetail)
        assert (d.provider_id, d.start_utc, d.sport_type) == (s.provider_id, s.start_utc,
                                                              s.sport_type)
        if s.distance_m:
            assert d.distance_m == pytest.approx(s.distance_m)
        if "streams" in p.capabilities:
            assert d.streams is not None and d.streams.time_s
            t = d.streams.time_s
            assert all(b >= a for a, b in itertools.pairwise(t))
            for f in STREAM_FIELDS:
                series = getattr(d.streams, f)
                assert series is None or len(series) == len(t), f
        plain = await p.activity(harness.ctx, s.provider_id)
        assert plain.streams is None

    async def test_unknown_activity_is_not_found(self, harness: ProviderHarness) -> None:
        if "activity" not in harness.provider.capabilities:
            return
        with pytest.raises(NotFound):
            await harness.provider.activity(harness.ctx, harness.missing_activity_id)

    # -- other data --------------------------------------------------------------------
    async def test_stats_count_what_the_history_holds(self, harness: ProviderHarness) -> None:
        p = harness.provider
        if "stats" not in p.capabilities:
            return
        st = await p.stats(harness.ctx)
        assert st.provider == p.name
        for w in ("recent", "ytd", "all"):
            for k in ("run", "ride", "swim"):
                t = getattr(st, f"{w}_{k}")
                assert t.count >= 0 and t.distance_m >= 0
        assert st.all_run.count + st.all_ride.count + st.all_swim.count > 0

    async def test_daily_data_stays_in_range_oldest_first(self, harness: ProviderHarness
                                                          ) -> None:
        p = harness.provider
        wanted = {"sleep", "daily_heart"} & p.capabilities
        if not wanted:
            return
        assert harness.day_range is not None, "give the harness a day_range with data"
        start, end = harness.day_range
        if "sleep" in wanted:
            nights = await p.sleep(harness.ctx, start, end)
            assert nights and all(start <= n.date <= end for n in nights)
            assert [n.date for n in nights] == sorted(n.date for n in nights)
            for n in nights:
                assert n.end_utc > n.start_utc and n.duration_s > 0
                assert n.start_utc.tzinfo is not None
        if "daily_heart" in wanted:
            days = await p.daily_heart(harness.ctx, start, end)
            assert days and all(start <= x.date <= end for x in days)
            assert [x.date for x in days] == sorted(x.date for x in days)
            assert all(x.resting_hr_bpm is None or 25 < x.resting_hr_bpm < 120 for x in days)

    async def test_data_not_offered_is_refused_with_a_provider_error(
            self, harness: ProviderHarness) -> None:
        p = harness.provider
        today = date.today()
        calls = {"athlete": lambda: p.athlete(harness.ctx),
                 "stats": lambda: p.stats(harness.ctx),
                 "zones": lambda: p.zones(harness.ctx),
                 "sleep": lambda: p.sleep(harness.ctx, today, today),
                 "daily_heart": lambda: p.daily_heart(harness.ctx, today, today)}
        for cap, call in calls.items():
            if cap not in p.capabilities:
                with pytest.raises(ProviderError):
                    await call()

    async def test_models_survive_the_cache_round_trip(self, harness: ProviderHarness) -> None:
        items = await _all(harness)
        again = msgspec.json.decode(msgspec.json.encode(items), type=list[ActivitySummary])
        assert again == items
        assert all(a.start_utc.tzinfo is not None and a.start_utc.utcoffset() ==
                   UTC.utcoffset(None) for a in again)
