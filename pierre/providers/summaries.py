"""Pure helpers shared by providers: query filtering and totals from activity lists."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from pierre.models import ActivityQuery, ActivitySummary, Stats, Totals

A = TypeVar("A", bound=ActivitySummary)

# Sport types folded into the run / ride / swim buckets of Stats.
_RUN = {"Run", "TrailRun", "VirtualRun", "Treadmill"}
_RIDE = {"Ride", "VirtualRide", "MountainBikeRide", "GravelRide", "EBikeRide"}
_SWIM = {"Swim", "OpenWaterSwim"}


def apply_query(items: Iterable[A], query: ActivityQuery) -> list[A]:
    """Filter (after < start < before, sport), sort newest first, then offset/limit."""
    out = [
        a for a in items
        if (query.after is None or a.start_utc > query.after)
        and (query.before is None or a.start_utc < query.before)
        and (query.sport_type is None or a.sport_type.lower() == query.sport_type.lower())
    ]
    out.sort(key=lambda a: a.start_utc, reverse=True)
    return out[query.offset: query.offset + query.limit]


def _add(t: Totals, a: ActivitySummary) -> Totals:
    return Totals(
        count=t.count + 1,
        distance_m=t.distance_m + (a.distance_m or 0.0),
        moving_time_s=t.moving_time_s + (a.moving_time_s or 0.0),
        elapsed_time_s=t.elapsed_time_s + (a.elapsed_time_s or 0.0),
        elevation_gain_m=t.elevation_gain_m + (a.elevation_gain_m or 0.0),
    )


def stats_from(provider: str, activities: Sequence[ActivitySummary],
               now: datetime | None = None) -> Stats:
    """Strava-shaped totals (recent = last 4 weeks, ytd, all) for providers without them."""
    now = now or datetime.now(UTC)
    recent_from = now - timedelta(days=28)
    year_from = datetime(now.year, 1, 1, tzinfo=UTC)
    s = Stats(provider=provider)
    biggest_ride = 0.0
    biggest_climb = 0.0
    for a in activities:
        kind = ("run" if a.sport_type in _RUN else "ride" if a.sport_type in _RIDE
                else "swim" if a.sport_type in _SWIM else None)
        if kind is None:
            continue
        setattr(s, f"all_{kind}", _add(getattr(s, f"all_{kind}"), a))
        if a.start_utc >= year_from:
            setattr(s, f"ytd_{kind}", _add(getattr(s, f"ytd_{kind}"), a))
        if a.start_utc >= recent_from:
            setattr(s, f"recent_{kind}", _add(getattr(s, f"recent_{kind}"), a))
        if kind == "ride":
            biggest_ride = max(biggest_ride, a.distance_m or 0.0)
        biggest_climb = max(biggest_climb, a.elevation_gain_m or 0.0)
    s.biggest_ride_distance_m = biggest_ride or None
    s.biggest_climb_elevation_gain_m = biggest_climb or None
    return s
