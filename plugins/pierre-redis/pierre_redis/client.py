"""Connection settings, error translation and EVALSHA handling shared by both backends."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Self

import redis.asyncio as aioredis
import structlog
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from pierre.errors import PluginError, ServiceUnavailable

DEFAULT_PREFIX = "pierre:"

log = structlog.get_logger("pierre.redis")


def ms(seconds: float) -> int:
    """A TTL in whole milliseconds, rounded up and at least 1 (0 would mean no expiry)."""
    return max(1, math.ceil(seconds * 1000))


def connect(options: dict[str, Any]) -> aioredis.Redis:
    """A pooled client that fails fast: short timeouts and a single immediate retry
    (which reconnects a pooled connection broken by a Redis restart)."""
    url = options.get("url")
    if not url:
        raise PluginError("the redis backend needs `url` (e.g. redis://127.0.0.1:6379/0)")
    return aioredis.Redis.from_url(
        str(url),
        socket_timeout=float(options.get("socket_timeout_s", 1.0)),
        socket_connect_timeout=float(options.get("connect_timeout_s", 1.0)),
        max_connections=int(options.get("max_connections", 64)),
        retry=Retry(NoBackoff(), 1),
        decode_responses=False,
    )


def safe_url(options: dict[str, Any]) -> str:
    """The URL without its password, for logs and errors."""
    url = str(options.get("url", ""))
    if "@" in url:
        scheme, _, rest = url.partition("://")
        url = f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return url


@contextmanager
def guard(what: str) -> Iterator[None]:
    """Redis being away is a ServiceUnavailable the rate-limit service knows how to
    treat (fail open or closed); other Redis errors are bugs and surface as such."""
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        raise ServiceUnavailable(f"{what} backend (redis) is unavailable") from exc


class RedisBackend:
    """What the cache and the rate limiter share: one pooled client under a key prefix,
    built from the plugin options, that tolerates Redis coming up after the daemon."""

    # Names the backend in ServiceUnavailable messages.
    what = "redis"

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = dict(options)
        self.prefix = str(options.get("prefix", DEFAULT_PREFIX))
        self.client = connect(self.options)

    @classmethod
    def from_config(cls, options: dict[str, Any], ctx: Any) -> Self:
        return cls(options)

    async def start(self) -> None:
        try:
            with guard(self.what):
                await self._warm_up()
        except Exception as exc:
            log.warning("redis_unavailable_at_start", url=safe_url(self.options), error=str(exc))

    async def _warm_up(self) -> None:
        await self.client.ping()

    async def close(self) -> None:
        await self.client.aclose()

    async def health(self) -> None:
        with guard(self.what):
            await self.client.ping()


class Script:
    """A Lua script run by EVALSHA; loaded again when Redis answers NOSCRIPT
    (after SCRIPT FLUSH, a restart or a failover)."""

    def __init__(self, source: str) -> None:
        import hashlib

        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def __call__(
        self, client: aioredis.Redis, keys: Sequence[str], args: Sequence[Any]
    ) -> Any:
        try:
            return await client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            await client.script_load(self.source)
            return await client.evalsha(self.sha, len(keys), *keys, *args)


__all__ = ["DEFAULT_PREFIX", "RedisBackend", "RedisError", "Script", "connect", "guard", "ms",
           "safe_url"]
