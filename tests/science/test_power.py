"""Normalized Power, IF, TSS, VI and Coggan levels."""

from __future__ import annotations

import pytest

from pierre.science import InsufficientData
from pierre.science.power import (
    intensity_factor,
    normalized_power,
    normalized_power_1hz,
    power_zones,
    training_stress_score,
    variability_index,
)


def seconds(n: int) -> list[float]:
    return [float(t) for t in range(n)]


def test_constant_power_np_equals_power() -> None:
    assert normalized_power(seconds(600), [200.0] * 600) == pytest.approx(200.0)


def test_one_second_alternation_is_smoothed_to_average() -> None:
    # Every 30-s window holds 15 x 100 W and 15 x 300 W -> rolling mean 200 W everywhere.
    power: list[float | None] = [100.0 if i % 2 == 0 else 300.0 for i in range(600)]
    assert normalized_power(seconds(600), power) == pytest.approx(200.0)


def test_thirty_second_blocks_by_hand() -> None:
    # 600 s of 30-s blocks 100, 300, 100, ... W (block m = 0..19, odd blocks 300 W).
    # The window ending at second 30m + r holds r + 1 samples of block m and
    # 29 - r of block m - 1. Windows:
    #   * second 29: all of block 0 -> 100 W (1 window)
    #   * blocks m = 1, 3, ..., 19 (10 blocks, rising): 100 + 200 k / 30, k = 1..30
    #   * blocks m = 2, 4, ..., 18 (9 blocks, falling): 100 + 200 j / 30, j = 0..29
    # 571 windows; NP = (mean of 4th powers) ** 0.25 = 221.907 W.
    # (The continuous triangle wave gives ((300^5 - 100^5) / (5 * 200)) ** 0.25 = 221.80.)
    rising = [(100 + 200 * k / 30) ** 4 for k in range(1, 31)]
    falling = [(100 + 200 * j / 30) ** 4 for j in range(30)]
    expected = ((100.0**4 + 10 * sum(rising) + 9 * sum(falling)) / 571) ** 0.25
    assert expected == pytest.approx(221.907, abs=1e-3)
    power: list[float | None] = [100.0 if (i // 30) % 2 == 0 else 300.0 for i in range(600)]
    assert normalized_power(seconds(600), power) == pytest.approx(expected, rel=1e-12)


def test_absurd_power_does_not_overflow() -> None:
    assert normalized_power_1hz([1e308] * 60) == pytest.approx(1e308)
    assert normalized_power_1hz([0.0] * 60) == 0.0


def test_irregular_sampling_is_resampled() -> None:
    # 200 W recorded every 2 s for 10 minutes is still NP 200.
    time_s = [float(t) for t in range(0, 600, 2)]
    assert normalized_power(time_s, [200.0] * len(time_s)) == pytest.approx(200.0)


def test_dropout_counts_as_zero() -> None:
    # 60 s at 200 W, a 60-s recording gap, 60 s at 200 W.
    time_s = seconds(60) + [120.0 + t for t in range(60)]
    np_w = normalized_power(time_s, [200.0] * 120, max_gap_s=5)
    # seconds 0-59 recorded, 60-64 held (<= 5 s old), 65-119 zero, 120-179 recorded
    series = [200.0] * 65 + [0.0] * 55 + [200.0] * 60
    assert np_w == pytest.approx(normalized_power_1hz(series))
    assert np_w < 200.0


def test_if_tss_vi() -> None:
    # One hour at FTP is TSS 100 by definition.
    assert training_stress_score(3600, 250, 250) == pytest.approx(100.0)
    # 2 h at NP 200, FTP 250: IF 0.8, TSS = 7200*200*0.8/(250*3600)*100 = 128.
    assert intensity_factor(200, 250) == pytest.approx(0.8)
    assert training_stress_score(7200, 200, 250) == pytest.approx(128.0)
    assert variability_index(210, 200) == pytest.approx(1.05)


def test_coggan_zones_for_ftp_300() -> None:
    zones = power_zones(300)
    assert [z.number for z in zones] == [1, 2, 3, 4, 5, 6, 7]
    # 55/75/90/105/120/150 % of 300 W
    assert zones[0].max_w == pytest.approx(165)
    assert zones[1].max_w == pytest.approx(225)
    assert zones[2].max_w == pytest.approx(270)
    assert zones[3].max_w == pytest.approx(315)
    assert zones[4].max_w == pytest.approx(360)
    assert zones[5].max_w == pytest.approx(450)
    assert zones[6].min_w == pytest.approx(450) and zones[6].max_w is None


@pytest.mark.parametrize(
    "call",
    [
        lambda: normalized_power(seconds(10), [200.0] * 10),  # < 30 s
        lambda: normalized_power([0.0], [200.0]),  # single sample
        lambda: normalized_power(seconds(60), [None] * 60),  # no power
        lambda: intensity_factor(200, 0),
        lambda: training_stress_score(0, 200, 250),
        lambda: variability_index(200, 0),
    ],
)
def test_unusable_input_raises(call: object) -> None:
    with pytest.raises(InsufficientData):
        call()  # type: ignore[operator]
