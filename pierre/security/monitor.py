"""The security monitor: every security event becomes an audit record and a metric,
goes through the detection rules, and a firing rule takes its actions and raises
an alert (structured log, audit log, webhook, `/metrics`).

`emit` never raises: monitoring must not break the request that reports to it.
`check_allowed` is the enforcement side the authenticator and login call.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import TYPE_CHECKING, Any

import structlog

from pierre.errors import AuthError, Forbidden, NotFound, RateLimited
from pierre.security import alerts as al
from pierre.security import events as ev
from pierre.security.actions import Kind, Restriction, Restrictions
from pierre.security.detection import Detection, Detector

if TYPE_CHECKING:
    from pierre.services import Services

log = structlog.get_logger("pierre.security")

ALERT_ACTION = "security.alert"
ACK_ACTION = "security.alert_ack"
APPLIED_ACTION = "security.action"
UNDONE_ACTION = "security.action_undone"
SEVERITY = {"refresh_reuse": "high", "api_key_addresses": "high", "credential_stuffing": "high",
            "brute_force_address": "medium", "brute_force_account": "medium",
            "cross_tenant": "high", "tool_spike": "medium"}
_KIND_OF = {"lock_account": "account", "lock_address": "address",
            "suspend_credential": "credential", "require_reauth": "reauth",
            "throttle_tenant": "tenant"}
_SUBJECT_KEY = {"account": "user_id", "address": "ip", "credential": "credential_id",
                "reauth": "user_id", "tenant": "tenant_id"}


class Locked(Forbidden):
    code = "locked"


class SecurityMonitor:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.cfg = services.config.security.monitoring
        store = services.ratelimiter
        if store is None:
            raise RuntimeError("the security monitor needs the rate-limit backend")
        self.detector = Detector(self.cfg, store)
        self.restrictions = Restrictions(store)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._session: Any = None
        self.alert_count: Any = None
        metrics = services.metrics
        if metrics is not None:
            from prometheus_client import Counter

            self.alert_count = Counter("pierre_security_alerts_total", "Security alerts raised",
                                       ["rule"], registry=metrics.registry)
            self.action_count = Counter("pierre_security_actions_total",
                                        "Automated security actions taken", ["action"],
                                        registry=metrics.registry)
        from pierre.security.mfa import MfaService

        self.mfa = MfaService(services, self)

    # -- lifecycle -----------------------------------------------------------------
    async def start(self) -> None:
        return None

    async def close(self) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2.0)
            for t in list(self._tasks):
                t.cancel()
        if self._session is not None:
            await self._session.close()

    def reload(self, new: Any) -> None:
        self.cfg = new.security.monitoring
        self.detector = Detector(self.cfg, self.detector.store)

    # -- events ----------------------------------------------------------------------
    async def emit(self, event: str, *, tenant_id: str | None = None,
                   user_id: str | None = None, ip: str | None = None,
                   credential_id: str | None = None,
                   details: dict[str, Any] | None = None) -> None:
        e = ev.Event(event, tenant_id, user_id, ip, credential_id, dict(details or {}))
        try:
            await self._handle(e)
        except Exception as exc:  # never break the caller's request
            log.error("security_monitor_failed", event_name=event,
                      error=f"{type(exc).__name__}: {exc}")

    async def _handle(self, e: ev.Event) -> None:
        if e.name not in ev.NOT_AUDITED:
            self._metric(e.name)
        detections, facts = await self.detector.observe(e)
        if e.name == ev.API_KEY_USED and facts.get("new_address"):
            self._metric(ev.API_KEY_NEW_ADDRESS)
            await self._audit(ev.Event(ev.API_KEY_NEW_ADDRESS, e.tenant_id, e.user_id, e.ip,
                                       e.credential_id, e.details, e.at))
        elif e.name == ev.RATE_LIMITED:
            scope = e.credential_id or e.user_id or e.ip or "-"
            store = self.detector.store
            if await store.incr_window(f"sec:c:rla:{scope}", 60) == 1:
                await self._audit(e)
        elif e.name not in ev.NOT_AUDITED:
            await self._audit(e)
        for d in detections:
            await self._respond(d)

    def _metric(self, name: str) -> None:
        metrics = self.services.metrics
        if metrics is not None:
            metrics.security_events.labels(name).inc()

    async def _audit(self, e: ev.Event, action: str | None = None,
                     details: dict[str, Any] | None = None) -> None:
        db = self.services.db
        if db is None:
            return
        await db.add_audit(action or f"security.{e.name}", tenant_id=e.tenant_id,
                           user_id=e.user_id, ip=e.ip,
                           details=details if details is not None else
                           {**e.details, **({"credential_id": e.credential_id}
                                            if e.credential_id else {})})

    # -- response ----------------------------------------------------------------------
    async def _respond(self, d: Detection) -> None:
        alert_id = uuid.uuid4().hex[:16]
        taken: list[dict[str, Any]] = []
        for action in d.actions:
            try:
                taken.append(await self._act(action, d, alert_id))
            except Exception as exc:
                taken.append({"action": action, "error": type(exc).__name__})
        tenant = d.subject.get("tenant_id") or d.event.tenant_id
        alert = al.Alert(alert_id, d.rule, SEVERITY.get(d.rule, "medium"), dict(d.subject),
                         d.evidence(), taken, time.time(), tenant)
        payload = alert.to_dict()
        await self._audit(d.event, ALERT_ACTION, payload)
        if self.alert_count is not None:
            self.alert_count.labels(d.rule).inc()
        log.warning("security_alert", alert_id=alert_id, rule=d.rule, subject=d.subject,
                    actions=[a.get("action") for a in taken], count=d.count)
        if self.cfg.webhook.url:
            self._spawn(self._deliver({"type": "security_alert", "alert": payload}))

    async def _act(self, action: str, d: Detection, alert_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {"action": action}
        if action == "alert_only":
            return out
        e = d.event
        if action == "revoke_family":
            fam = d.subject.get("family_id") or e.details.get("family_id")
            tenant = d.subject.get("tenant_id") or e.tenant_id
            if not fam or not tenant or self.services.db is None:
                return {**out, "skipped": "no refresh-token family known"}
            n = await self.services.db.revoke_refresh_family(tenant, str(fam))
            out.update(family_id=str(fam), revoked=n)
        else:
            kind: Kind = _KIND_OF[action]  # type: ignore[assignment]
            key = _SUBJECT_KEY[kind]
            target = d.subject.get(key) or getattr(e, key, None)
            if kind == "account" and d.subject.get("account"):
                # A login name (brute force): the lock stops sign-in, not the owner's
                # existing sessions and keys, so an attacker can't cut a victim off.
                target = d.subject["account"]
            if not target:
                return {**out, "skipped": f"no {key} known"}
            if kind == "address" and self.detector.trusted(target):
                return {**out, "skipped": "trusted address"}
            r = await self.restrictions.apply(kind, target, d.action_s, rule=d.rule,
                                              alert_id=alert_id)
            out.update(kind=kind, target=target, restriction_id=r.id, until=r.until)
        if getattr(self, "action_count", None) is not None:
            self.action_count.labels(action).inc()
        await self._audit(e, APPLIED_ACTION, {**out, "rule": d.rule, "alert_id": alert_id,
                                             "evidence": d.evidence()})
        return out

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, payload: dict[str, Any]) -> None:
        if self._session is None:
            import aiohttp

            self._session = aiohttp.ClientSession()
        ok = await al.deliver(self._session, self.cfg.webhook, payload)
        log.info("security_webhook_delivered" if ok else "security_webhook_undelivered",
                 alert_id=payload["alert"]["id"])

    # -- enforcement ---------------------------------------------------------------------
    async def check_allowed(self, *, ip: str | None = None, user_id: str | None = None,
                            credential_id: str | None = None,
                            issued_at: float | None = None, account: str | None = None) -> None:
        """Raise when a restriction covers this request (locked address, account or
        key; a token issued before a required re-authentication). `account` is the
        login name as reported in `login_failed` details, for checks before the user
        is known."""
        pairs: list[tuple[Kind, str]] = []
        if ip:
            pairs.append(("address", ip))
        if account:
            pairs.append(("account", account))
        if user_id:
            pairs.append(("account", user_id))
            if issued_at is not None:
                pairs.append(("reauth", user_id))
        if credential_id:
            pairs.append(("credential", credential_id))
        if not pairs:
            return
        for r in await self.restrictions.active(pairs):
            if r.kind == "reauth" and issued_at is not None and issued_at >= r.since:
                continue
            raise _refusal(r)

    async def check_tool_call(self, tenant_id: str) -> None:
        """Refuse while the tenant is throttled; count the call for the spike rule."""
        r = await self.restrictions.get("tenant", tenant_id)
        if r is not None:
            raise RateLimited("tool calls for this tenant are paused after an unusual spike; "
                              "an administrator can lift this early",
                              retry_after=max(1.0, r.until - time.time()), scope="security")
        await self.emit(ev.TOOL_CALL, tenant_id=tenant_id)

    # -- admin -----------------------------------------------------------------------------
    async def list_alerts(self, tenant_id: str | None = None, *, include_acknowledged: bool = True,
                          limit: int = 100) -> list[dict[str, Any]]:
        db = self.services.db
        recs = await db.list_audit(tenant_id, action=ALERT_ACTION, limit=limit)
        acks = {
            a.details.get("alert_id"): a
            for a in await db.list_audit(None, action=ACK_ACTION, limit=1000)
        }
        out = []
        for rec in recs:
            alert = dict(rec.details)
            ack = acks.get(alert.get("id"))
            if ack is not None:
                alert["acknowledged_by"] = ack.user_id
                alert["acknowledged_at"] = ack.created_at.timestamp()
            if include_acknowledged or ack is None:
                out.append(alert)
        return out

    async def acknowledge(self, alert_id: str, *, by: str, tenant_id: str | None = None,
                          note: str | None = None) -> dict[str, Any]:
        found = [a for a in await self.list_alerts(tenant_id, limit=1000) if a["id"] == alert_id]
        if not found:
            raise NotFound(f"no security alert {alert_id!r}")
        alert = found[0]
        if alert.get("acknowledged_by") is None:
            await self.services.db.add_audit(ACK_ACTION, tenant_id=alert.get("tenant_id"),
                                             user_id=by,
                                             details={"alert_id": alert_id, "note": note})
            alert["acknowledged_by"] = by
            alert["acknowledged_at"] = time.time()
        return alert

    async def list_actions(self, *, limit: int = 200) -> list[dict[str, Any]]:
        recs = await self.services.db.list_audit(None, action=APPLIED_ACTION, limit=limit)
        out = []
        for rec in recs:
            d = dict(rec.details)
            if "kind" in d:
                r = await self.restrictions.get(d["kind"], d["target"], fresh=True)
                d["active"] = r is not None and r.id == d.get("restriction_id")
            else:
                d["active"] = False
            out.append(d)
        return out

    async def undo(self, kind: str, target: str, *, by: str, ip: str | None = None
                   ) -> Restriction:
        if kind not in _SUBJECT_KEY:
            raise NotFound(f"unknown restriction kind {kind!r}; one of "
                           + ", ".join(_SUBJECT_KEY))
        r = await self.restrictions.lift(kind, target)  # type: ignore[arg-type]
        if r is None:
            raise NotFound(f"no active {kind} restriction for {target!r}")
        await self.services.db.add_audit(UNDONE_ACTION, tenant_id=None, user_id=by, ip=ip,
                                         details={**r.to_dict(), "by": by})
        self._metric(ev.ADMIN_ACTION)
        log.info("security_action_undone", kind=kind, target=target, rule=r.rule, by=by)
        return r

    async def undo_by_id(self, restriction_id: str, *, by: str, ip: str | None = None
                         ) -> Restriction:
        for a in await self.list_actions(limit=1000):
            if a.get("restriction_id") == restriction_id and a.get("active"):
                return await self.undo(a["kind"], a["target"], by=by, ip=ip)
        raise NotFound(f"no active security action {restriction_id!r}")


def _refusal(r: Restriction) -> Exception:
    minutes = max(1, round((r.until - time.time()) / 60))
    details = {"restriction": r.kind, "until": round(r.until), "rule": r.rule}
    if r.kind == "reauth":
        return AuthError("this session was ended for security reasons; sign in again",
                         details=details)
    what = {"address": "requests from this address are",
            "account": "this account is",
            "credential": "this API key is"}.get(r.kind, "this is")
    return Locked(f"{what} temporarily blocked after suspicious activity "
                  f"(about {minutes} min left); an administrator can lift it sooner",
                  details=details)
