"""Karvonen HR zones, Friel pace zones, max-HR estimates."""

from __future__ import annotations

import itertools

import pytest

from pierre.science import InsufficientData
from pierre.science.zones import (
    karvonen_zones,
    max_hr_fox,
    max_hr_tanaka,
    pace_zones,
)


def test_max_hr_estimates() -> None:
    # Tanaka et al. (2001): 208 - 0.7 * 40 = 180; Fox et al. (1971): 220 - 40 = 180.
    assert max_hr_tanaka(40) == pytest.approx(180.0)
    assert max_hr_fox(40) == pytest.approx(180.0)
    assert max_hr_tanaka(20) == pytest.approx(194.0)
    assert max_hr_fox(20) == pytest.approx(200.0)


def test_karvonen_by_hand() -> None:
    # Rest 60, max 190 -> reserve 130. 50 % -> 60 + 65 = 125; 60 % -> 138; 70 % -> 151;
    # 80 % -> 164; 90 % -> 177; 100 % -> 190.
    zones = karvonen_zones(60, 190)
    assert [(z.min_bpm, z.max_bpm) for z in zones] == [
        pytest.approx((125, 138)),
        pytest.approx((138, 151)),
        pytest.approx((151, 164)),
        pytest.approx((164, 177)),
        pytest.approx((177, 190)),
    ]


def test_friel_pace_zones_from_5_min_threshold() -> None:
    zones = pace_zones(300.0)  # threshold 5:00/km
    assert zones[0].fastest_s_per_km == pytest.approx(387.0)  # 129 %
    assert zones[0].slowest_s_per_km is None
    assert zones[3].fastest_s_per_km == pytest.approx(300.0)
    assert zones[3].slowest_s_per_km == pytest.approx(318.0)  # 106 %
    assert zones[-1].fastest_s_per_km is None
    assert zones[-1].slowest_s_per_km == pytest.approx(270.0)  # 90 %
    for slower, faster in itertools.pairwise(zones):
        assert slower.fastest_s_per_km == faster.slowest_s_per_km


@pytest.mark.parametrize(
    "call",
    [
        lambda: max_hr_tanaka(-3),
        lambda: max_hr_fox(500),
        lambda: karvonen_zones(190, 60),
        lambda: pace_zones(0),
    ],
)
def test_unusable_input_raises(call: object) -> None:
    with pytest.raises(InsufficientData):
        call()  # type: ignore[operator]
