"""Property tests: whatever the streams look like, analysis is finite or says why not."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from pierre.models import ActivityDetail, Streams
from pierre.science import InsufficientData
from pierre.science.activity import analyze_activity
from pierre.science.power import normalized_power_1hz

maybe = st.one_of(st.none(), st.floats(min_value=0, max_value=400, allow_nan=False))


@st.composite
def detail(draw: st.DrawFn) -> ActivityDetail:
    n = draw(st.integers(min_value=1, max_value=120))
    steps = draw(st.lists(st.floats(min_value=0, max_value=30), min_size=n, max_size=n))
    time_s = [math.fsum(steps[: i + 1]) for i in range(n)]
    cumulative = 0.0
    distance: list[float | None] = []
    for step in draw(st.lists(st.floats(min_value=0, max_value=50), min_size=n, max_size=n)):
        cumulative += step
        distance.append(cumulative if draw(st.booleans()) else None)

    def stream() -> list[float | None] | None:
        if draw(st.booleans()):
            return None
        return draw(st.lists(maybe, min_size=n, max_size=n))

    return ActivityDetail(
        provider="synthetic", provider_id="p", name="random",
        sport_type=draw(st.sampled_from(["Run", "Ride"])),
        start_utc=datetime(2024, 1, 1, tzinfo=UTC),
        moving_time_s=draw(st.one_of(st.none(), st.floats(min_value=0, max_value=1e5))),
        streams=Streams(time_s=time_s, distance_m=distance, heartrate_bpm=stream(),
                        power_w=stream(), altitude_m=stream(), velocity_mps=stream()),
    )


@settings(max_examples=150, deadline=None)
@given(detail())
def test_analysis_is_finite_or_insufficient(activity: ActivityDetail) -> None:
    try:
        result = analyze_activity(activity, hr_zones=[(0.0, 150.0), (150.0, None)])
    except InsufficientData as exc:
        assert exc.message
        return
    numbers = [result.duration_s]
    numbers += [x for x in (result.distance_m, result.normalized_power_w,
                            result.efficiency_factor, result.vam_m_per_h) if x is not None]
    for dist in (result.pace_s_per_km, result.heart_rate_bpm, result.power_w):
        if dist is not None:
            numbers += [dist.min, dist.mean, dist.max, dist.p25, dist.p75]
    for split in result.splits:
        numbers += [split.distance_m, split.time_s, split.pace_s_per_km]
        numbers += [x for x in (split.avg_hr_bpm, split.elevation_change_m) if x is not None]
    if result.decoupling is not None:
        numbers += [result.decoupling.decoupling_pct]
    if result.time_in_hr_zones is not None:
        numbers += [z.share for z in result.time_in_hr_zones.zones]
    assert all(math.isfinite(x) for x in numbers)


@given(st.lists(st.floats(min_value=0, max_value=2000), min_size=30, max_size=300))
def test_np_at_least_average_power(power: list[float]) -> None:
    # Power mean inequality: NP (a 4-mean of 30-s averages) >= mean of those averages,
    # and NP never exceeds the peak power.
    np_w = normalized_power_1hz(power)
    assert math.isfinite(np_w)
    assert np_w <= max(power) + 1e-6
    windows = [sum(power[i - 30:i]) / 30 for i in range(30, len(power) + 1)]
    assert np_w >= sum(windows) / len(windows) - 1e-6
