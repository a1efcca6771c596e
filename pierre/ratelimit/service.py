"""The rate-limit service every transport calls: per-call budgets, connection limits
and provider upstream budgets, over whichever `pierre.ratelimiters` backend runs.

Per call, one combined check spends from three token buckets (the credential's
tier, the user, the tenant) and the tier's monthly quota, all or nothing. When
the backend is unreachable, `[ratelimit] on_backend_error` decides: allow
("fail_open", the default, logged once per outage) or refuse with
ServiceUnavailable ("fail_closed"); the next successful call ends the outage.

Concurrent-connection counts are per instance (a connection lives on one
instance); the handshake rate per IP and everything else is shared through the
backend, so all instances see one budget.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
import structlog

from pierre.config.schema import Config, TierConfig
from pierre.errors import PierreError, ProviderQuotaExhausted, RateLimited, ServiceUnavailable
from pierre.plugins.ratelimit import Bucket, Decision, Quota, RateLimiterBase
from pierre.ratelimit.provider_quota import iso, parse_quota_headers

if TYPE_CHECKING:
    from pierre.auth.principal import Principal
    from pierre.services import Services

log = structlog.get_logger("pierre.ratelimit")
T = TypeVar("T")

# Retry-After announced when a bucket never refills (refill 0), instead of "never".
MAX_RETRY_S = 86_400.0
# A client refused for too many open connections may retry once one closes.
CONNECTION_RETRY_S = 5.0
UNENFORCED = "unenforced"


def month_window(now: float) -> tuple[str, float]:
    """(YYYYMM, seconds until the next UTC calendar month starts)."""
    t = datetime.fromtimestamp(now, UTC)
    nxt = datetime(t.year + (t.month == 12), t.month % 12 + 1, 1, tzinfo=UTC)
    return f"{t.year:04d}{t.month:02d}", nxt.timestamp() - now


class ConnectionTicket:
    """Held for a connection's lifetime; `release()` frees its slots (idempotent)."""

    __slots__ = ("_service", "ip", "key", "released")

    def __init__(self, service: RateLimitService, ip: str, key: str | None) -> None:
        self._service = service
        self.ip = ip
        self.key = key
        self.released = False

    async def release(self) -> None:
        if not self.released:
            self.released = True
            self._service._close_connection(self)


