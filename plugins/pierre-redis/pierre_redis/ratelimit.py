"""Redis rate limiter: every check is one EVALSHA of `check.lua`, so all instances
spend from the same buckets atomically. Every key carries a TTL."""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from importlib import resources
from typing import Any

from pierre.plugins.ratelimit import API_VERSION, Bucket, Decision, Quota, RateLimiterBase
from pierre.ratelimit.bucket import Outcome, combine
from pierre_redis.client import RedisBackend, Script, guard, ms

CHECK = Script(resources.files("pierre_redis").joinpath("check.lua").read_text())
INCR_WINDOW = Script(
    "local n = redis.call('INCRBY', KEYS[1], ARGV[1]) "
    "if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end "
    "return n"
)
RELEASE = Script(
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
    "return 0"
)


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


class RedisRateLimiter(RedisBackend, RateLimiterBase):
    API_VERSION = API_VERSION
    what = "rate limiting"

    async def _warm_up(self) -> None:
        # Redis may come up after us; checks then follow `on_backend_error` until it does.
        await self.client.script_load(CHECK.source)

    async def check(self, key: str, capacity: int, refill_per_s: float, cost: int = 1) -> Decision:
        return await self.check_many((Bucket(key, capacity, refill_per_s),), (), cost)

    async def check_many(
        self, buckets: Sequence[Bucket], quotas: Sequence[Quota] = (), cost: int = 1
    ) -> Decision:
        p = self.prefix
        keys = [p + b.key for b in buckets] + [p + q.key for q in quotas]
        args: list[Any] = [cost, len(buckets), len(quotas)]
        for b in buckets:
            args += [b.capacity, repr(float(b.refill_per_s))]
        for q in quotas:
            args += [q.limit, ms(q.reset_in_s)]
        with guard("rate limiting"):
            raw = await CHECK(self.client, keys, args)
        allowed = bool(raw[0])
        outcomes: list[Outcome] = []
        scopes = [(b.scope, b.capacity) for b in buckets] + [(q.scope, q.limit) for q in quotas]
        for i, (scope, limit) in enumerate(scopes):
            remaining, reset_ms, retry_ms = raw[1 + 3 * i: 4 + 3 * i]
            retry = math.inf if int(retry_ms) < 0 else int(retry_ms) / 1000
            outcomes.append(Outcome(scope, limit, int(remaining), int(reset_ms) / 1000, retry))
        return combine(allowed, outcomes)

    async def incr_window(self, key: str, window_s: int, amount: int = 1) -> int:
        with guard("rate limiting"):
            return int(await INCR_WINDOW(self.client, [self.prefix + key],
                                         [amount, ms(window_s)]))

    async def get_window(self, key: str) -> int:
        with guard("rate limiting"):
            raw = await self.client.get(self.prefix + key)
        return int(raw) if raw is not None else 0

    async def set_value(self, key: str, value: str, ttl_s: float) -> None:
        with guard("rate limiting"):
            await self.client.set(self.prefix + key, value.encode(), px=ms(ttl_s))

    async def get_value(self, key: str) -> str | None:
        with guard("rate limiting"):
            raw = await self.client.get(self.prefix + key)
        return None if raw is None else _text(raw)

    async def acquire_lock(self, key: str, ttl_s: float) -> str | None:
        token = secrets.token_hex(16)
        with guard("rate limiting"):
            ok = await self.client.set(self.prefix + key, token.encode(), px=ms(ttl_s), nx=True)
        return token if ok else None

    async def release_lock(self, key: str, token: str) -> None:
        with guard("rate limiting"):
            await RELEASE(self.client, [self.prefix + key], [token])
