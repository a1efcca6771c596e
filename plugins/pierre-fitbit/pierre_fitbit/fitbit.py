"""Fitbit Web API v1 as a `pierre.providers` plugin.

OAuth 2.0 authorization code with PKCE (S256) and HTTP Basic client authentication on the
token endpoint. Refresh tokens are single use: the manager always stores the newest one.
Google retired this API in 2026; `google_health` is its successor (see README.md).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from pierre.errors import InvalidArguments, NotFound
from pierre.models import (
    ActivityDetail,
    ActivityQuery,
    ActivitySummary,
    Athlete,
    DailyHeart,
    SleepSession,
    SleepStage,
)
from pierre.plugins.provider import CallContext, OAuthApp, TokenSet, refresh_refused_means_reconnect
from pierre.providers.oauth import basic_auth, with_query
from pierre.providers.parsing import parse_tcx
from pierre_fitbit.common import HttpProvider, date_chunks, parse_number

API_VERSION = "1.0"
PAGE_LIMIT = 100  # Fitbit's maximum `limit` for activities/list.json
# activity(id) finds the record by walking the list: bound the walk (100 per page).
DETAIL_MAX_PAGES = 20
SLEEP_MAX_DAYS = 100  # sleep/date/{start}/{end} range maximum
HEART_MAX_DAYS = 365  # activities/heart/date/{start}/{end} range maximum
HRV_MAX_DAYS = 30  # hrv/date/{start}/{end} range maximum
MILE_M = 1609.344
FOOT_M = 0.3048

# Fitbit activityTypeId → normalized sport type (the common ones; else by name).
ACTIVITY_TYPES: dict[int, str] = {
    90009: "Run", 90019: "Run", 90013: "Walk", 90001: "Ride", 1071: "Ride",
    55001: "VirtualRide", 90024: "Swim", 90012: "Hike", 20047: "Elliptical",
    52001: "Yoga", 2030: "WeightTraining", 3000: "Workout", 15000: "Workout",
}
INDOOR_TYPES = frozenset({90019, 55001})  # treadmill, spinning
STAGE_NAMES = {"wake": "awake", "awake": "awake", "light": "light", "deep": "deep",
               "rem": "rem", "asleep": "asleep", "restless": "restless"}


def fitbit_reset(status: int, headers: Mapping[str, str], data: Any) -> float:
    """`Fitbit-Rate-Limit-Reset` is the number of seconds until the hourly window resets."""
    for name in ("Fitbit-Rate-Limit-Reset", "Retry-After"):
        try:
            return float(headers[name])
        except (KeyError, ValueError):
            continue
    return 3600.0 - time.time() % 3600  # the window is the clock hour


def fitbit_message(status: int, data: Any) -> str | None:
    """`{"errors":[{"errorType":"expired_token","message":"..."}],"success":false}`."""
    if not isinstance(data, dict):
        return None
    errs = data.get("errors") or []
    if errs and isinstance(errs[0], dict):
        e = errs[0]
        return f"{e.get('errorType', 'error')}: {e.get('message', '')}".strip(": ")
    return None


def sport_of(a: Mapping[str, Any]) -> str:
    tid = a.get("activityTypeId")
    if isinstance(tid, int) and tid in ACTIVITY_TYPES:
        return ACTIVITY_TYPES[tid]
    name = str(a.get("activityName") or "").lower()
    for key, sport in (("run", "Run"), ("treadmill", "Run"), ("walk", "Walk"),
                       ("bike", "Ride"), ("cycl", "Ride"), ("spinning", "VirtualRide"),
                       ("swim", "Swim"), ("hike", "Hike"), ("yoga", "Yoga")):
        if key in name:
            return sport
    return "Workout"


def _dt(v: Any) -> datetime | None:
    if not v:
        return None
    try:
        return datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    except ValueError:
        return None


def activity_summary(a: Mapping[str, Any], provider: str = "fitbit") -> dict[str, Any]:
    """One `activities/list.json` record → ActivitySummary fields.

    `startTime` carries the user's offset; durations are milliseconds; `distance` is in
    `distanceUnit` (kilometres unless the account answers in US units), `speed` per hour.
    """
    start = _dt(a.get("startTime")) or datetime.now(UTC)
    offset = start.utcoffset() if start.tzinfo else None
    miles = str(a.get("distanceUnit") or "Kilometer").lower().startswith("mile")
    unit_m = MILE_M if miles else 1000.0
    dist = parse_number(a.get("distance"))
    distance_m = round(dist * unit_m, 2) if dist is not None else None
    active = parse_number(a.get("activeDuration"))
    total = parse_number(a.get("duration"))
    moving_s = active / 1000 if active is not None else None
    elev = parse_number(a.get("elevationGain"))
    speed = parse_number(a.get("speed"))
    hr = parse_number(a.get("averageHeartRate"))
    source = a.get("source") if isinstance(a.get("source"), dict) else {}
    tid = a.get("activityTypeId")
    return dict(
        provider=provider, provider_id=str(a["logId"]),
        name=str(a.get("activityName") or "Activity"), sport_type=sport_of(a),
        start_utc=start.astimezone(UTC) if start.tzinfo else start.replace(tzinfo=UTC),
        start_local=start.replace(tzinfo=None),
        utc_offset_s=int(offset.total_seconds()) if offset is not None else None,
        distance_m=distance_m, moving_time_s=moving_s,
        elapsed_time_s=total / 1000 if total is not None else None,
        elevation_gain_m=(round(elev * FOOT_M, 1) if miles else elev)
        if elev is not None else None,
        average_speed_mps=(round(speed * unit_m / 3600, 3) if speed is not None else
                           round(distance_m / moving_s, 3) if distance_m and moving_s
                           else None),
        average_hr_bpm=hr, calories_kcal=parse_number(a.get("calories")),
        device=(source or {}).get("name"), trainer=tid in INDOOR_TYPES,
        manual=a.get("logType") == "manual",
    )


def sleep_session(s: Mapping[str, Any], offset: timedelta,
                  provider: str = "fitbit") -> SleepSession:
    """A sleep v1.2 log → SleepSession. Fitbit gives local times without an offset, so
    the user's current offset (profile `offsetFromUTCMillis`) converts them to UTC."""
    tz = timezone(offset)

    def utc(v: Any) -> datetime:
        d = datetime.fromisoformat(str(v))
        return (d if d.tzinfo else d.replace(tzinfo=tz)).astimezone(UTC)

    levels = s.get("levels") or {}
    summary = levels.get("summary") or {}

    def minutes(*keys: str) -> float | None:
        for k in keys:
            block = summary.get(k)
            if isinstance(block, dict) and block.get("minutes") is not None:
                return float(block["minutes"]) * 60
        return None

    stages = [SleepStage(start_utc=utc(x["dateTime"]), duration_s=float(x["seconds"]),
                         stage=STAGE_NAMES.get(str(x.get("level")), "asleep"))
              for x in levels.get("data") or [] if x.get("dateTime")]
    staged = s.get("type") == "stages"
    asleep, awake = parse_number(s.get("minutesAsleep")), parse_number(s.get("minutesAwake"))
    return SleepSession(
        provider=provider, provider_id=str(s["logId"]),
        date=date.fromisoformat(str(s["dateOfSleep"])), start_utc=utc(s["startTime"]),
        end_utc=utc(s["endTime"]), duration_s=float(s.get("duration") or 0) / 1000,
        asleep_s=asleep * 60 if asleep is not None else None,
        awake_s=awake * 60 if awake is not None else None,
        deep_s=minutes("deep") if staged else None,
        light_s=minutes("light") if staged else None,
        rem_s=minutes("rem") if staged else None,
        efficiency_pct=parse_number(s.get("efficiency")), stages=stages)


