"""Garmin Health / Activity API as a `pierre.providers` plugin.

Garmin does not answer data queries: it delivers summaries by notification to
`POST /webhooks/garmin` (push: the summaries themselves; ping: a one-shot
callbackURL to fetch with the user's token). The plugin stores what arrives
per connected user through the `ProviderStore` and answers reads from there,
so a Garmin ProviderClient never calls Garmin while serving a tool.

Webhooks carry no signature: a notification only counts for a Garmin userId
some Pierre user connected, and a ping's callbackURL is fetched only when it
points at the configured Garmin API (a forged one must not receive a token).
"""

from __future__ import annotations

import asyncio
import time
from datetime import date
from typing import Any

import msgspec
import structlog

from pierre.errors import InvalidArguments, NotFound, ProviderError
from pierre.models import (
    ActivityDetail,
    ActivityQuery,
    ActivitySummary,
    Athlete,
    DailyHeart,
    SleepSession,
    Stats,
)
from pierre.plugins.provider import (
    CallContext,
    OAuthApp,
    Provider,
    TokenSet,
    UserRef,
    refresh_refused_means_reconnect,
)
from pierre.providers.oauth import with_query
from pierre.providers.resilience import HttpApi, TokenRejected
from pierre.providers.summaries import stats_from
from pierre_garmin import parsing

API_VERSION = "1.0"
log = structlog.get_logger("pierre.providers.garmin")

USER_ID = "/wellness-api/rest/user/id"
REGISTRATION = "/wellness-api/rest/user/registration"
BACKFILL = "/wellness-api/rest/backfill/"
# Garmin's per-request backfill limits (days): activity data vs health data.
MAX_DAYS = {"activities": 30, "activityDetails": 30, "sleeps": 90, "dailies": 90, "hrv": 90}
DATA_KINDS = ("activities", "activityDetails", "sleeps", "dailies", "hrv")
# Without activity export there is nothing for Pierre to read.
NEEDED_PERMISSION = "ACTIVITY_EXPORT"


def garmin_message(status: int, data: Any) -> str | None:
    if isinstance(data, dict):
        msg = data.get("errorMessage") or data.get("error_description") or data.get("message")
        return str(msg) if msg else None
    return None


