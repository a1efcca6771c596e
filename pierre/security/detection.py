"""Detection rules evaluated on the event stream, with counters in a shared store.

Counters live in the rate-limit backend (memory or Redis), so a rule counts the
events of every instance. Each rule fires when an atomic increment returns
exactly its threshold, so one instance, once per window, raises the alert even
when several see the traffic. Pure apart from the counter store; tests drive it
with the memory backend and its injectable clock.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pierre.security import events as ev
from pierre.security.config import MonitoringConfig, RuleConfig

PREFIX = "sec:c:"
_SEEN_MAX = 50_000


class CounterStore(Protocol):
    async def incr_window(self, key: str, window_s: int, amount: int = 1) -> int: ...

    async def get_window(self, key: str) -> int: ...


@dataclass(frozen=True, slots=True)
class Detection:
    """A rule fired: who (`subject`), how much (`count` of `threshold` in `window_s`)."""

    rule: str
    subject: dict[str, str]
    count: int
    threshold: int
    window_s: int
    actions: tuple[str, ...]
    action_s: int
    event: ev.Event
    extra: dict[str, Any] = field(default_factory=dict)

    def evidence(self) -> dict[str, Any]:
        return {"count": self.count, "threshold": self.threshold, "window_s": self.window_s,
                "last_event": self.event.evidence(), **self.extra}


class Detector:
    def __init__(self, cfg: MonitoringConfig, store: CounterStore,
                 clock: Callable[[], float] = time.time) -> None:
        self.cfg = cfg
        self.store = store
        self.clock = clock
        self._trusted = [ipaddress.ip_network(a, strict=False) for a in cfg.trusted_addresses]
        # (credential, ip) pairs seen lately: a repeat costs no round trip at all.
        self._seen: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._prev_tool: dict[tuple[str, int], int] = {}

    def trusted(self, ip: str | None) -> bool:
        if not ip or not self._trusted:
            return False
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(addr in net for net in self._trusted)

    async def _count(self, rule: RuleConfig, key: str) -> int:
        return await self.store.incr_window(PREFIX + key, rule.window_s)

    def _fire(self, name: str, rule: RuleConfig, count: int, subject: dict[str, str],
              event: ev.Event, **extra: Any) -> Detection:
        return Detection(name, subject, count, rule.threshold, rule.window_s,
                         tuple(rule.actions), rule.action_s, event, extra)

    async def observe(self, event: ev.Event) -> tuple[list[Detection], dict[str, Any]]:
        """Detections this event completes, and facts learned (e.g. `new_address`)."""
        if not self.cfg.enabled:
            return [], {}
        name = event.name
        if name in (ev.LOGIN_FAILED, ev.MFA_FAILED):
            return await self._login_failure(event), {}
        if name == ev.API_KEY_USED:
            return await self._api_key(event)
        if name == ev.CROSS_TENANT_REFUSED:
            return await self._simple("cross_tenant", self.cfg.cross_tenant, event,
                                      _actor(event)), {}
        if name == ev.REFRESH_REUSE:
            return await self._simple("refresh_reuse", self.cfg.refresh_reuse, event,
                                      _user(event)), {}
        if name == ev.TOOL_CALL:
            return await self._tool_call(event), {}
        return [], {}

    async def _simple(self, name: str, rule: RuleConfig, event: ev.Event,
                      subject: dict[str, str] | None) -> list[Detection]:
        if not rule.enabled or subject is None:
            return []
        key = f"{name}:" + ":".join(f"{k}={v}" for k, v in sorted(subject.items()))
        n = await self._count(rule, key)
        return [self._fire(name, rule, n, subject, event)] if n == rule.threshold else []

    async def _login_failure(self, event: ev.Event) -> list[Detection]:
        out: list[Detection] = []
        # The login name (hashed) when the caller reports one: the same key before and
        # after the user is known, so wrong passwords and wrong MFA codes add up.
        account = str(event.details.get("account") or "").lower() or event.user_id or None
        cfg = self.cfg
        if account and cfg.brute_force_account.enabled:
            rule: RuleConfig = cfg.brute_force_account
            n = await self._count(rule, f"bfa:{account}")
            if n == rule.threshold:
                subject = {"account": account}
                if event.user_id:
                    subject["user_id"] = event.user_id
                out.append(self._fire("brute_force_account", rule, n, subject, event))
        ip = event.ip
        if ip and not self.trusted(ip):
            rule = cfg.brute_force_address
            if rule.enabled:
                n = await self._count(rule, f"bfi:{ip}")
                if n == rule.threshold:
                    out.append(self._fire("brute_force_address", rule, n, {"ip": ip}, event))
            rule = cfg.credential_stuffing
            if rule.enabled and account:
                if await self._count(rule, f"csp:{ip}:{account}") == 1:
                    n = await self._count(rule, f"cs:{ip}")
                    if n == rule.threshold:
                        out.append(self._fire("credential_stuffing", rule, n, {"ip": ip}, event))
        return out

    async def _api_key(self, event: ev.Event) -> tuple[list[Detection], dict[str, Any]]:
        cred, ip = event.credential_id, event.ip
        rule = self.cfg.api_key_addresses
        if not cred or not ip or not rule.enabled:
            return [], {}
        now = self.clock()
        pair = (cred, ip)
        seen_until = self._seen.get(pair)
        if seen_until is not None and seen_until > now:
            return [], {}
        self._seen[pair] = now + rule.window_s
        self._seen.move_to_end(pair)
        while len(self._seen) > _SEEN_MAX:
            self._seen.popitem(last=False)
        if await self._count(rule, f"kip:{cred}:{ip}") != 1:
            return [], {}
        facts: dict[str, Any] = {"new_address": True}
        if self.trusted(ip):
            return [], facts
        n = await self._count(rule, f"ka:{cred}")
        facts["addresses_in_window"] = n
        if n == rule.threshold:
            subject = {"credential_id": cred}
            if event.user_id:
                subject["user_id"] = event.user_id
            return [self._fire("api_key_addresses", rule, n, subject, event)], facts
        return [], facts

    async def _tool_call(self, event: ev.Event) -> list[Detection]:
        rule = self.cfg.tool_spike
        tenant = event.tenant_id
        if not rule.enabled or not tenant:
            return []
        idx = int(self.clock() // rule.window_s)
        key = f"{PREFIX}tool:{tenant}:{idx}"
        n = await self.store.incr_window(key, rule.window_s * 2)
        if n < rule.threshold:
            return []
        prev_key = (tenant, idx - 1)
        prev = self._prev_tool.get(prev_key)
        if prev is None:
            prev = await self.store.get_window(f"{PREFIX}tool:{tenant}:{idx - 1}")
            self._prev_tool = {k: v for k, v in self._prev_tool.items() if k[1] >= idx - 1}
            self._prev_tool[prev_key] = prev
        if n <= rule.factor * prev:
            return []
        # Once per tenant and window across instances.
        if await self.store.incr_window(f"{PREFIX}toolfired:{tenant}:{idx}",
                                        rule.window_s * 2) != 1:
            return []
        return [self._fire("tool_spike", rule, n, {"tenant_id": tenant}, event,
                           previous_window=prev)]


def _actor(event: ev.Event) -> dict[str, str] | None:
    if event.user_id:
        out = {"user_id": event.user_id}
        if event.tenant_id:
            out["tenant_id"] = event.tenant_id
        return out
    if event.credential_id:
        return {"credential_id": event.credential_id}
    return None


def _user(event: ev.Event) -> dict[str, str] | None:
    if not event.user_id:
        return None
    out = {"user_id": event.user_id}
    if event.tenant_id:
        out["tenant_id"] = event.tenant_id
    fam = event.details.get("family_id")
    if fam:
        out["family_id"] = str(fam)
    return out
