"""A rate limiter that never refuses: used to prove third-party plugins load from TOML."""

from __future__ import annotations

import time
import uuid
from typing import Any

from pierre.plugins.ratelimit import Decision


class UnlimitedRateLimiter:
    API_VERSION = "1.0"

    def __init__(self) -> None:
        self._values: dict[str, tuple[str, float]] = {}
        self._windows: dict[str, int] = {}

    @classmethod
    def from_config(cls, options: dict[str, Any], ctx: Any) -> UnlimitedRateLimiter:
        return cls()

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def health(self) -> None: ...

    async def check(self, key: str, capacity: int, refill_per_s: float, cost: int = 1) -> Decision:
        return Decision(True, capacity, capacity, 0.0)

    async def incr_window(self, key: str, window_s: int, amount: int = 1) -> int:
        self._windows[key] = self._windows.get(key, 0) + amount
        return self._windows[key]

    async def get_window(self, key: str) -> int:
        return self._windows.get(key, 0)

    async def set_value(self, key: str, value: str, ttl_s: float) -> None:
        self._values[key] = (value, time.monotonic() + ttl_s)

    async def get_value(self, key: str) -> str | None:
        item = self._values.get(key)
        return item[0] if item and item[1] > time.monotonic() else None

    async def acquire_lock(self, key: str, ttl_s: float) -> str | None:
        return uuid.uuid4().hex

    async def release_lock(self, key: str, token: str) -> None: ...


class AncientRateLimiter(UnlimitedRateLimiter):
    API_VERSION = "0.3"
