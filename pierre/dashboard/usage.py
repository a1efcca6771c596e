"""Usage figures: tool calls per day and per tool, and weekly training volume.

`tool_calls` reads the per-day counters that every tool run increments
(`pierre.tools.invoke.usage_key`) from the shared rate-limit store, so every
instance sees the same numbers; the rest is pure.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from pierre.plugins.database import AuditRecord
from pierre.tools.invoke import usage_key


def day_range(days: int, today: date) -> list[str]:
    start = today - timedelta(days=days - 1)
    return [(start + timedelta(days=i)).isoformat() for i in range(days)]


async def tool_calls(store: Any, tenant_id: str, who: str, tools: Iterable[str], *,
                     days: int, today: date) -> dict[str, Any]:
    """Calls per day (zeros included) and per tool for a user, or the tenant with "*".

    Per-tool counters are read only for days that had calls, so a quiet account
    costs `days` reads.
    """
    names = sorted(set(tools))
    span = day_range(days, today)
    totals = [0] * len(span)
    per_tool: Counter[str] = Counter()
    if store is not None:
        totals = list(await asyncio.gather(*(store.get_window(usage_key(tenant_id, who, d))
                                             for d in span)))
        for d, n in zip(span, totals, strict=True):
            if not n:
                continue
            counts = await asyncio.gather(*(store.get_window(usage_key(tenant_id, who, d, t))
                                            for t in names))
            per_tool.update({t: c for t, c in zip(names, counts, strict=True) if c})
    return {"per_day": list(zip(span, totals, strict=True)),
            "per_tool": per_tool.most_common(), "total": sum(totals)}


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
