"""VDOT and Riegel against Daniels' published tables and Riegel (1981)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pierre.science import InsufficientData
from pierre.science.vdot import (
    STANDARD_DISTANCES_M,
    equivalent_time_s,
    race_time_s,
    riegel,
    training_paces,
    vdot,
)


def hms(h: int, m: int, s: int) -> float:
    return h * 3600.0 + m * 60.0 + s


def test_vdot_5k_in_20_minutes_matches_daniels_table() -> None:
    # Daniels' Running Formula, VDOT table: 5 km in 20:00 is VDOT 49.8.
    assert vdot(5000, hms(0, 20, 0)) == pytest.approx(49.8, abs=0.1)


# Equivalent race times from Daniels' Running Formula (3rd ed.), Table 5.1.
DANIELS_TABLE = [
    (40, 5000, hms(0, 24, 8)),
    (40, 10000, hms(0, 50, 3)),
    (40, 21097.5, hms(1, 50, 59)),
    (40, 42195, hms(3, 49, 45)),
    (50, 5000, hms(0, 19, 57)),
    (50, 10000, hms(0, 41, 21)),
    (50, 21097.5, hms(1, 31, 35)),
    (50, 42195, hms(3, 10, 49)),
    (60, 5000, hms(0, 17, 3)),
    (60, 10000, hms(0, 35, 22)),
    (60, 21097.5, hms(1, 18, 9)),
    (60, 42195, hms(2, 43, 25)),
]


@pytest.mark.parametrize(("vdot_value", "distance_m", "published_s"), DANIELS_TABLE)
def test_race_time_matches_daniels_table_within_one_percent(
    vdot_value: float, distance_m: float, published_s: float
) -> None:
    assert race_time_s(vdot_value, distance_m) == pytest.approx(published_s, rel=0.01)


@pytest.mark.parametrize(("vdot_value", "distance_m", "published_s"), DANIELS_TABLE)
def test_vdot_of_table_time_round_trips(
    vdot_value: float, distance_m: float, published_s: float
) -> None:
    assert vdot(distance_m, published_s) == pytest.approx(vdot_value, abs=0.3)


def test_equivalent_time_is_consistent_with_race_time() -> None:
    ten_k = equivalent_time_s(5000, hms(0, 20, 0), 10000)
    assert ten_k == pytest.approx(race_time_s(vdot(5000, hms(0, 20, 0)), 10000))
    # back again
    assert equivalent_time_s(10000, ten_k, 5000) == pytest.approx(hms(0, 20, 0), abs=0.01)


def test_riegel_10k_40min_to_marathon() -> None:
    # Riegel (1981): T2 = T1 (D2/D1)^1.06. 40 min * 4.2195^1.06:
    # ln 4.2195 = 1.43972, *1.06 = 1.52610, e^ = 4.60017 -> 184.007 min = 3:04:00.
    # (Often quoted loosely as "about 3:04"; it is not 3:07.)
    predicted = riegel(10000, hms(0, 40, 0), 42195)
    assert predicted / 60 == pytest.approx(40 * 4.2195**1.06)
    assert predicted == pytest.approx(hms(3, 4, 0), abs=1.0)


def test_training_paces_vdot_50_match_daniels_table() -> None:
    # Daniels' Running Formula, VDOT 50: M 4:31/km, T 4:15/km, I 3:55/km, R 88 s/400 m.
    paces = training_paces(50)
    assert paces.marathon_s_per_km == pytest.approx(271, rel=0.01)
    assert paces.threshold_s_per_km == pytest.approx(255, rel=0.01)
    assert paces.interval_s_per_km == pytest.approx(235, rel=0.01)
    assert paces.repetition_s_per_km * 0.4 == pytest.approx(88, rel=0.015)
    fast, slow = paces.easy_s_per_km
    assert paces.marathon_s_per_km < fast < slow


def test_standard_distances() -> None:
    assert STANDARD_DISTANCES_M["half_marathon"] == 21097.5
    assert STANDARD_DISTANCES_M["marathon"] == 42195.0
    assert STANDARD_DISTANCES_M["mile"] == pytest.approx(1609.344)


@pytest.mark.parametrize(
    ("distance_m", "time_s"),
    [(0, 1200), (5000, 0), (-1, 100), (1_000_000, 3600), (5000, math.nan), (5000, math.inf)],
)
def test_bad_efforts_raise_insufficient_data(distance_m: float, time_s: float) -> None:
    with pytest.raises(InsufficientData):
        vdot(distance_m, time_s)


def test_out_of_range_vdot_raises() -> None:
    with pytest.raises(InsufficientData):
        race_time_s(0, 5000)
    with pytest.raises(InsufficientData):
        training_paces(150)


@given(
    distance=st.floats(min_value=1500, max_value=42195),
    t1=st.floats(min_value=0.2, max_value=0.9),
    ratio=st.floats(min_value=1.001, max_value=1.5),
)
def test_vdot_monotonic_in_speed(distance: float, t1: float, ratio: float) -> None:
    # t1 in s/m: a faster run (less time) always has the higher VDOT.
    fast, slow = distance * t1, distance * t1 * ratio
    assert vdot(distance, fast) > vdot(distance, slow)


@given(v=st.floats(min_value=30, max_value=85), distance=st.sampled_from([5000.0, 42195.0]))
def test_race_time_inverts_vdot(v: float, distance: float) -> None:
    assert vdot(distance, race_time_s(v, distance)) == pytest.approx(v, rel=1e-6)
