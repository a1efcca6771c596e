"""Connection settings, error translation and EVALSHA handling shared by both backends."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from pierre.errors import PluginError, ServiceUnavailable

DEFAULT_PREFIX = "pierre:"


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


__all__ = ["DEFAULT_PREFIX", "RedisError", "Script", "connect", "guard", "safe_url"]