class RateLimitService:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.config: Config = services.config
        self._outage = False
        self._warned_tiers: set[str] = set()
        self._conns_ip: dict[str, int] = {}
        self._conns_key: dict[str, int] = {}

    # -- configuration ---------------------------------------------------------
    def reload(self, config: Config) -> None:
        """Take new tiers and limits (SIGHUP); buckets keep their levels, clamped to
        the new capacities on their next check."""
        self.config = config
        self._warned_tiers.clear()
        log.info("ratelimit_reloaded", tiers=sorted(config.ratelimit.tiers))

    def tier(self, name: str) -> TierConfig:
        tiers = self.config.ratelimit.tiers
        found = tiers.get(name)
        if found is not None:
            return found
        if name not in self._warned_tiers:
            self._warned_tiers.add(name)
            log.warning("ratelimit_unknown_tier", tier=name, using="starter")
        return tiers.get("starter") or TierConfig()

    def limits_for(self, principal: Principal, now: float) -> tuple[list[Bucket], list[Quota]]:
        """The buckets and quota one call of `principal` spends from. Pure."""
        rl = self.config.ratelimit
        tier = self.tier(principal.tier)
        tenant = f"t:{principal.tenant_id}"
        buckets = []
        for key, cfg, scope in (
            (principal.limit_key, tier, "key"),
            (f"{tenant}:u:{principal.user_id}", rl.user, "user"),
            (f"{tenant}:all", rl.tenant, "tenant"),
        ):
            if cfg.capacity > 0:
                buckets.append(Bucket(key, cfg.capacity, cfg.refill_per_s, scope))
        quotas = []
        if tier.monthly_quota > 0:
            month, reset_in = month_window(now)
            quotas.append(Quota(f"{principal.limit_key}:m:{month}", tier.monthly_quota,
                                reset_in, "quota"))
        return buckets, quotas

    # -- backend failures ------------------------------------------------------------
    async def _backend(self, op: Awaitable[T]) -> T | None:
        """Run a backend call; on failure follow `on_backend_error` (None = fail open)."""
        try:
            result = await op
        except PierreError as exc:
            if not isinstance(exc, ServiceUnavailable):
                raise
            self._backend_failed(exc)
            return None
        except Exception as exc:  # an unexpected backend error must not become a 500
            self._backend_failed(exc)
            return None
        if self._outage:
            self._outage = False
            log.info("ratelimit_backend_recovered", backend=self.config.ratelimit.backend)
        return result

    def _backend_failed(self, exc: Exception) -> None:
        mode = self.config.ratelimit.on_backend_error
        if not self._outage:
            self._outage = True
            log.warning("ratelimit_backend_unavailable", backend=self.config.ratelimit.backend,
                        mode=mode, error=f"{type(exc).__name__}: {exc}")
        if mode == "fail_closed":
            raise ServiceUnavailable(
                "rate limiting is temporarily unavailable, so calls are refused; retry shortly"
            ) from None

    async def health(self) -> None:
        limiter = self.services.ratelimiter
        if limiter is not None:
            await limiter.health()

    # -- per call ------------------------------------------------------------------
    async def check_call(self, principal: Principal, cost: int = 1) -> Decision:
        """Spend `cost` from every limit of the principal, or raise RateLimited."""
        limiter = self.services.ratelimiter
        buckets, quotas = self.limits_for(principal, time.time())
        if limiter is None or not (buckets or quotas):
            return Decision(True, 0, 0, 0.0, 0.0, UNENFORCED)
        check_many = getattr(limiter, "check_many", None)
        if check_many is None:  # a plugin older than check_many: the non-atomic default
            decision = await self._backend(
                RateLimiterBase.check_many(limiter, buckets, quotas, cost)  # type: ignore[arg-type]
            )
        else:
            decision = await self._backend(check_many(buckets, quotas, cost))
        if decision is None:
            return Decision(True, 0, 0, 0.0, 0.0, UNENFORCED)
        if not decision.allowed:
            if self.services.security is not None:
                await self.services.security.emit(
                    "rate_limited", tenant_id=principal.tenant_id, user_id=principal.user_id,
                    credential_id=principal.credential_id, details={"scope": decision.scope})
            self._count_refusal(decision.scope)
            raise self._refusal(principal, decision)
        return decision

    def _count_refusal(self, scope: str | None) -> None:
        if self.services.metrics is not None:
            self.services.metrics.refused(scope)

    def _refusal(self, principal: Principal, d: Decision) -> RateLimited:
        retry = d.retry_after_s if math.isfinite(d.retry_after_s) else MAX_RETRY_S
        wait = max(1, math.ceil(retry))
        if d.scope == "quota":
            resets = iso(time.time() + retry)
            msg = (f"monthly quota of {d.limit} calls for tier '{principal.tier}' is used up; "
                   f"it resets at {resets}")
        else:
            who = {"key": "this credential", "user": "this user",
                   "tenant": "this tenant"}.get(d.scope or "", "this caller")
            msg = f"rate limit of {d.limit} calls exceeded for {who}; retry in {wait} s"
        return RateLimited(msg, retry_after=retry, limit=d.limit, scope=d.scope,
                           details={"scope": d.scope})

    @staticmethod
    def headers(decision: Decision) -> dict[str, str]:
        """X-RateLimit-* for a decision; `Reset` is seconds until the limit is whole again
        (the IETF RateLimit draft's delta-seconds). Empty when nothing was enforced."""
        if decision.scope == UNENFORCED:
            return {}
        return {
            "X-RateLimit-Limit": str(decision.limit),
            "X-RateLimit-Remaining": str(max(0, decision.remaining)),
            "X-RateLimit-Reset": str(math.ceil(decision.reset_s)
                                     if math.isfinite(decision.reset_s) else int(MAX_RETRY_S)),
        }

    # -- connections -------------------------------------------------------------------
    async def open_connection(self, ip: str, credential_key: str | None) -> ConnectionTicket:
        """Admit a WebSocket connection or raise RateLimited; release the ticket on close."""
        mcp = self.config.mcp
        limiter = self.services.ratelimiter
        per_min = mcp.handshakes_per_ip_per_minute
        if per_min > 0 and limiter is not None:
            d = await self._backend(limiter.check(f"g:ip:{ip}:hs", per_min, per_min / 60.0))
            if d is not None and not d.allowed:
                self._count_refusal("handshake")
                raise RateLimited(
                    f"too many connection attempts from this address ({per_min} per minute)",
                    retry_after=d.retry_after_s, limit=per_min, scope="handshake",
                )
        if 0 < mcp.max_connections_per_ip <= self._conns_ip.get(ip, 0):
            self._count_refusal("connections_per_ip")
            raise RateLimited(
                f"too many open connections from this address (max "
                f"{mcp.max_connections_per_ip})", retry_after=CONNECTION_RETRY_S,
                limit=mcp.max_connections_per_ip, scope="connections_per_ip",
            )
        if credential_key and 0 < mcp.max_connections_per_key <= self._conns_key.get(
            credential_key, 0
        ):
            self._count_refusal("connections_per_key")
            raise RateLimited(
                f"too many open connections for this credential (max "
                f"{mcp.max_connections_per_key})", retry_after=CONNECTION_RETRY_S,
                limit=mcp.max_connections_per_key, scope="connections_per_key",
            )
        self._conns_ip[ip] = self._conns_ip.get(ip, 0) + 1
        if credential_key:
            self._conns_key[credential_key] = self._conns_key.get(credential_key, 0) + 1
        return ConnectionTicket(self, ip, credential_key)

    def _close_connection(self, ticket: ConnectionTicket) -> None:
        for table, key in ((self._conns_ip, ticket.ip), (self._conns_key, ticket.key)):
            if key is None:
                continue
            left = table.get(key, 0) - 1
            if left > 0:
                table[key] = left
            else:
                table.pop(key, None)  # no entry for idle addresses: bounded memory

    def open_connections(self, ip: str | None = None, key: str | None = None) -> int:
        if ip is not None:
            return self._conns_ip.get(ip, 0)
        if key is not None:
            return self._conns_key.get(key, 0)
        return sum(self._conns_ip.values())

    # -- provider upstream budgets -------------------------------------------------------
    @staticmethod
    def _provider_key(provider: str, app_id: str) -> str:
        return f"p:{provider}:{app_id}:quota"

    async def provider_check(self, provider: str, app_id: str, *, read: bool = True) -> None:
        """Raise ProviderQuotaExhausted when the last snapshot (from any instance) says
        the provider app's window is spent; call before each upstream request."""
        limiter = self.services.ratelimiter
        if limiter is None:
            return
        raw = await self._backend(limiter.get_value(self._provider_key(provider, app_id)))
        if not raw:
            return
        try:
            snap: dict[str, Any] = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return
        until = float(snap.get("until", 0))
        if read:
            until = max(until, float(snap.get("read_until", 0)))
        now = time.time()
        if until > now:
            raise ProviderQuotaExhausted(
                f"{provider} quota exhausted until {iso(until)}",
                retry_after=until - now, scope="provider",
                details={"provider": provider, "until": iso(until),
                         "reason": snap.get("reason", "")},
            )

    async def provider_record(self, provider: str, app_id: str,
                              headers: Mapping[str, str]) -> None:
        """Store what the provider's rate-limit headers say, for every instance to see;
        call after each upstream response (429s included)."""
        limiter = self.services.ratelimiter
        snap = parse_quota_headers(headers, time.time())
        if limiter is None or snap is None:
            return
        value = orjson.dumps({"until": snap.until, "read_until": snap.read_until,
                              "reason": snap.reason}).decode()
        await self._backend(
            limiter.set_value(self._provider_key(provider, app_id), value, snap.ttl_s)
        )
        if snap.until or snap.read_until:
            log.warning("provider_quota_exhausted", provider=provider,
                        until=iso(max(snap.until, snap.read_until)), reason=snap.reason)
