"""`ProviderStore` implementations: over the database plugin, and in memory for tests.

Stored activities keep the normalized detail as JSON (msgspec builtins), so a
provider that imports or receives data answers with the same models as one
that fetches it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec

from pierre.models import ActivityDetail, ActivityQuery, ActivitySummary
from pierre.plugins.provider import UserRef
from pierre.providers.summaries import apply_query

_SUMMARY_FIELDS = ActivitySummary.__struct_fields__


def _summary_dict(a: ActivitySummary) -> dict[str, Any]:
    out = msgspec.to_builtins(a)
    assert isinstance(out, dict)
    return {k: v for k, v in out.items() if k in _SUMMARY_FIELDS}


class DbProviderStore:
    """Backed by the `pierre.databases` plugin (stored activities and daily records)."""

    def __init__(self, db: Any) -> None:
        self.db = db

    async def put_activity(self, user: UserRef, provider: str, activity: ActivityDetail,
                           *, fingerprint: str | None = None) -> bool:
        from pierre.plugins.database import StoredActivity

        detail = msgspec.to_builtins(activity)
        item = StoredActivity(provider_id=activity.provider_id, start_utc=activity.start_utc,
                              sport_type=activity.sport_type, dedup_key=fingerprint,
                              summary=_summary_dict(activity), detail=detail)
        new = await self.db.upsert_activities(user.tenant_id, user.user_id, provider, [item])
        return bool(new)

    async def list_activities(self, user: UserRef, provider: str,
                              query: ActivityQuery) -> list[ActivitySummary]:
        rows = await self.db.list_stored_activities(
            user.tenant_id, user.user_id, provider, before=query.before, after=query.after,
            sport_type=query.sport_type, limit=query.limit, offset=query.offset)
        return [msgspec.convert(r.summary, ActivitySummary, strict=False) for r in rows]

    async def get_activity(self, user: UserRef, provider: str,
                           activity_id: str) -> ActivityDetail | None:
        row = await self.db.get_stored_activity(user.tenant_id, user.user_id, provider,
                                                activity_id)
        if row is None:
            return None
        return msgspec.convert(row.detail or row.summary, ActivityDetail, strict=False)

    async def put_daily(self, user: UserRef, provider: str, kind: str, day: date,
                        payload: dict[str, Any]) -> None:
        await self.db.upsert_daily(user.tenant_id, user.user_id, provider, kind,
                                   day.isoformat(), day, payload)

    async def list_daily(self, user: UserRef, provider: str, kind: str, start: date,
                         end: date) -> list[dict[str, Any]]:
        return list(await self.db.list_daily(user.tenant_id, user.user_id, provider, kind,
                                             start, end))

    async def delete_all(self, user: UserRef, provider: str) -> None:
        fn = getattr(self.db, "delete_provider_data", None)
        if fn is not None:
            await fn(user.tenant_id, user.user_id, provider)


class MemoryProviderStore:
    """In-process store: plugin contract tests and embedding without a database."""

    def __init__(self) -> None:
        self._acts: dict[tuple[UserRef, str], dict[str, tuple[ActivityDetail, str | None]]] = {}
        self._daily: dict[tuple[UserRef, str, str], dict[date, dict[str, Any]]] = {}

    async def put_activity(self, user: UserRef, provider: str, activity: ActivityDetail,
                           *, fingerprint: str | None = None) -> bool:
        acts = self._acts.setdefault((user, provider), {})
        if fingerprint is not None and any(
            fp == fingerprint and pid != activity.provider_id
            for pid, (_, fp) in acts.items()
        ):
            return False
        new = activity.provider_id not in acts
        acts[activity.provider_id] = (activity, fingerprint)
        return new

    async def list_activities(self, user: UserRef, provider: str,
                              query: ActivityQuery) -> list[ActivitySummary]:
        acts = self._acts.get((user, provider), {})
        found = apply_query((a for a, _ in acts.values()), query)
        return [msgspec.convert(_summary_dict(a), ActivitySummary) for a in found]

    async def get_activity(self, user: UserRef, provider: str,
                           activity_id: str) -> ActivityDetail | None:
        found = self._acts.get((user, provider), {}).get(activity_id)
        return found[0] if found else None

    async def put_daily(self, user: UserRef, provider: str, kind: str, day: date,
                        payload: dict[str, Any]) -> None:
        self._daily.setdefault((user, provider, kind), {})[day] = payload

    async def list_daily(self, user: UserRef, provider: str, kind: str, start: date,
                         end: date) -> list[dict[str, Any]]:
        days = self._daily.get((user, provider, kind), {})
        return [days[d] for d in sorted(days) if start <= d <= end]

    async def delete_all(self, user: UserRef, provider: str) -> None:
        self._acts.pop((user, provider), None)
        for key in [k for k in self._daily if k[0] == user and k[1] == provider]:
            del self._daily[key]
