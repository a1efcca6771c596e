"""Ordinary least-squares trend with a two-sided t-test on the slope.

Sources
-------
* OLS estimates and the slope's standard error: any regression text, e.g.
  Montgomery, Peck & Vining, *Introduction to Linear Regression Analysis*
  (5th ed., 2012), sec. 2.2-2.3.
* Student-t tail probability via the regularized incomplete beta function:
  p = I_{df/(df+t^2)}(df/2, 1/2), evaluated with the continued fraction of
  Press et al., *Numerical Recipes* (3rd ed., 2007), sec. 6.4 (``betacf``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pierre.science import InsufficientData, require_finite

_EPS = 3.0e-16
_FPMIN = 1.0e-300
_MAX_ITER = 300


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction for the incomplete beta function (modified Lentz, NR sec. 6.4)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    if abs(d) < _FPMIN:
        d = _FPMIN
    d = 1.0 / d
    h = d
    for m in range(1, _MAX_ITER + 1):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = _FPMIN if abs(d) < _FPMIN else d
        c = 1.0 + aa / c
        c = _FPMIN if abs(c) < _FPMIN else c
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = _FPMIN if abs(d) < _FPMIN else d
        c = 1.0 + aa / c
        c = _FPMIN if abs(c) < _FPMIN else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return h


def regularized_incomplete_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b) for a, b > 0 and 0 <= x <= 1 (Numerical Recipes sec. 6.4, ``betai``)."""
    if a <= 0 or b <= 0:
        raise ValueError("a and b must be positive")
    if not 0.0 <= x <= 1.0:
        raise ValueError("x must lie in [0, 1]")
    if x == 0.0 or x == 1.0:
        return x
    ln_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
        + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(ln_front)
    # The continued fraction converges fast for x < (a+1)/(a+b+2); use symmetry otherwise.
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_two_sided_p(t: float, df: float) -> float:
    """Two-sided p-value P(|T| >= |t|) for Student's t with `df` degrees of freedom."""
    if df <= 0:
        raise ValueError("degrees of freedom must be positive")
    if math.isinf(t):
        return 0.0
    p = regularized_incomplete_beta(0.5 * df, 0.5, df / (df + t * t))
    return min(1.0, max(0.0, p))


@dataclass(frozen=True, slots=True)
class Trend:
    """OLS fit y = intercept + slope * x.

    `stderr` is the standard error of the slope; `p_value` tests slope == 0
    (two-sided, n - 2 degrees of freedom). A perfect fit has stderr 0 and p 0.
    """

    slope: float
    intercept: float
    r_squared: float
    stderr: float
    intercept_stderr: float
    p_value: float
    n: int


def linear_trend(x: Sequence[float], y: Sequence[float]) -> Trend:
    """Fit y on x by ordinary least squares; needs >= 3 points and x not all equal."""
    if len(x) != len(y):
        raise InsufficientData(f"x and y must have the same length ({len(x)} != {len(y)})")
    pairs = [(float(a), float(b)) for a, b in zip(x, y, strict=True)]
    if any(not (math.isfinite(a) and math.isfinite(b)) for a, b in pairs):
        raise InsufficientData("a trend needs finite numbers; remove missing or infinite values")
    if len(pairs) < 3:
        raise InsufficientData(f"a trend needs at least 3 data points; got {len(pairs)}")
    try:
        return _fit(pairs)
    except OverflowError as exc:
        raise InsufficientData("the values are too large to fit a trend; check the data") from exc


def _fit(pairs: list[tuple[float, float]]) -> Trend:
    n = len(pairs)
    mean_x = math.fsum(a for a, _ in pairs) / n
    mean_y = math.fsum(b for _, b in pairs) / n
    sxx = math.fsum((a - mean_x) ** 2 for a, _ in pairs)
    sxy = math.fsum((a - mean_x) * (b - mean_y) for a, b in pairs)
    syy = math.fsum((b - mean_y) ** 2 for _, b in pairs)
    if sxx <= 0.0 or sxx <= 1e-12 * max(1.0, mean_x * mean_x) * n:
        raise InsufficientData("a trend needs x values that differ (all points share one x)")
    slope = sxy / sxx
    intercept = mean_y - slope * mean_x
    sse = max(0.0, math.fsum((b - intercept - slope * a) ** 2 for a, b in pairs))
    if syy == 0.0:
        r_squared = 1.0  # y is constant and the horizontal line fits it exactly
    else:
        r_squared = min(1.0, max(0.0, 1.0 - sse / syy))
    df = n - 2
    sigma2 = sse / df
    stderr = math.sqrt(sigma2 / sxx)
    intercept_stderr = math.sqrt(sigma2 * (1.0 / n + mean_x * mean_x / sxx))
    if stderr == 0.0:
        p_value = 1.0 if slope == 0.0 else 0.0
    else:
        p_value = t_two_sided_p(slope / stderr, df)
    for name, value in (("slope", slope), ("intercept", intercept), ("standard error", stderr),
                        ("intercept standard error", intercept_stderr)):
        require_finite(value, f"the trend {name}")
    return Trend(
        slope=slope,
        intercept=intercept,
        r_squared=r_squared,
        stderr=stderr,
        intercept_stderr=intercept_stderr,
        p_value=p_value,
        n=n,
    )