class GarminProvider(Provider):
    name = "garmin"
    display_name = "Garmin"
    capabilities = frozenset({"athlete", "activities", "activity", "streams", "stats", "sleep",
                              "daily_heart"})
    uses_oauth = True
    pkce = True
    default_urls = {"auth_url": "https://connect.garmin.com/oauth2Confirm",
                    "token_url": "https://diauth.garmin.com/di-oauth2-service/oauth/token",
                    "api_base_url": "https://apis.garmin.com"}

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.api = HttpApi(self.name, self.display_name,
                           timeout_s=float(self.options.get("timeout_s") or 15.0),
                           retries=int(self.options.get("retries", 2)),
                           backoff_base_s=float(self.options.get("backoff_s", 0.2)),
                           message=garmin_message)
        self.backfill_days = int(self.options.get("backfill", 30))
        self.backfill_kinds = tuple(self.options.get("backfill_kinds")
                                    or ("activities", "sleeps", "dailies", "hrv"))
        self._tasks: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.api.close()

    # -- OAuth 2.0 + PKCE ------------------------------------------------------------
    def missing_scopes(self, granted: frozenset[str]) -> list[str]:
        # Garmin reports permissions (not OAuth scopes) and may send none at all.
        if granted and NEEDED_PERMISSION not in granted:
            return [NEEDED_PERMISSION]
        return []

    def authorization_url(self, app: OAuthApp, *, redirect_uri: str, state: str,
                          code_challenge: str | None) -> str:
        if code_challenge is None:
            raise InvalidArguments("Garmin requires PKCE", field="provider")
        return with_query(app.auth_url, {
            "response_type": "code", "client_id": app.client_id,
            "code_challenge": code_challenge, "code_challenge_method": "S256",
            "redirect_uri": redirect_uri, "state": state})

    def _tokens(self, data: dict[str, Any], previous: TokenSet | None = None) -> TokenSet:
        now = time.time()
        scopes = frozenset(str(data.get("scope") or "").split()) or (
            previous.scopes if previous else frozenset())
        extra = dict(previous.extra) if previous else {}
        if data.get("refresh_token_expires_in"):
            extra["refresh_expires_at"] = now + float(data["refresh_token_expires_in"])
        return TokenSet(access_token=str(data["access_token"]),
                        refresh_token=data.get("refresh_token"),
                        expires_at=now + float(data.get("expires_in") or 86_400),
                        scopes=scopes, extra=extra,
                        provider_user_id=previous.provider_user_id if previous else None)

    async def exchange_code(self, app: OAuthApp, *, code: str, redirect_uri: str,
                            code_verifier: str | None, params: dict[str, str]) -> TokenSet:
        resp = await self.api.request("POST", app.token_url, retry=False, data={
            "client_id": app.client_id, "client_secret": app.client_secret or "",
            "code": code, "code_verifier": code_verifier or "", "redirect_uri": redirect_uri,
            "grant_type": "authorization_code"})
        tokens = self._tokens(resp.data)
        who = await self.api.request("GET", self._url(app, USER_ID), token=tokens.access_token)
        user_id = who.data.get("userId") if isinstance(who.data, dict) else None
        if not user_id:
            raise ProviderError("Garmin did not say which user connected", provider=self.name)
        tokens.provider_user_id = str(user_id)
        return tokens

    async def refresh(self, app: OAuthApp, token: TokenSet) -> TokenSet:
        """Every refresh returns a new refresh token; the old one stops working."""
        with refresh_refused_means_reconnect(self.name, "Garmin"):
            resp = await self.api.request("POST", app.token_url, retry=False, data={
                "client_id": app.client_id, "client_secret": app.client_secret or "",
                "grant_type": "refresh_token", "refresh_token": token.refresh_token or ""})
        return self._tokens(resp.data, token)

    async def revoke(self, app: OAuthApp | None, token: TokenSet | None) -> None:
        """Deregister the user: Garmin stops sending their data."""
        if app is None or token is None:
            return
        await self.api.request("DELETE", self._url(app, REGISTRATION), token=token.access_token,
                               retry=False)

    async def on_connect(self, ctx: CallContext) -> None:
        """Ask Garmin to send the last `backfill` days (default 30) of every kind."""
        end = int(time.time())
        await self.backfill(ctx, end - self.backfill_days * 86_400, end)

    async def on_disconnect(self, ctx: CallContext) -> None:
        await ctx.store.delete_all(ctx.user, self.name)

    async def backfill(self, ctx: CallContext, start: int, end: int,
                       kinds: tuple[str, ...] | None = None) -> dict[str, int]:
        """Request [start, end) in Garmin-sized windows; a duplicate (409) is not an error.
        Returns how many requests Garmin accepted per kind."""
        if ctx.app is None or ctx.token is None:
            raise ProviderError("Garmin is not connected", provider=self.name, status=None)
        accepted: dict[str, int] = {}
        for kind in kinds or self.backfill_kinds:
            accepted[kind] = 0
            for a, b in parsing.backfill_windows(start, end, MAX_DAYS.get(kind, 30)):
                try:
                    await self.api.request(
                        "GET", self._url(ctx.app, BACKFILL + kind), token=ctx.access_token,
                        params={"summaryStartTimeInSeconds": str(a),
                                "summaryEndTimeInSeconds": str(b)})
                except ProviderError as exc:
                    if exc.status != 409:
                        raise
                    continue
                accepted[kind] += 1
        log.info("garmin_backfill_requested", accepted=accepted)
        return accepted

    @staticmethod
    def _url(app: OAuthApp, path: str) -> str:
        return app.api_base_url.rstrip("/") + path

    # -- notifications -----------------------------------------------------------------
    async def handle_notification(self, manager: Any, payload: Any) -> dict[str, Any]:
        """Accept at once (Garmin wants 200 within 30 s); store in the background."""
        if not isinstance(payload, dict):
            raise InvalidArguments("a Garmin notification is a JSON object", field="body")
        known = [k for k in (*DATA_KINDS, "deregistrations", "userPermissionsChange")
                 if isinstance(payload.get(k), list)]
        if not known:
            raise InvalidArguments("no Garmin notification type in the body", field="body")
        task = asyncio.create_task(self._process(manager, payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return {"status": "accepted", "types": known}

    async def drain(self) -> None:
        """Wait until every accepted notification is stored (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _process(self, manager: Any, payload: dict[str, Any]) -> None:
        try:
            await self.process(manager, payload)
        except Exception as exc:  # a background task has nobody to raise to
            log.warning("garmin_notification_failed",
                        error=getattr(exc, "message", None) or type(exc).__name__)

    async def _users(self, manager: Any, garmin_user: Any,
                     seen: dict[str, list[UserRef]]) -> list[UserRef]:
        key = str(garmin_user or "")
        if key not in seen:
            recs = await manager.services.db.find_connections_by_provider_user(self.name, key) \
                if key else []
            seen[key] = [UserRef(r.tenant_id, r.user_id) for r in recs]
            if not seen[key]:
                log.info("garmin_notification_unknown_user")
        return seen[key]

    async def process(self, manager: Any, payload: dict[str, Any]) -> dict[str, int]:
        """Store every summary for every connection of its userId; return counts per kind."""
        seen: dict[str, list[UserRef]] = {}
        stored: dict[str, int] = {}
        touched: set[UserRef] = set()
        for kind in DATA_KINDS:
            for item in payload.get(kind) or []:
                if not isinstance(item, dict):
                    continue
                for user in await self._users(manager, item.get("userId"), seen):
                    items = [item]
                    if item.get("callbackURL"):
                        items = await self._fetch_ping(manager, user, str(item["callbackURL"]))
                    for summary in items:
                        try:
                            await self.store_summary(manager.store, user, kind, summary)
                        except (KeyError, ValueError, TypeError) as exc:
                            log.warning("garmin_summary_unreadable", kind=kind,
                                        error=type(exc).__name__)
                            continue
                        stored[kind] = stored.get(kind, 0) + 1
                        touched.add(user)
        for item in payload.get("deregistrations") or []:
            if isinstance(item, dict):
                for user in await self._users(manager, item.get("userId"), seen):
                    await manager._mark_reauth(user, self.name)
        for item in payload.get("userPermissionsChange") or []:
            if not isinstance(item, dict):
                continue
            perms = item.get("permissions")
            if isinstance(perms, list) and NEEDED_PERMISSION not in perms:
                for user in await self._users(manager, item.get("userId"), seen):
                    await manager._mark_reauth(user, self.name)
        for user in touched:
            await manager._invalidate(user, self.name)
        return stored

    async def _fetch_ping(self, manager: Any, user: UserRef, url: str) -> list[dict[str, Any]]:
        ctx = await manager.call_context(user, self)
        if ctx.app is None or not url.startswith(ctx.app.api_base_url.rstrip("/") + "/"):
            log.warning("garmin_callback_url_refused")
            return []
        try:
            resp = await self.api.request("GET", url, token=ctx.access_token)
        except TokenRejected:  # died before its stated expiry: refresh once
            ctx = await manager.call_context(user, self, force_refresh=True)
            resp = await self.api.request("GET", url, token=ctx.access_token)
        return [x for x in resp.data if isinstance(x, dict)] if isinstance(resp.data, list) \
            else []

    async def store_summary(self, store: Any, user: UserRef, kind: str,
                            item: dict[str, Any]) -> None:
        """Normalize one delivered summary of `kind` and keep it for `user`."""
        if kind == "activities":
            act = parsing.activity(item, self.name)
            old = await store.get_activity(user, self.name, act.provider_id)
            if old is not None and old.streams is not None:
                act.streams = old.streams  # details may arrive before the summary
            await store.put_activity(user, self.name, act)
        elif kind == "activityDetails":
            act = parsing.activity_details(item, self.name)
            await store.put_activity(user, self.name, act)
        elif kind == "sleeps":
            s = parsing.sleep(item, self.name)
            await store.put_daily(user, self.name, "sleep", s.date, msgspec.to_builtins(s))
        elif kind == "dailies":
            day, rhr = parsing.resting_hr(item)
            await store.put_daily(user, self.name, "heart", day,
                                  {"date": day.isoformat(), "resting_hr_bpm": rhr})
        elif kind == "hrv":
            day, value = parsing.hrv(item)
            await store.put_daily(user, self.name, "hrv", day,
                                  {"date": day.isoformat(), "hrv_rmssd_ms": value})

    # -- reads (from storage) ---------------------------------------------------------------
    async def athlete(self, ctx: CallContext) -> Athlete:
        uid = ctx.token.provider_user_id if ctx.token else None
        return Athlete(provider=self.name, provider_id=uid or ctx.user.user_id)

    async def activities(self, ctx: CallContext, query: ActivityQuery) -> list[ActivitySummary]:
        return await ctx.store.list_activities(ctx.user, self.name, query)

    async def activity(self, ctx: CallContext, activity_id: str, *, streams: bool = False,
                       laps: bool = False) -> ActivityDetail:
        found = await ctx.store.get_activity(ctx.user, self.name, activity_id)
        if found is None:
            raise NotFound(f"Garmin activity {activity_id} has not been delivered to Pierre")
        if not streams:
            found.streams = None
        return found

    async def stats(self, ctx: CallContext) -> Stats:
        items: list[ActivitySummary] = []
        while True:
            page = await ctx.store.list_activities(ctx.user, self.name,
                                                   ActivityQuery(limit=500, offset=len(items)))
            items.extend(page)
            if len(page) < 500:
                return stats_from(self.name, items)

    async def sleep(self, ctx: CallContext, start: date, end: date) -> list[SleepSession]:
        rows = await ctx.store.list_daily(ctx.user, self.name, "sleep", start, end)
        return [msgspec.convert(r, SleepSession) for r in rows]

    async def daily_heart(self, ctx: CallContext, start: date, end: date) -> list[DailyHeart]:
        heart = await ctx.store.list_daily(ctx.user, self.name, "heart", start, end)
        hrvs = await ctx.store.list_daily(ctx.user, self.name, "hrv", start, end)
        return parsing.merge_daily(self.name, heart, hrvs)

