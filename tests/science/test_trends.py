"""OLS trend against Anscombe (1973) and Student-t critical values."""

from __future__ import annotations

import math

import pytest

from pierre.science import InsufficientData
from pierre.science.trends import linear_trend, regularized_incomplete_beta, t_two_sided_p

ANSCOMBE_X = [10, 8, 13, 9, 11, 14, 6, 4, 12, 7, 5]
ANSCOMBE_Y1 = [8.04, 6.95, 7.58, 8.81, 8.33, 9.96, 7.24, 4.26, 10.84, 4.82, 5.68]


def test_anscombe_quartet_one() -> None:
    # Anscombe, F. J. (1973) "Graphs in statistical analysis", Am Stat 27(1):17-21:
    # y = 3.00 + 0.500 x, r^2 = 0.667, slope SE 0.118, t = 4.24 on 9 df, p = 0.00217.
    fit = linear_trend(ANSCOMBE_X, ANSCOMBE_Y1)
    assert fit.slope == pytest.approx(0.5001, abs=1e-4)
    assert fit.intercept == pytest.approx(3.0001, abs=1e-4)
    assert fit.r_squared == pytest.approx(0.6665, abs=1e-4)
    assert fit.stderr == pytest.approx(0.1179, abs=1e-4)
    assert fit.intercept_stderr == pytest.approx(1.1247, abs=1e-4)
    assert fit.p_value == pytest.approx(0.00217, abs=1e-5)
    assert fit.n == 11


@pytest.mark.parametrize(
    ("t", "df", "p"),
    [
        # two-sided 5 % critical values of Student's t (standard tables)
        (12.706, 1, 0.05),
        (2.262, 9, 0.05),
        (2.086, 20, 0.05),
        (1.960, 100_000, 0.05),
        # two-sided 1 %
        (3.250, 9, 0.01),
        (0.0, 5, 1.0),
    ],
)
def test_t_distribution_two_sided_p(t: float, df: float, p: float) -> None:
    assert t_two_sided_p(t, df) == pytest.approx(p, abs=2e-4)
    assert t_two_sided_p(-t, df) == pytest.approx(t_two_sided_p(t, df))


def test_incomplete_beta_known_values() -> None:
    # I_x(1, 1) = x; I_x(a, b) = 1 - I_{1-x}(b, a); I_0.5(a, a) = 0.5
    assert regularized_incomplete_beta(1, 1, 0.3) == pytest.approx(0.3)
    assert regularized_incomplete_beta(2, 3, 0.4) == pytest.approx(
        1 - regularized_incomplete_beta(3, 2, 0.6)
    )
    assert regularized_incomplete_beta(4.5, 4.5, 0.5) == pytest.approx(0.5)
    # I_x(2, 1) = x^2
    assert regularized_incomplete_beta(2, 1, 0.7) == pytest.approx(0.49)


def test_perfect_fit_is_finite() -> None:
    fit = linear_trend([1, 2, 3, 4], [3, 5, 7, 9])
    assert (fit.slope, fit.intercept, fit.r_squared) == pytest.approx((2, 1, 1))
    assert fit.stderr == pytest.approx(0, abs=1e-12)
    assert fit.p_value == pytest.approx(0, abs=1e-12)


def test_flat_series_has_zero_slope_and_p_one() -> None:
    fit = linear_trend([1, 2, 3], [5, 5, 5])
    assert fit.slope == 0
    assert fit.p_value == 1.0
    assert all(math.isfinite(v) for v in (fit.r_squared, fit.stderr, fit.intercept_stderr))


@pytest.mark.parametrize(
    ("x", "y"),
    [([1, 2], [1, 2]), ([], []), ([3, 3, 3], [1, 2, 3]), ([1, 2, 3], [1, 2]),
     ([1, 2, math.nan], [1, 2, 3]), ([1, 2, 3], [1e200, 1e300, -1e300])],
)
def test_unusable_input_raises(x: list[float], y: list[float]) -> None:
    with pytest.raises(InsufficientData):
        linear_trend(x, y)
