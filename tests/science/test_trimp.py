"""Banister TRIMP and hrTSS, worked by hand."""

from __future__ import annotations

import math

import pytest

from pierre.science import InsufficientData
from pierre.science.trimp import banister_trimp, hr_tss, stream_trimp


def test_banister_trimp_worked_example_male() -> None:
    # 60 min, HRavg 150, HRrest 60, HRmax 190, male:
    # HRr = (150 - 60) / (190 - 60) = 90 / 130 = 0.692308
    # e^(1.92 * 0.692308) = e^1.329231 = 3.777917
    # TRIMP = 60 * 0.692308 * 0.64 * 3.777917 = 100.440
    assert banister_trimp(3600, 150, 60, 190, "M") == pytest.approx(100.440, abs=1e-3)


def test_banister_trimp_worked_example_female() -> None:
    # Same session, female weighting: 60 * 0.692308 * 0.86 * e^(1.67 * 0.692308)
    # e^1.156154 = 3.177688 -> 60 * 0.692308 * 0.86 * 3.177688 = 113.517
    assert banister_trimp(3600, 150, 60, 190, "F") == pytest.approx(113.517, abs=1e-3)


def test_stream_trimp_of_constant_hr_equals_summary_trimp() -> None:
    time_s = [float(t) for t in range(3600)]
    hr: list[float | None] = [150.0] * 3600
    assert stream_trimp(time_s, hr, 60, 190, "M") == pytest.approx(
        banister_trimp(3600, 150, 60, 190, "M"), rel=1e-9
    )


def test_stream_trimp_skips_gaps_and_pauses() -> None:
    # 10 samples 1 s apart, then a 1-hour pause, then 10 more; one None.
    time_s = [float(t) for t in range(10)] + [3600.0 + t for t in range(10)]
    hr: list[float | None] = [150.0] * 20
    hr[5] = None
    got = stream_trimp(time_s, hr, 60, 190, "M", max_gap_s=10)
    per_s = banister_trimp(60, 150, 60, 190, "M") / 60
    # 19 samples with HR; the one before the pause is capped at 10 s.
    assert got == pytest.approx(per_s * (18 + 10))


def test_hr_tss_one_hour_at_threshold_is_100() -> None:
    trimp = banister_trimp(3600, 165, 50, 190, "M")
    assert hr_tss(trimp, 165, 50, 190, "M") == pytest.approx(100.0)


@pytest.mark.parametrize(
    "call",
    [
        lambda: banister_trimp(0, 150, 60, 190, "M"),
        lambda: banister_trimp(3600, math.nan, 60, 190, "M"),
        lambda: banister_trimp(3600, 150, 200, 190, "M"),
        lambda: banister_trimp(3600, 150, 60, 190, "X"),
        lambda: stream_trimp([0.0, 1.0], [None, None], 60, 190, "M"),
        lambda: stream_trimp([0.0], [150.0, 150.0], 60, 190, "M"),
        lambda: stream_trimp([], [], 60, 190, "M"),
    ],
)
def test_unusable_input_raises(call: object) -> None:
    with pytest.raises(InsufficientData):
        call()  # type: ignore[operator]
