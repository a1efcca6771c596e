"""Redis cache and session store: values with TTLs under a key prefix, SCAN-based
prefix deletion (never KEYS, which blocks the server), and pub/sub fan-out."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import redis.asyncio as aioredis

from pierre.plugins.cache import API_VERSION
from pierre_redis.client import RedisBackend, guard, ms

_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")
_BATCH = 500


def glob_escape(text: str) -> str:
    """Escape `text` so SCAN MATCH treats it literally."""
    return _GLOB_SPECIAL.sub(r"\\\1", text)


def _bytes(value: bytes | str | None) -> bytes | None:
    return value.encode() if isinstance(value, str) else value


class RedisSubscription:
    """A dedicated pub/sub connection; SUBSCRIBE is sent as soon as it is created."""

    __slots__ = ("_channel", "_closed", "_pubsub", "_subscribed")

    def __init__(self, client: aioredis.Redis, channel: str) -> None:
        self._channel = channel
        self._closed = False
        self._pubsub = client.pubsub(ignore_subscribe_messages=True)
        self._subscribed: asyncio.Task[Any] = asyncio.get_running_loop().create_task(
            self._pubsub.subscribe(channel)
        )

    async def ready(self) -> None:
        with guard("cache"):
            await asyncio.shield(self._subscribed)

    async def get(self, timeout: float | None = None) -> bytes | None:
        if self._closed:
            return None
        await self.ready()
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._closed:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            with guard("cache"):
                msg = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=left if left is not None else 3600.0
                )
            if msg is not None and msg.get("type") == "message":
                data = msg["data"]
                return data if isinstance(data, bytes) else str(data).encode()
            if deadline is not None and time.monotonic() >= deadline:
                return None
        return None

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if not self._subscribed.done():
            self._subscribed.cancel()
        try:
            await self._pubsub.aclose()
        except Exception:  # closing a dead connection must not fail the caller
            pass


class RedisCache(RedisBackend):
    API_VERSION = API_VERSION
    what = "cache"

    async def get(self, key: str) -> bytes | None:
        with guard("cache"):
            value = await self.client.get(self.prefix + key)
        return _bytes(value)

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        with guard("cache"):
            await self.client.set(self.prefix + key, value, px=ms(ttl_s))

    async def delete(self, key: str) -> None:
        with guard("cache"):
            await self.client.unlink(self.prefix + key)

    async def delete_prefix(self, prefix: str) -> int:
        pattern = glob_escape(self.prefix + prefix) + "*"
        removed = 0
        batch: list[bytes] = []
        with guard("cache"):
            async for key in self.client.scan_iter(match=pattern, count=_BATCH):
                batch.append(key)
                if len(batch) >= _BATCH:
                    removed += int(await self.client.unlink(*batch))
                    batch.clear()
            if batch:
                removed += int(await self.client.unlink(*batch))
        return removed

    async def pop(self, key: str) -> bytes | None:
        with guard("cache"):
            value = await self.client.getdel(self.prefix + key)
        return _bytes(value)

    async def touch(self, key: str, ttl_s: float) -> bool:
        with guard("cache"):
            return bool(await self.client.pexpire(self.prefix + key, ms(ttl_s)))

    async def publish(self, channel: str, message: bytes) -> None:
        with guard("cache"):
            await self.client.publish(self.prefix + channel, message)

    def subscribe(self, channel: str) -> RedisSubscription:
        return RedisSubscription(self.client, self.prefix + channel)
