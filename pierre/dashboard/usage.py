"""Usage figures from the audit log: calls per day and per action/tool (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from pierre.plugins.database import AuditRecord


def summarize(records: Iterable[AuditRecord], *, days: int, today: date
              ) -> dict[str, Any]:
    """Per-day counts for the last `days` days (zeros included) and per-tool counts.

    A record counts as a tool call when its details name a `tool`; other records
    count under their action, so sign-ins and key changes show up as well.
    """
    start = today - timedelta(days=days - 1)
    per_day: Counter[str] = Counter()
    per_tool: Counter[str] = Counter()
    for rec in records:
        day = rec.created_at.date()
        if day < start or day > today:
            continue
        per_day[day.isoformat()] += 1
        tool = rec.details.get("tool") if isinstance(rec.details, dict) else None
        per_tool[str(tool) if tool else rec.action] += 1
    series = [((start + timedelta(days=i)).isoformat(),
               per_day.get((start + timedelta(days=i)).isoformat(), 0)) for i in range(days)]
    return {"per_day": series, "per_tool": per_tool.most_common(),
            "total": sum(per_day.values())}


def weekly_volume(activities: Iterable[Any], *, weeks: int, today: date
                  ) -> list[tuple[str, float, int]]:
    """(ISO Monday, km, count) for the last `weeks` weeks, oldest first."""
    monday = today - timedelta(days=today.weekday())
    first = monday - timedelta(weeks=weeks - 1)
    km: dict[date, float] = {first + timedelta(weeks=i): 0.0 for i in range(weeks)}
    n: Counter[date] = Counter()
    for a in activities:
        d = a.start_utc.date()
        wk = d - timedelta(days=d.weekday())
        if wk in km:
            km[wk] += (a.distance_m or 0.0) / 1000.0
            n[wk] += 1
    return [(wk.isoformat(), round(v, 2), n[wk]) for wk, v in km.items()]
