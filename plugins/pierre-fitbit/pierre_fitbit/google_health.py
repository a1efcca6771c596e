"""Google Health API v4 (`google_health`), the successor of the Fitbit Web API.

Google OAuth 2.0 with `access_type=offline` + `prompt=consent` (so a refresh token is
always issued) and PKCE. Data comes from `users/me/dataTypes/{type}/dataPoints`, newest
first, paged with `pageToken` and filtered with AIP-160 expressions on snake_case fields.
Values follow protobuf JSON: int64 as strings, durations as ``"3633.600s"``.

Assumptions where the public reference is thin (kept in one place, see README.md):
civil times and dates are accepted both as ISO strings and as google.type
``{date:{year,month,day},time:{hours,minutes,seconds}}`` objects; a single exercise is
fetched with the AIP-131 Get on its resource name; daily HRV is read from the first of
``averageHeartRateVariabilityMilliseconds`` / ``rmssdMilliseconds`` present.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pierre.errors import PierreError, ProviderError
from pierre.models import (
    ActivityDetail,
    ActivityQuery,
    ActivitySummary,
    Athlete,
    DailyHeart,
    SleepSession,
    SleepStage,
    Streams,
)
from pierre.plugins.provider import CallContext, OAuthApp, TokenSet, refresh_refused_means_reconnect
from pierre.providers.oauth import with_query
from pierre_fitbit.common import HttpProvider, parse_duration_s, parse_number

API_VERSION = "1.0"
SCOPE_PREFIX = "https://www.googleapis.com/auth/googlehealth."
SCOPES = tuple(f"{SCOPE_PREFIX}{s}.readonly" for s in
               ("activity_and_fitness", "health_metrics_and_measurements", "sleep", "profile"))
EXERCISE_PAGE = 25  # exercise and sleep pages hold at most 25 points
DAILY_PAGE = 100
SAMPLE_PAGE = 1000
# Civil (local) times are filtered with this slack around UTC bounds, then refined.
CIVIL_SLACK = timedelta(hours=14)
STAGES = {"AWAKE": "awake", "LIGHT": "light", "DEEP": "deep", "REM": "rem",
          "ASLEEP": "asleep", "RESTLESS": "restless", "OUT_OF_BED": "awake"}
EXERCISE_TYPES: tuple[tuple[str, str], ...] = (
    ("RUN", "Run"), ("BIK", "Ride"), ("CYCL", "Ride"), ("SPINNING", "Ride"),
    ("SWIM", "Swim"), ("HIK", "Hike"), ("WALK", "Walk"), ("YOGA", "Yoga"),
    ("WEIGHT", "WeightTraining"), ("STRENGTH", "WeightTraining"),
    ("ELLIPTICAL", "Elliptical"), ("ROW", "Rowing"), ("SKI", "NordicSki"),
)
INDOOR_MARKERS = ("TREADMILL", "INDOOR", "STATIONARY", "SPINNING")


def google_reset(status: int, headers: Mapping[str, str], data: Any) -> float:
    """Google sends Retry-After at times; otherwise the per-minute window ends on the minute."""
    try:
        return float(headers["Retry-After"])
    except (KeyError, ValueError):
        return 60.0 - time.time() % 60


def google_message(status: int, data: Any) -> str | None:
    """`{"error":{"code","message","status"}}` (APIs) or `{"error","error_description"}`
    (OAuth endpoints)."""
    if not isinstance(data, dict):
        return None
    err = data.get("error")
    if isinstance(err, dict):
        return f"{err.get('status', '')}: {err.get('message', '')}".strip(": ") or None
    if isinstance(err, str):
        return f"{err}: {data.get('error_description', '')}".strip(": ")
    return None


def exercise_sport(raw: Any) -> tuple[str, bool]:
    """exerciseType enum (RUNNING, BIKING, ...) → (normalized sport type, indoor)."""
    t = str(raw or "").upper()
    indoor = any(m in t for m in INDOOR_MARKERS)
    for key, sport in EXERCISE_TYPES:
        if key in t:
            return sport, indoor
    return "Workout", indoor


def parse_time(v: Any) -> datetime | None:
    """RFC 3339 timestamp (`"2026-01-05T07:00:00Z"`, any fraction) → aware UTC datetime."""
    if not v:
        return None
    s = str(v).replace("Z", "+00:00")
    if "." in s:  # Python accepts at most 6 fraction digits; protobuf sends up to 9
        head, _, rest = s.partition(".")
        frac = "".join(c for c in rest if c.isdigit())
        s = f"{head}.{frac[:6]}{rest[len(frac):]}"
    d = datetime.fromisoformat(s)
    return (d if d.tzinfo else d.replace(tzinfo=UTC)).astimezone(UTC)


def parse_civil(v: Any) -> datetime | None:
    """A civil (wall-clock) time: ISO string or google.type {date, time} object."""
    if not v:
        return None
    if isinstance(v, str):
        return datetime.fromisoformat(v.replace("Z", "")).replace(tzinfo=None)
    if isinstance(v, dict):
        d, t = v.get("date") or {}, v.get("time") or {}
        return datetime(int(d["year"]), int(d["month"]), int(d["day"]),
                        int(t.get("hours") or 0), int(t.get("minutes") or 0),
                        int(t.get("seconds") or 0))
    return None


def parse_date(v: Any) -> date | None:
    if not v:
        return None
    if isinstance(v, str):
        return date.fromisoformat(v[:10])
    if isinstance(v, dict):
        return date(int(v["year"]), int(v["month"]), int(v["day"]))
    return None


def point_id(p: Mapping[str, Any]) -> str:
    """The last segment of `users/{user}/dataTypes/{type}/dataPoints/{id}`."""
    return str(p.get("name") or "").rsplit("/", 1)[-1]


def _civil(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S")


def exercise_summary(p: Mapping[str, Any], provider: str = "google_health") -> dict[str, Any]:
    ex = p.get("exercise") or {}
    iv = ex.get("interval") or {}
    start = parse_time(iv.get("startTime")) or datetime.now(UTC)
    end = parse_time(iv.get("endTime"))
    offset = parse_duration_s(iv.get("startUtcOffset"))
    local = parse_civil(iv.get("civilStartTime"))
    if local is None and offset is not None:
        local = (start + timedelta(seconds=offset)).replace(tzinfo=None)
    m = ex.get("metricsSummary") or {}

    def scaled(key: str, factor: float) -> float | None:
        v = parse_number(m.get(key))
        return round(v / factor, 3) if v is not None else None

    distance = scaled("distanceMillimeters", 1000)
    moving = parse_duration_s(ex.get("activeDuration"))
    speed = scaled("averageSpeedMillimetersPerSecond", 1000)
    sport, indoor = exercise_sport(ex.get("exerciseType"))
    device = ((p.get("dataSource") or {}).get("device") or {})
    return dict(
        provider=provider, provider_id=point_id(p),
        name=str(ex.get("displayName") or sport), sport_type=sport, start_utc=start,
        start_local=local, utc_offset_s=int(offset) if offset is not None else None,
        distance_m=distance, moving_time_s=moving,
        elapsed_time_s=(end - start).total_seconds() if end else moving,
        elevation_gain_m=scaled("elevationGainMillimeters", 1000),
        average_speed_mps=speed if speed is not None else
        (round(distance / moving, 3) if distance and moving else None),
        average_hr_bpm=parse_number(m.get("averageHeartRateBeatsPerMinute")),
        calories_kcal=parse_number(m.get("caloriesKcal")),
        device=device.get("displayName") or device.get("model") or None, trainer=indoor,
        manual=str((p.get("dataSource") or {}).get("recordingMethod")) == "MANUAL",
    )


def sleep_session(p: Mapping[str, Any], provider: str = "google_health") -> SleepSession:
    sl = p.get("sleep") or {}
    iv = sl.get("interval") or {}
    start, end = parse_time(iv.get("startTime")), parse_time(iv.get("endTime"))
    if start is None or end is None:
        raise ProviderError("Google Health sent a sleep point without an interval",
                            provider=provider, status=502)
    civil_end = parse_civil(iv.get("civilEndTime"))
    off = parse_duration_s(iv.get("endUtcOffset"))
    wake = civil_end.date() if civil_end else (end + timedelta(seconds=off or 0)).date()
    stages = []
    for st in sl.get("stages") or []:
        a, b = parse_time(st.get("startTime")), parse_time(st.get("endTime"))
        if a is None or b is None:
            continue
        stages.append(SleepStage(start_utc=a, duration_s=(b - a).total_seconds(),
                                 stage=STAGES.get(str(st.get("type")), "asleep")))

    def total(stage: str) -> float | None:
        if str(sl.get("type")) != "STAGES":
            return None
        return sum(s.duration_s for s in stages if s.stage == stage)

    summary = sl.get("summary") or {}
    asleep = parse_number(summary.get("minutesAsleep"))
    awake = parse_number(summary.get("minutesAwake"))
    duration = (end - start).total_seconds()
    return SleepSession(
        provider=provider, provider_id=point_id(p), date=wake, start_utc=start, end_utc=end,
        duration_s=duration, asleep_s=asleep * 60 if asleep is not None else None,
        awake_s=awake * 60 if awake is not None else None, deep_s=total("deep"),
        light_s=total("light"), rem_s=total("rem"),
        efficiency_pct=round(100 * asleep * 60 / duration, 1)
        if asleep is not None and duration > 0 else None,
        stages=stages)


class GoogleHealthProvider(HttpProvider):
    name = "google_health"
    display_name = "Google Health"
    capabilities = frozenset({"athlete", "activities", "activity", "streams", "sleep",
                              "daily_heart"})
    uses_oauth = True
    pkce = True
    default_scopes = SCOPES
    required_scopes = frozenset({f"{SCOPE_PREFIX}activity_and_fitness.readonly"})
    default_urls = {"auth_url": "https://accounts.google.com/o/oauth2/v2/auth",
                    "token_url": "https://oauth2.googleapis.com/token",
                    "api_base_url": "https://health.googleapis.com"}
    reset_fn = staticmethod(google_reset)
    message_fn = staticmethod(google_message)

    # -- OAuth -----------------------------------------------------------------
    def authorization_url(self, app: OAuthApp, *, redirect_uri: str, state: str,
                          code_challenge: str | None) -> str:
        params = {"client_id": app.client_id, "redirect_uri": redirect_uri,
                  "response_type": "code", "scope": " ".join(app.scopes), "state": state,
                  "access_type": "offline", "prompt": "consent",
                  "include_granted_scopes": "true"}
        if code_challenge:
            params |= {"code_challenge": code_challenge, "code_challenge_method": "S256"}
        return with_query(app.auth_url, params)

    @staticmethod
    def _tokens(data: dict[str, Any], scopes: frozenset[str] | None = None) -> TokenSet:
        granted = frozenset(str(data.get("scope") or "").split()) or scopes or frozenset()
        return TokenSet(access_token=data["access_token"],
                        refresh_token=data.get("refresh_token"),
                        expires_at=time.time() + float(data.get("expires_in") or 3599),
                        scopes=granted)

    async def exchange_code(self, app: OAuthApp, *, code: str, redirect_uri: str,
                            code_verifier: str | None, params: dict[str, str]) -> TokenSet:
        form = {"client_id": app.client_id, "client_secret": app.client_secret or "",
                "code": code, "grant_type": "authorization_code", "redirect_uri": redirect_uri}
        if code_verifier:
            form["code_verifier"] = code_verifier
        resp = await self.call("POST", app.token_url, data=form, retry=False)
        tokens = self._tokens(resp.data)
        try:  # who this is, and which Fitbit account it was (legacyUserId)
            ident = (await self.call("GET", self._base(app) + "/v4/users/me/identity",
                                     token=tokens.access_token)).data or {}
        except PierreError:
            ident = {}
        tokens.provider_user_id = str(ident.get("healthUserId") or "") or None
        if ident.get("legacyUserId"):
            tokens.extra["legacy_fitbit_user_id"] = str(ident["legacyUserId"])
        return tokens

    async def refresh(self, app: OAuthApp, token: TokenSet) -> TokenSet:
        with refresh_refused_means_reconnect(self.name, "Google"):
            resp = await self.call("POST", app.token_url, retry=False, data={
                "client_id": app.client_id, "client_secret": app.client_secret or "",
                "grant_type": "refresh_token", "refresh_token": token.refresh_token or ""})
        return self._tokens(resp.data, token.scopes)

    async def revoke(self, app: OAuthApp | None, token: TokenSet | None) -> None:
        if app is None or token is None:
            return
        url = self.options.get("revoke_url") or app.token_url.rsplit("/", 1)[0] + "/revoke"
        await self.call("POST", url, retry=False,
                        data={"token": token.refresh_token or token.access_token})

    # -- data ------------------------------------------------------------------
    @staticmethod
    def _base(app: OAuthApp | None) -> str:
        assert app is not None
        return app.api_base_url.rstrip("/")

    async def _points(self, ctx: CallContext, kind: str, flt: str | None, page_size: int,
                      max_pages: int = 10_000) -> AsyncIterator[list[dict[str, Any]]]:
        url = f"{self._base(ctx.app)}/v4/users/me/dataTypes/{kind}/dataPoints"
        token: str | None = None
        for _ in range(max_pages):
            params = {"pageSize": page_size}
            if flt:
                params["filter"] = flt  # type: ignore[assignment]
            if token:
                params["pageToken"] = token  # type: ignore[assignment]
            data = (await self.call("GET", url, token=ctx.access_token, params=params)).data
            data = data or {}
            yield list(data.get("dataPoints") or [])
            token = data.get("nextPageToken")
            if not token:
                return

    async def athlete(self, ctx: CallContext) -> Athlete:
        ident = (await self.call("GET", self._base(ctx.app) + "/v4/users/me/identity",
                                 token=ctx.access_token)).data or {}
        return Athlete(provider=self.name, provider_id=str(ident.get("healthUserId") or ""))

    async def activities(self, ctx: CallContext, query: ActivityQuery) -> list[ActivitySummary]:
        want = query.offset + query.limit
        terms, f = [], "exercise.interval.civil_start_time"
        if query.before:
            terms.append(f'{f} < "{_civil(query.before + CIVIL_SLACK)}"')
        if query.after:
            terms.append(f'{f} >= "{_civil(query.after - CIVIL_SLACK)}"')
        out: list[ActivitySummary] = []
        async for points in self._points(ctx, "exercise", " AND ".join(terms) or None,
                                         EXERCISE_PAGE):
            for p in points:
                s = ActivitySummary(**exercise_summary(p, self.name))
                if query.before and s.start_utc >= query.before:
                    continue
                if query.after and s.start_utc <= query.after:
                    continue
                if query.sport_type and s.sport_type.lower() != query.sport_type.lower():
                    continue
                out.append(s)
            if len(out) >= want:
                break
        return out[query.offset: want]

    async def activity(self, ctx: CallContext, activity_id: str, *, streams: bool = False,
                       laps: bool = False) -> ActivityDetail:
        url = f"{self._base(ctx.app)}/v4/users/me/dataTypes/exercise/dataPoints/{activity_id}"
        p = (await self.call("GET", url, token=ctx.access_token)).data or {}
        d = ActivityDetail(**exercise_summary(p, self.name))
        if streams:
            d.streams = await self._heart_stream(ctx, d)
        return d

    async def _heart_stream(self, ctx: CallContext, d: ActivityDetail) -> Streams | None:
        """The exercise's heart-rate samples as a stream (the API keeps GPS elsewhere)."""
        end = d.start_utc + timedelta(seconds=d.elapsed_time_s or 0)
        ts = "heart_rate.sample_time.physical_time"
        flt = (f'{ts} >= "{d.start_utc.strftime("%Y-%m-%dT%H:%M:%SZ")}" AND '
               f'{ts} < "{end.strftime("%Y-%m-%dT%H:%M:%SZ")}"')
        samples: list[tuple[datetime, float]] = []
        async for points in self._points(ctx, "heart-rate", flt, SAMPLE_PAGE):
            for p in points:
                hr = p.get("heartRate") or {}
                t = parse_time((hr.get("sampleTime") or {}).get("physicalTime"))
                bpm = parse_number(hr.get("beatsPerMinute"))
                if t is not None and bpm is not None:
                    samples.append((t, bpm))
        if not samples:
            return None
        samples.sort()
        return Streams(time_s=[(t - d.start_utc).total_seconds() for t, _ in samples],
                       heartrate_bpm=[b for _, b in samples])

    async def sleep(self, ctx: CallContext, start: date, end: date) -> list[SleepSession]:
        f = "sleep.interval.civil_end_time"
        flt = (f'{f} >= "{start.isoformat()}T00:00:00" AND '
               f'{f} < "{(end + timedelta(days=1)).isoformat()}T00:00:00"')
        out: list[SleepSession] = []
        async for points in self._points(ctx, "sleep", flt, EXERCISE_PAGE):
            out += [sleep_session(p, self.name) for p in points]
        return sorted((s for s in out if start <= s.date <= end), key=lambda s: s.start_utc)

    async def daily_heart(self, ctx: CallContext, start: date, end: date) -> list[DailyHeart]:
        days: dict[date, DailyHeart] = {}
        for kind, key, field in (
                ("daily-resting-heart-rate", "dailyRestingHeartRate", "daily_resting_heart_rate"),
                ("daily-heart-rate-variability", "dailyHeartRateVariability",
                 "daily_heart_rate_variability")):
            flt = (f'{field}.date >= "{start.isoformat()}" AND '
                   f'{field}.date <= "{end.isoformat()}"')
            async for points in self._points(ctx, kind, flt, DAILY_PAGE):
                for p in points:
                    v = p.get(key) or {}
                    day = parse_date(v.get("date"))
                    if day is None or not start <= day <= end:
                        continue
                    h = days.setdefault(day, DailyHeart(provider=self.name, date=day))
                    if kind == "daily-resting-heart-rate":
                        h.resting_hr_bpm = parse_number(v.get("beatsPerMinute"))
                    else:
                        h.hrv_rmssd_ms = next(
                            (parse_number(v[k]) for k in
                             ("averageHeartRateVariabilityMilliseconds", "rmssdMilliseconds")
                             if v.get(k) is not None), None)
        return [days[d] for d in sorted(days)]