class FitbitProvider(HttpProvider):
    name = "fitbit"
    display_name = "Fitbit"
    capabilities = frozenset({"athlete", "activities", "activity", "streams", "sleep",
                              "daily_heart"})
    uses_oauth = True
    pkce = True
    default_scopes = ("activity", "heartrate", "sleep", "profile")
    # Fitbit lets users untick scopes; without activities there is nothing to analyse.
    required_scopes = frozenset({"activity"})
    default_urls = {"auth_url": "https://www.fitbit.com/oauth2/authorize",
                    "token_url": "https://api.fitbit.com/oauth2/token",
                    "api_base_url": "https://api.fitbit.com"}
    reset_fn = staticmethod(fitbit_reset)
    message_fn = staticmethod(fitbit_message)

    # -- OAuth -----------------------------------------------------------------
    def authorization_url(self, app: OAuthApp, *, redirect_uri: str, state: str,
                          code_challenge: str | None) -> str:
        params = {"client_id": app.client_id, "response_type": "code",
                  "scope": " ".join(app.scopes), "redirect_uri": redirect_uri, "state": state}
        if code_challenge:
            params |= {"code_challenge": code_challenge, "code_challenge_method": "S256"}
        return with_query(app.auth_url, params)

    def _client_auth(self, app: OAuthApp) -> dict[str, str]:
        return {"Authorization": basic_auth(app.client_id, app.client_secret or "")}

    @staticmethod
    def _tokens(data: dict[str, Any]) -> TokenSet:
        return TokenSet(access_token=data["access_token"],
                        refresh_token=data.get("refresh_token"),
                        expires_at=time.time() + float(data.get("expires_in") or 28800),
                        scopes=frozenset(str(data.get("scope") or "").split()),
                        provider_user_id=str(data["user_id"]) if data.get("user_id") else None)

    async def exchange_code(self, app: OAuthApp, *, code: str, redirect_uri: str,
                            code_verifier: str | None, params: dict[str, str]) -> TokenSet:
        form = {"client_id": app.client_id, "grant_type": "authorization_code", "code": code,
                "redirect_uri": redirect_uri}
        if code_verifier:
            form["code_verifier"] = code_verifier
        resp = await self.call("POST", app.token_url, data=form, retry=False,
                               headers=self._client_auth(app))
        return self._tokens(resp.data)

    async def refresh(self, app: OAuthApp, token: TokenSet) -> TokenSet:
        """Single-use refresh tokens: the answer carries the one to use next time."""
        with refresh_refused_means_reconnect(self.name, "Fitbit"):
            resp = await self.call("POST", app.token_url, retry=False,
                                   headers=self._client_auth(app),
                                   data={"grant_type": "refresh_token",
                                         "refresh_token": token.refresh_token or ""})
        return self._tokens(resp.data)

    async def revoke(self, app: OAuthApp | None, token: TokenSet | None) -> None:
        if app is None or token is None:
            return
        url = self.options.get("revoke_url") or app.token_url.replace("/oauth2/token",
                                                                      "/oauth2/revoke")
        await self.call("POST", url, retry=False, headers=self._client_auth(app),
                        data={"token": token.refresh_token or token.access_token})

    # -- data ------------------------------------------------------------------
    def _url(self, ctx: CallContext, path: str) -> str:
        assert ctx.app is not None
        return ctx.app.api_base_url.rstrip("/") + path

    async def _get(self, ctx: CallContext, path: str, **params: Any) -> Any:
        resp = await self.call("GET", self._url(ctx, path), token=ctx.access_token,
                               params={k: v for k, v in params.items() if v is not None})
        return resp.data

    async def _profile(self, ctx: CallContext) -> dict[str, Any]:
        data = await self._get(ctx, "/1/user/-/profile.json")
        user = (data or {}).get("user")
        return user if isinstance(user, dict) else {}

    async def athlete(self, ctx: CallContext) -> Athlete:
        u = await self._profile(ctx)
        gender = str(u.get("gender") or "").upper()
        born = u.get("dateOfBirth")
        return Athlete(provider=self.name,
                       provider_id=str(u.get("encodedId") or
                                       (ctx.token.provider_user_id if ctx.token else "")),
                       firstname=u.get("firstName"), lastname=u.get("lastName"),
                       sex={"MALE": "M", "FEMALE": "F"}.get(gender),
                       weight_kg=parse_number(u.get("weight")) or None,
                       city=u.get("city") or None, country=u.get("country") or None,
                       birth_date=date.fromisoformat(born) if born else None)

    async def _pages(self, ctx: CallContext, before: datetime | None, max_pages: int
                     ) -> AsyncIterator[list[dict[str, Any]]]:
        """Newest first: `beforeDate` + `sort=desc`, `offset=0`, then `pagination.next`."""
        before = before or datetime.now(UTC) + timedelta(days=2)
        params: dict[str, Any] | None = {
            "beforeDate": before.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "sort": "desc", "limit": PAGE_LIMIT, "offset": 0}
        path = "/1/user/-/activities/list.json"
        for _ in range(max_pages):
            resp = await self.call("GET", self._url(ctx, path), token=ctx.access_token,
                                   params=params)
            data = resp.data or {}
            items = data.get("activities") or []
            yield items
            nxt = str((data.get("pagination") or {}).get("next") or "")
            if not items or not nxt:
                return
            # Follow `next`, but only ever send the token to the configured API host.
            parts = urlsplit(nxt)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            params = None

    async def activities(self, ctx: CallContext, query: ActivityQuery) -> list[ActivitySummary]:
        want = query.offset + query.limit
        out: list[ActivitySummary] = []
        async for items in self._pages(ctx, query.before, max_pages=10_000):
            done = False
            for a in items:
                s = ActivitySummary(**activity_summary(a, self.name))
                if query.before and s.start_utc >= query.before:
                    continue
                if query.after and s.start_utc <= query.after:
                    done = True  # newest first: everything further is older still
                    break
                if query.sport_type and s.sport_type.lower() != query.sport_type.lower():
                    continue
                out.append(s)
            if done or len(out) >= want:
                break
        return out[query.offset: want]

    async def activity(self, ctx: CallContext, activity_id: str, *, streams: bool = False,
                       laps: bool = False) -> ActivityDetail:
        """Fitbit has no single-activity JSON endpoint: the summary comes from the list
        record; streams from the activity's TCX export (GPS + HR) when asked for."""
        found: dict[str, Any] | None = None
        async for items in self._pages(ctx, None, max_pages=DETAIL_MAX_PAGES):
            found = next((a for a in items if str(a.get("logId")) == activity_id), None)
            if found is not None:
                break
        if found is None:
            raise NotFound(f"Fitbit activity {activity_id} not found")
        d = ActivityDetail(**activity_summary(found, self.name))
        if streams and found.get("tcxLink"):
            link = urlsplit(str(found["tcxLink"]))
            resp = await self.call("GET", self._url(ctx, link.path),
                                   token=ctx.access_token)
            try:
                d.streams = parse_tcx(resp.body, provider=self.name).streams
            except InvalidArguments:  # no GPS/HR samples: the export holds no track
                d.streams = None
        return d

    async def _offset(self, ctx: CallContext) -> timedelta:
        u = await self._profile(ctx)
        return timedelta(milliseconds=float(u.get("offsetFromUTCMillis") or 0))

    def _granted(self, ctx: CallContext, scope: str, what: str) -> None:
        """Users may untick scopes at consent: say so instead of failing with a 403."""
        if ctx.token is not None and ctx.token.scopes and scope not in ctx.token.scopes:
            raise self._unsupported(f"{what} for this connection (the '{scope}' "
                                    "permission was not granted)")

    async def sleep(self, ctx: CallContext, start: date, end: date) -> list[SleepSession]:
        self._granted(ctx, "sleep", "sleep data")
        offset = await self._offset(ctx)
        out: list[SleepSession] = []
        for a, b in date_chunks(start, end, SLEEP_MAX_DAYS):
            data = await self._get(ctx, f"/1.2/user/-/sleep/date/{a}/{b}.json")
            out += [sleep_session(s, offset, self.name) for s in (data or {}).get("sleep") or []]
        return sorted(out, key=lambda s: s.start_utc)

    async def daily_heart(self, ctx: CallContext, start: date, end: date) -> list[DailyHeart]:
        """Resting HR from the heart time series, RMSSD from the HRV summary."""
        self._granted(ctx, "heartrate", "daily heart rate data")
        days: dict[date, DailyHeart] = {}
        for a, b in date_chunks(start, end, HEART_MAX_DAYS):
            data = await self._get(ctx, f"/1/user/-/activities/heart/date/{a}/{b}.json")
            for x in (data or {}).get("activities-heart") or []:
                day = date.fromisoformat(x["dateTime"])
                rest = parse_number((x.get("value") or {}).get("restingHeartRate"))
                days[day] = DailyHeart(provider=self.name, date=day, resting_hr_bpm=rest)
        for a, b in date_chunks(start, end, HRV_MAX_DAYS):
            data = await self._get(ctx, f"/1/user/-/hrv/date/{a}/{b}.json")
            for x in (data or {}).get("hrv") or []:
                day = date.fromisoformat(x["dateTime"])
                rmssd = parse_number((x.get("value") or {}).get("dailyRmssd"))
                h = days.setdefault(day, DailyHeart(provider=self.name, date=day))
                h.hrv_rmssd_ms = rmssd
        return [days[d] for d in sorted(days)]
