"""Helpers for irregular sample series with gaps (`pierre.models.Streams` shape).

A sample stands for the time until the next sample. Time between samples
longer than `max_gap_s` is treated as a pause (recording stopped or auto-paused)
and is not credited to the earlier sample beyond `max_gap_s`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from pierre.science import InsufficientData

DEFAULT_MAX_GAP_S = 10.0
MAX_RESAMPLE_S = 7 * 24 * 3600


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else 0.5 * (ordered[mid - 1] + ordered[mid])


def check_time(time_s: Sequence[float]) -> None:
    """Raise `InsufficientData` unless `time_s` is finite and non-decreasing."""
    if not time_s:
        raise InsufficientData("the activity has no time samples")
    prev = -math.inf
    for t in time_s:
        if not math.isfinite(t) or t < prev:
            raise InsufficientData("the time stream is not increasing; re-import the activity")
        prev = t


def sample_durations(time_s: Sequence[float], max_gap_s: float = DEFAULT_MAX_GAP_S) -> list[float]:
    """Seconds each sample stands for: the gap to the next sample, capped at `max_gap_s`.

    The last sample gets the median interval (1 s for a single sample).
    """
    check_time(time_s)
    gaps = [min(b - a, max_gap_s) for a, b in itertools.pairwise(time_s)]
    positive = [g for g in gaps if g > 0]
    last = _median(positive) if positive else 1.0
    return [*gaps, min(last, max_gap_s)]


def paired(
    time_s: Sequence[float], values: Sequence[float | None] | None
) -> list[tuple[float, float]]:
    """(time, value) pairs whose value is present and finite."""
    if values is None:
        return []
    return [
        (t, float(v))
        for t, v in zip(time_s, values, strict=False)
        if v is not None and math.isfinite(v)
    ]


def resample_1hz(
    time_s: Sequence[float],
    values: Sequence[float | None],
    *,
    max_gap_s: float = 5.0,
    fill: float = 0.0,
) -> list[float]:
    """Resample to one value per second from the first to the last sample.

    Each second takes the most recent valid sample at or before it (sample-and-
    hold), as long as that sample is at most `max_gap_s` old; older than that
    (a dropout or pause) the second gets `fill`.
    """
    check_time(time_s)
    points = paired(time_s, values)
    if not points:
        return []
    start, end = time_s[0], time_s[-1]
    if end - start > MAX_RESAMPLE_S:
        raise InsufficientData("the activity lasts more than 7 days; check its time stream")
    n = math.floor(end - start) + 1
    out: list[float] = []
    j = 0
    last_t: float | None = None
    last_v = fill
    for k in range(n):
        now = start + k
        while j < len(points) and points[j][0] <= now + 1e-9:
            last_t, last_v = points[j]
            j += 1
        out.append(last_v if last_t is not None and now - last_t <= max_gap_s else fill)
    return out
