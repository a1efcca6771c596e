"""The synthetic athlete: deterministic, realistic, cheap, and consistent with itself."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, date, datetime, timedelta

import pytest

from pierre.models import ActivityQuery
from pierre.plugins.provider import CallContext, UserRef
from pierre.providers.store import MemoryProviderStore
from pierre.providers.synthetic import SyntheticProvider

CTX = CallContext(user=UserRef("t", "u"), store=MemoryProviderStore())
END = "2025-06-30"


def make(seed: int = 7, **kw: object) -> SyntheticProvider:
    return SyntheticProvider({"seed": seed, "end_date": END, **kw})


async def test_same_seed_gives_same_history_and_other_seed_differs() -> None:
    a = await make(7).activities(CTX, ActivityQuery(limit=500))
    b = await make(7).activities(CTX, ActivityQuery(limit=500))
    c = await make(8).activities(CTX, ActivityQuery(limit=500))
    assert a == b
    assert [x.distance_m for x in a] != [x.distance_m for x in c]


async def test_year_of_activities_lists_in_milliseconds() -> None:
    p = make(days=365)
    t0 = time.perf_counter()
    items = await p.activities(CTX, ActivityQuery(limit=1000))
    elapsed = time.perf_counter() - t0
    assert 150 < len(items) < 365
    assert elapsed < 0.25, elapsed
    sports = {a.sport_type for a in items}
    assert sports == {"Run", "Ride"}
    starts = [a.start_utc for a in items]
    assert starts == sorted(starts, reverse=True)


async def test_filters_and_paging_cover_whole_history() -> None:
    p = make()
    every = await p.activities(CTX, ActivityQuery(limit=1000))
    pages = []
    offset = 0
    while True:
        page = await p.activities(CTX, ActivityQuery(limit=37, offset=offset))
        if not page:
            break
        pages.extend(page)
        offset += len(page)
    assert [a.provider_id for a in pages] == [a.provider_id for a in every]
    after = datetime(2025, 3, 1, tzinfo=UTC)
    before = datetime(2025, 4, 1, tzinfo=UTC)
    march = await p.activities(CTX, ActivityQuery(after=after, before=before, limit=1000))
    assert march and all(after < a.start_utc < before for a in march)
    assert march == [a for a in every if after < a.start_utc < before]
    runs = await p.activities(CTX, ActivityQuery(sport_type="run", limit=1000))
    assert runs and all(a.sport_type == "Run" for a in runs)


@pytest.mark.parametrize("index", [0, 5, 40])
async def test_streams_agree_with_summary(index: int) -> None:
    p = make()
    s = (await p.activities(CTX, ActivityQuery(limit=100)))[index]
    d = await p.activity(CTX, s.provider_id, streams=True, laps=True)
    st = d.streams
    assert st is not None
    dt = st.time_s[1] - st.time_s[0]
    assert dt == (1.0 if s.sport_type == "Run" else 5.0)
    n = len(st.time_s)
    for series in (st.distance_m, st.latlng, st.altitude_m, st.heartrate_bpm, st.velocity_mps):
        assert series is not None and len(series) == n
    total = sum(v or 0 for v in st.velocity_mps or []) * dt
    assert total == pytest.approx(s.distance_m, rel=0.005)
    hr = [h for h in st.heartrate_bpm or [] if h is not None]
    assert sum(hr) / len(hr) == pytest.approx(s.average_hr_bpm, abs=1.5)
    alt = [a for a in st.altitude_m or [] if a is not None]
    gain = sum(max(0.0, b - a) for a, b in itertools.pairwise(alt))
    assert gain == pytest.approx(s.elevation_gain_m, rel=0.05)
    if s.sport_type == "Ride":
        pw = [w for w in st.power_w or [] if w is not None]
        assert sum(pw) / len(pw) == pytest.approx(s.average_power_w, rel=0.01)
    assert sum(lap.distance_m or 0 for lap in d.laps) == pytest.approx(s.distance_m, rel=0.005)
    again = await p.activity(CTX, s.provider_id, streams=True)
    assert again.streams == st


async def test_unknown_activity_is_not_found() -> None:
    from pierre.errors import NotFound

    with pytest.raises(NotFound):
        await make().activity(CTX, "12345")
    with pytest.raises(NotFound):
        await make().activity(CTX, "not-a-number")


async def test_sleep_stages_add_up_and_heart_is_plausible() -> None:
    p = make()
    nights = await p.sleep(CTX, date(2025, 6, 1), date(2025, 6, 14))
    assert [n.date for n in nights] == [date(2025, 6, 1) + timedelta(days=i) for i in range(14)]
    for n in nights:
        assert sum(s.duration_s for s in n.stages) == pytest.approx(n.duration_s)
        assert (n.deep_s or 0) + (n.light_s or 0) + (n.rem_s or 0) == pytest.approx(n.asleep_s)
        assert 5.5 * 3600 < n.duration_s < 9 * 3600
        assert n.end_utc - n.start_utc == timedelta(seconds=n.duration_s)
    heart = await p.daily_heart(CTX, date(2025, 6, 1), date(2025, 6, 30))
    assert len(heart) == 30
    assert all(35 <= (h.resting_hr_bpm or 0) <= 70 for h in heart)
    assert all(15 <= (h.hrv_rmssd_ms or 0) <= 140 for h in heart)


async def test_stats_match_listed_activities() -> None:
    p = make()
    items = await p.activities(CTX, ActivityQuery(limit=1000))
    stats = await p.stats(CTX)
    runs = [a for a in items if a.sport_type == "Run"]
    assert stats.all_run.count == len(runs)
    assert stats.all_run.distance_m == pytest.approx(sum(a.distance_m or 0 for a in runs))
    zones = await p.zones(CTX)
    assert zones.heart_rate_bpm and zones.heart_rate_bpm[-1].max is None
