"""One-activity analysis on synthetic streams with known answers, and the edge cases."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from pierre.models import ActivityDetail, Streams, Zone
from pierre.science import InsufficientData
from pierre.science.activity import (
    ActivityAnalysis,
    aerobic_decoupling,
    analyze_activity,
    distribution,
    efficiency_factor,
    plausibility_flags,
    splits,
    time_in_zones,
    vam,
)
from pierre.science.zones import karvonen_zones

START = datetime(2024, 5, 1, 7, 0, tzinfo=UTC)


def activity(
    streams: Streams | None, *, sport: str = "Run", distance_m: float | None = None,
    moving_time_s: float | None = None,
) -> ActivityDetail:
    return ActivityDetail(
        provider="synthetic", provider_id="a1", name="test", sport_type=sport, start_utc=START,
        distance_m=distance_m, moving_time_s=moving_time_s, streams=streams,
    )


def steady_run(seconds: int = 3600, speed: float = 3.0, hr: float = 150.0) -> ActivityDetail:
    time_s = [float(t) for t in range(seconds + 1)]
    return activity(
        Streams(
            time_s=time_s,
            distance_m=[speed * t for t in time_s],
            heartrate_bpm=[hr] * len(time_s),
            altitude_m=[100.0] * len(time_s),
        ),
        distance_m=speed * seconds,
        moving_time_s=float(seconds),
    )


def assert_all_finite(result: ActivityAnalysis) -> None:
    numbers: list[float] = [result.duration_s]
    for maybe in (result.distance_m, result.normalized_power_w, result.efficiency_factor,
                  result.vam_m_per_h):
        if maybe is not None:
            numbers.append(maybe)
    for dist in (result.pace_s_per_km, result.heart_rate_bpm, result.power_w):
        if dist is not None:
            numbers += [dist.min, dist.mean, dist.max, dist.p10, dist.p50, dist.p90]
    for split in result.splits:
        numbers += [split.distance_m, split.time_s, split.pace_s_per_km]
    assert all(math.isfinite(x) for x in numbers)


def test_km_splits_of_steady_run() -> None:
    # 3 m/s for 3600 s = 10.8 km -> 10 full km at 333.33 s, then 800 m partial.
    result = splits(steady_run())
    assert len(result) == 11
    assert all(s.time_s == pytest.approx(1000 / 3) for s in result[:10])
    assert result[0].pace_s_per_km == pytest.approx(1000 / 3)
    assert result[-1].partial and result[-1].distance_m == pytest.approx(800)
    assert result[-1].pace_s_per_km == pytest.approx(1000 / 3)
    assert result[0].avg_hr_bpm == pytest.approx(150)
    assert result[0].elevation_change_m == pytest.approx(0)


def test_mile_splits() -> None:
    result = splits(steady_run(), split_m=1609.344)
    assert len(result) == 7  # 10.8 km = 6.71 miles
    assert result[0].time_s == pytest.approx(1609.344 / 3)


def test_distribution_weighted_percentiles() -> None:
    d = distribution([1.0, 2.0, 3.0, 4.0, None, math.nan], [1, 1, 1, 1, 1, 1])
    assert (d.n, d.min, d.max, d.mean) == (4, 1.0, 4.0, 2.5)
    assert d.p50 == 2.0 and d.p90 == 4.0 and d.p10 == 1.0
    heavy = distribution([100.0, 200.0], [9.0, 1.0])
    assert heavy.mean == pytest.approx(110.0) and heavy.p50 == 100.0 and heavy.p90 == 100.0


def test_time_in_zones() -> None:
    time_s = [float(t) for t in range(10)]
    hr: list[float | None] = [100, 130, 130, 150, 150, 150, None, 190, 200, 130]
    zones: list[tuple[float, float | None] | Zone] = [
        (120.0, 140.0), (140.0, 160.0), Zone(min=160.0, max=190.0)
    ]
    tiz = time_in_zones(time_s, hr, zones)
    assert [z.seconds for z in tiz.zones] == [3.0, 3.0, 1.0]  # 190 counts in the top zone
    assert tiz.unzoned_s == 2.0  # 100 and 200 bpm
    assert sum(z.share for z in tiz.zones) == pytest.approx(7 / 9)


def test_time_in_karvonen_zones() -> None:
    # rest 60, max 190: zone 3 is 151-164 bpm, so a steady 155 bpm run is all zone 3.
    run = steady_run(hr=155.0)
    assert run.streams is not None
    tiz = time_in_zones(run.streams.time_s, run.streams.heartrate_bpm or [],
                        karvonen_zones(60, 190))
    assert [z.share for z in tiz.zones] == pytest.approx([0, 0, 1, 0, 0])


def test_efficiency_factor_and_no_decoupling_for_steady_run() -> None:
    run = steady_run()
    # EF = 180 m/min / 150 bpm = 1.2
    assert efficiency_factor(run) == pytest.approx(1.2)
    dec = aerobic_decoupling(run)
    assert dec.basis == "speed"
    assert dec.decoupling_pct == pytest.approx(0.0, abs=1e-9)


def test_decoupling_with_cardiac_drift() -> None:
    # HR 140 in the first half, 147 in the second at the same speed:
    # EF1 = 180/140, EF2 = 180/147, decoupling = 1 - 140/147 = 4.762 %.
    run = steady_run()
    assert run.streams is not None
    run.streams.heartrate_bpm = [140.0 if t < 1800 else 147.0 for t in run.streams.time_s]
    assert aerobic_decoupling(run).decoupling_pct == pytest.approx(100 * (1 - 140 / 147))


def test_power_basis_for_rides() -> None:
    time_s = [float(t) for t in range(3601)]
    ride = activity(
        Streams(time_s=time_s, power_w=[200.0] * 3601, heartrate_bpm=[125.0] * 3601),
        sport="Ride", moving_time_s=3600,
    )
    assert efficiency_factor(ride) == pytest.approx(1.6)  # NP 200 / 125 bpm
    assert aerobic_decoupling(ride).basis == "power"
    result = analyze_activity(ride)
    assert result.normalized_power_w == pytest.approx(200)
    assert result.splits == []  # indoor: no distance stream
    assert any("splits" in n for n in result.notes)


def test_vam_of_constant_climb() -> None:
    # 1200 s climbing at 0.25 m/s vertical = 900 m/h, then 600 s flat.
    time_s = [float(t) for t in range(1801)]
    alt: list[float | None] = [min(t, 1200) * 0.25 for t in time_s]
    climb = activity(Streams(time_s=time_s, altitude_m=alt), sport="Ride")
    assert vam(climb) == pytest.approx(900.0, rel=0.01)
    flat = activity(Streams(time_s=time_s, altitude_m=[5.0] * 1801), sport="Ride")
    with pytest.raises(InsufficientData):
        vam(flat)


def test_full_analysis_with_gaps_is_finite() -> None:
    run = steady_run()
    assert run.streams is not None and run.streams.heartrate_bpm is not None
    for i in range(100, 400):
        run.streams.heartrate_bpm[i] = None
    assert run.streams.distance_m is not None
    run.streams.distance_m[50] = None
    result = analyze_activity(run, hr_zones=[(100.0, 140.0), (140.0, 160.0), (160.0, None)])
    assert_all_finite(result)
    assert len(result.splits) == 11
    assert result.heart_rate_bpm is not None and result.heart_rate_bpm.mean == pytest.approx(150)
    assert result.pace_s_per_km is not None
    assert result.pace_s_per_km.p50 == pytest.approx(1000 / 3)
    assert result.time_in_hr_zones is not None
    assert result.time_in_hr_zones.zones[1].share == pytest.approx(1.0)
    assert result.flags == []


def test_no_hr_is_reported_not_raised() -> None:
    run = steady_run()
    assert run.streams is not None
    run.streams.heartrate_bpm = None
    result = analyze_activity(run)
    assert result.heart_rate_bpm is None and result.efficiency_factor is None
    assert any("heart-rate" in n for n in result.notes)
    with pytest.raises(InsufficientData, match="heart-rate"):
        efficiency_factor(run)
    assert_all_finite(result)


def test_no_streams() -> None:
    summary_only = activity(None, distance_m=10000, moving_time_s=3000)
    result = analyze_activity(summary_only)
    assert result.duration_s == 3000 and result.splits == []
    assert any("no streams" in n for n in result.notes)
    with pytest.raises(InsufficientData, match="no streams"):
        splits(summary_only)


def test_single_sample() -> None:
    one = activity(Streams(time_s=[0.0], distance_m=[0.0], heartrate_bpm=[150.0]),
                   moving_time_s=1)
    result = analyze_activity(one)
    assert result.splits == []
    assert_all_finite(result)


@pytest.mark.parametrize(
    "detail",
    [
        activity(None, distance_m=1000, moving_time_s=0),
        activity(Streams(time_s=[5.0, 5.0], heartrate_bpm=[140.0, 141.0])),
        activity(Streams(time_s=[0.0]), moving_time_s=None),
    ],
)
def test_zero_duration_raises(detail: ActivityDetail) -> None:
    with pytest.raises(InsufficientData, match="0 s"):
        analyze_activity(detail)


def test_mismatched_streams_raise() -> None:
    bad = activity(Streams(time_s=[0.0, 1.0, 2.0], heartrate_bpm=[150.0]), moving_time_s=2)
    with pytest.raises(InsufficientData, match="re-import"):
        analyze_activity(bad)


def test_absurd_run_is_flagged() -> None:
    # 1,000 km "run" in 2 hours.
    absurd = activity(None, distance_m=1_000_000, moving_time_s=7200)
    flags = plausibility_flags(absurd)
    assert any("distance 1000 km" in f for f in flags)
    assert any("average speed" in f for f in flags)
    assert analyze_activity(absurd).flags == flags
