"""Automated restrictions (locks, suspensions, re-authentication, throttles) with expiry.

Each restriction is a small JSON value with a TTL in the rate-limit backend, so
every instance enforces it and it lifts by itself. An admin lifts it sooner by
overwriting it with an empty value. Lookups are cached for `CACHE_S` per
instance (a request must not cost four round trips); this instance's own
changes update its cache at once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

import orjson

Kind = Literal["account", "address", "credential", "reauth", "tenant"]
KINDS: tuple[Kind, ...] = ("account", "address", "credential", "reauth", "tenant")
PREFIX = "sec:r:"
CACHE_S = 1.0
_GONE_TTL_S = 0.05


class ValueStore(Protocol):
    async def set_value(self, key: str, value: str, ttl_s: float) -> None: ...

    async def get_value(self, key: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Restriction:
    id: str
    kind: str
    target: str
    rule: str
    since: float
    until: float
    alert_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Restrictions:
    def __init__(self, store: ValueStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self._cache: dict[tuple[str, str], tuple[float, Restriction | None]] = {}

    async def apply(self, kind: Kind, target: str, ttl_s: float, *, rule: str,
                    alert_id: str | None = None) -> Restriction:
        now = self.clock()
        r = Restriction(uuid.uuid4().hex[:16], kind, target, rule, now, now + ttl_s, alert_id)
        await self.store.set_value(PREFIX + f"{kind}:{target}", orjson.dumps(r.to_dict()).decode(),
                                   ttl_s)
        self._cache[(kind, target)] = (time.monotonic() + CACHE_S, r)
        return r

    async def lift(self, kind: Kind, target: str) -> Restriction | None:
        """Remove the restriction; the one that was active, or None."""
        current = await self.get(kind, target, fresh=True)
        if current is not None:
            await self.store.set_value(PREFIX + f"{kind}:{target}", "", _GONE_TTL_S)
        self._cache[(kind, target)] = (time.monotonic() + CACHE_S, None)
        return current

    async def get(self, kind: Kind, target: str, *, fresh: bool = False) -> Restriction | None:
        key = (kind, target)
        hit = self._cache.get(key)
        mono = time.monotonic()
        if not fresh and hit is not None and hit[0] > mono:
            r = hit[1]
        else:
            raw = await self.store.get_value(PREFIX + f"{kind}:{target}")
            r = Restriction(**orjson.loads(raw)) if raw else None
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[key] = (mono + CACHE_S, r)
        if r is not None and r.until <= self.clock():
            return None
        return r

    async def active(self, pairs: list[tuple[Kind, str]]) -> list[Restriction]:
        found = await asyncio.gather(*(self.get(k, t) for k, t in pairs))
        return [r for r in found if r is not None]
