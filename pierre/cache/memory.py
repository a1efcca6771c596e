"""The embedded cache and session store: an LRU with TTLs, and in-process pub/sub.

Bounded by `[cache] max_entries` (least recently used entries go first), so a
flood of distinct keys cannot exhaust memory. Publish reaches subscribers of
this process only; a multi-instance deployment uses the Redis backend.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from typing import Any

from pierre.plugins.base import PluginContext
from pierre.plugins.cache import API_VERSION

# A slow subscriber must not hold unbounded memory: beyond this the oldest message drops.
QUEUE_LIMIT = 1_000


class MemorySubscription:
    __slots__ = ("_cache", "_channel", "_closed", "_queue")

    def __init__(self, cache: MemoryCache, channel: str) -> None:
        self._cache = cache
        self._channel = channel
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._closed = False

    def _deliver(self, message: bytes) -> None:
        if self._queue.qsize() >= QUEUE_LIMIT:
            self._queue.get_nowait()
        self._queue.put_nowait(message)

    async def ready(self) -> None:
        return None

    async def get(self, timeout: float | None = None) -> bytes | None:
        if self._closed and self._queue.empty():
            return None
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._cache._unsubscribe(self._channel, self)
            self._queue.put_nowait(None)  # wake a waiting reader


class MemoryCache:
    API_VERSION = API_VERSION

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max(1, int(max_entries))
        self._data: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._subs: dict[str, set[MemorySubscription]] = {}
        self.clock = time.monotonic

    @classmethod
    def from_config(cls, options: dict[str, Any], ctx: PluginContext) -> MemoryCache:
        return cls(max_entries=int(options.get("max_entries", ctx.config.cache.max_entries)))

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._data.clear()
        for subs in list(self._subs.values()):
            for sub in list(subs):
                await sub.close()

    async def health(self) -> None:
        return None

    def __len__(self) -> int:
        return len(self._data)

    def _live(self, key: str) -> tuple[bytes, float] | None:
        item = self._data.get(key)
        if item is None:
            return None
        if item[1] <= self.clock():
            del self._data[key]
            return None
        self._data.move_to_end(key)
        return item

    async def get(self, key: str) -> bytes | None:
        item = self._live(key)
        return None if item is None else item[0]

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        data = self._data
        data[key] = (bytes(value), self.clock() + max(0.001, ttl_s))
        data.move_to_end(key)
        while len(data) > self.max_entries:
            data.popitem(last=False)

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def delete_prefix(self, prefix: str) -> int:
        now = self.clock()
        doomed = [k for k in self._data if k.startswith(prefix)]
        live = 0
        for k in doomed:
            if self._data.pop(k)[1] > now:
                live += 1
        return live

    async def pop(self, key: str) -> bytes | None:
        item = self._live(key)
        if item is None:
            return None
        del self._data[key]
        return item[0]

    async def touch(self, key: str, ttl_s: float) -> bool:
        item = self._live(key)
        if item is None:
            return False
        self._data[key] = (item[0], self.clock() + max(0.001, ttl_s))
        return True

    async def publish(self, channel: str, message: bytes) -> None:
        for sub in list(self._subs.get(channel, ())):
            sub._deliver(bytes(message))

    def subscribe(self, channel: str) -> MemorySubscription:
        sub = MemorySubscription(self, channel)
        self._subs.setdefault(channel, set()).add(sub)
        return sub

    def _unsubscribe(self, channel: str, sub: MemorySubscription) -> None:
        subs = self._subs.get(channel)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[channel]
