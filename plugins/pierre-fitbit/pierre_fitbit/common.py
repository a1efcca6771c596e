"""What the Fitbit and Google Health plugins share: one HttpApi per provider and small
parsers for protobuf-JSON values.

Both APIs meter requests per *user* (Fitbit 150/hour, Google Health 300/minute), so both
set `quota_per_user`: one user's exhausted budget must not block everybody else on the
same OAuth app (the manager records the headers and checks the snapshot).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from pierre.plugins.provider import Provider
from pierre.providers.resilience import HttpApi, MessageFn, ResetFn, Response

_DURATION = re.compile(r"^(-?\d+(?:\.\d+)?)s$")


def parse_duration_s(v: Any) -> float | None:
    """Protobuf JSON durations are strings like ``"3633.600s"``; numbers pass through."""
    if v is None:
        return None
    if isinstance(v, int | float) and not isinstance(v, bool):
        return float(v)
    m = _DURATION.match(str(v).strip())
    return float(m.group(1)) if m else None


def parse_number(v: Any) -> float | None:
    """Protobuf JSON sends int64 as strings (``"62"``); doubles as numbers."""
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return float(v)
    try:
        return float(str(v))
    except ValueError:
        return None


def date_chunks(start: date, end: date, days: int) -> list[tuple[date, date]]:
    """Split an inclusive date range into ranges of at most `days` days (API maxima)."""
    out = []
    while start <= end:
        stop = min(end, start + timedelta(days=days - 1))
        out.append((start, stop))
        start = stop + timedelta(days=1)
    return out


class HttpProvider(Provider):
    """A Provider over one shared :class:`HttpApi`. The manager hooks `self.api` to record
    the quota headers of every answer; `quota_per_user` makes it key them per user."""

    quota_per_user = True
    reset_fn: ResetFn
    message_fn: MessageFn

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.api = HttpApi(self.name, self.display_name,
                           timeout_s=float(self.options.get("timeout_s") or 15.0),
                           retries=int(self.options.get("retries", 2)),
                           backoff_base_s=float(self.options.get("backoff_s", 0.2)),
                           reset=type(self).reset_fn, message=type(self).message_fn)

    async def close(self) -> None:
        await self.api.close()

    async def call(self, method: str, url: str, *, token: str | None = None,
                   params: Mapping[str, Any] | None = None,
                   data: Mapping[str, Any] | None = None,
                   headers: Mapping[str, str] | None = None, retry: bool = True) -> Response:
        return await self.api.request(method, url, token=token, params=params, data=data,
                                      headers=headers, retry=retry)
