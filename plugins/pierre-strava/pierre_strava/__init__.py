"""Strava API v3 as a `pierre.providers` plugin (OAuth 2.0, no PKCE)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pierre.models import (
    ActivityDetail,
    ActivityQuery,
    ActivitySummary,
    Athlete,
    Lap,
    Stats,
    Streams,
    Totals,
    Zone,
    Zones,
)
from pierre.plugins.provider import (
    CallContext,
    OAuthApp,
    Provider,
    TokenSet,
    refresh_refused_means_reconnect,
)
from pierre.providers.oauth import with_query
from pierre.providers.resilience import HttpApi

API_VERSION = "1.0"
PER_PAGE = 200  # Strava's maximum page size: fewest calls for a whole history
STREAM_KEYS = "time,distance,latlng,altitude,velocity_smooth,heartrate,cadence,watts,temp"


def strava_reset(status: int, headers: Mapping[str, str], data: Any,
                 now: float | None = None) -> float:
    """Strava sends no Retry-After: windows reset at :00/:15/:30/:45, daily at 00:00 UTC.
    When the daily usage is at its limit, wait for midnight; else the next quarter hour."""
    now = time.time() if now is None else now
    dt = datetime.fromtimestamp(now, UTC)
    try:
        limits = [int(x) for x in headers.get("X-RateLimit-Limit", "").split(",")]
        usage = [int(x) for x in headers.get("X-RateLimit-Usage", "").split(",")]
        daily_out = len(limits) == 2 and len(usage) == 2 and usage[1] >= limits[1]
    except ValueError:
        daily_out = False
    if daily_out:
        midnight = datetime(dt.year, dt.month, dt.day, tzinfo=UTC) + timedelta(days=1)
        return (midnight - dt).total_seconds()
    quarter = dt.replace(minute=dt.minute - dt.minute % 15, second=0, microsecond=0)
    return (quarter + timedelta(minutes=15) - dt).total_seconds()


def strava_message(status: int, data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    msg = str(data.get("message") or "")
    errs = data.get("errors") or []
    if errs and isinstance(errs[0], dict):
        e = errs[0]
        msg += f" ({e.get('resource')}: {e.get('field')} {e.get('code')})"
    return msg or None


def _dt(v: Any) -> datetime | None:
    if not v:
        return None
    return datetime.fromisoformat(str(v).replace("Z", "+00:00"))


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def summary(a: dict[str, Any], provider: str = "strava") -> dict[str, Any]:
    start = _dt(a.get("start_date")) or datetime.now(UTC)
    local = _dt(a.get("start_date_local"))
    latlng = a.get("start_latlng") or None
    return dict(
        provider=provider, provider_id=str(a["id"]), name=a.get("name") or "",
        sport_type=a.get("sport_type") or a.get("type") or "Workout",
        start_utc=start.astimezone(UTC),
        start_local=local.replace(tzinfo=None) if local else None,
        utc_offset_s=int(a["utc_offset"]) if a.get("utc_offset") is not None else None,
        distance_m=_num(a.get("distance")), moving_time_s=_num(a.get("moving_time")),
        elapsed_time_s=_num(a.get("elapsed_time")),
        elevation_gain_m=_num(a.get("total_elevation_gain")),
        average_speed_mps=_num(a.get("average_speed")), max_speed_mps=_num(a.get("max_speed")),
        average_hr_bpm=_num(a.get("average_heartrate")),
        max_hr_bpm=_num(a.get("max_heartrate")),
        average_cadence_rpm=_num(a.get("average_cadence")),
        average_power_w=_num(a.get("average_watts")),
        weighted_average_power_w=_num(a.get("weighted_average_watts")),
        max_power_w=_num(a.get("max_watts")),
        calories_kcal=_num(a.get("calories")), device=a.get("device_name"),
        gear_id=a.get("gear_id"), trainer=bool(a.get("trainer")), manual=bool(a.get("manual")),
        start_latlng=(float(latlng[0]), float(latlng[1])) if latlng else None,
    )


def parse_streams(data: dict[str, Any]) -> Streams:
    def series(key: str) -> list[Any] | None:
        s = data.get(key)
        return list(s["data"]) if isinstance(s, dict) and "data" in s else None

    latlng = series("latlng")
    return Streams(
        time_s=[float(t) for t in series("time") or []], distance_m=series("distance"),
        latlng=[(float(p[0]), float(p[1])) if p else None for p in latlng] if latlng else None,
        altitude_m=series("altitude"), heartrate_bpm=series("heartrate"),
        cadence_rpm=series("cadence"), power_w=series("watts"),
        velocity_mps=series("velocity_smooth"), temperature_c=series("temp"))


def _totals(t: dict[str, Any] | None) -> Totals:
    t = t or {}
    return Totals(count=int(t.get("count") or 0), distance_m=float(t.get("distance") or 0),
                  moving_time_s=float(t.get("moving_time") or 0),
                  elapsed_time_s=float(t.get("elapsed_time") or 0),
                  elevation_gain_m=float(t.get("elevation_gain") or 0))


class StravaProvider(Provider):
    name = "strava"
    display_name = "Strava"
    capabilities = frozenset({"athlete", "activities", "activity", "streams", "laps", "stats",
                              "zones"})
    uses_oauth = True
    pkce = False
    default_scopes = ("read", "activity:read_all", "profile:read_all")
    # Without activity:read(_all) there is nothing to analyse.
    required_scopes = frozenset({"activity:read_all"})
    default_urls = {"auth_url": "https://www.strava.com/oauth/authorize",
                    "token_url": "https://www.strava.com/oauth/token",
                    "api_base_url": "https://www.strava.com/api/v3"}

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.api = HttpApi(self.name, self.display_name,
                           timeout_s=float(self.options.get("timeout_s") or 15.0),
                           retries=int(self.options.get("retries", 2)),
                           backoff_base_s=float(self.options.get("backoff_s", 0.2)),
                           reset=strava_reset, message=strava_message)

    def missing_scopes(self, granted: frozenset[str]) -> list[str]:
        if "activity:read_all" in granted or "activity:read" in granted:
            return []
        return ["activity:read_all"]

    async def close(self) -> None:
        await self.api.close()

    # -- OAuth -----------------------------------------------------------------
    def authorization_url(self, app: OAuthApp, *, redirect_uri: str, state: str,
                          code_challenge: str | None) -> str:
        return with_query(app.auth_url, {
            "client_id": app.client_id, "redirect_uri": redirect_uri, "response_type": "code",
            "approval_prompt": "auto", "scope": ",".join(app.scopes), "state": state})

    def _tokens(self, data: dict[str, Any], scopes: frozenset[str]) -> TokenSet:
        athlete = data.get("athlete") or {}
        return TokenSet(access_token=data["access_token"], refresh_token=data.get("refresh_token"),
                        expires_at=float(data["expires_at"]) if data.get("expires_at") else
                        time.time() + float(data.get("expires_in") or 21600),
                        scopes=scopes,
                        provider_user_id=str(athlete["id"]) if athlete.get("id") else None)

    async def exchange_code(self, app: OAuthApp, *, code: str, redirect_uri: str,
                            code_verifier: str | None, params: dict[str, str]) -> TokenSet:
        resp = await self.api.request("POST", app.token_url, retry=False, data={
            "client_id": app.client_id, "client_secret": app.client_secret or "",
            "code": code, "grant_type": "authorization_code"})
        granted = frozenset(s for s in (params.get("scope") or "").split(",") if s)
        return self._tokens(resp.data, granted)

    async def refresh(self, app: OAuthApp, token: TokenSet) -> TokenSet:
        with refresh_refused_means_reconnect(self.name, "Strava"):
            resp = await self.api.request("POST", app.token_url, retry=False, data={
                "client_id": app.client_id, "client_secret": app.client_secret or "",
                "grant_type": "refresh_token", "refresh_token": token.refresh_token or ""})
        return self._tokens(resp.data, token.scopes)

    async def revoke(self, app: OAuthApp | None, token: TokenSet | None) -> None:
        if app is None or token is None:
            return
        deauth = self.options.get("deauthorize_url") or app.token_url.replace(
            "/oauth/token", "/oauth/deauthorize")
        await self.api.request("POST", deauth, retry=False,
                               data={"access_token": token.access_token})

    # -- data ------------------------------------------------------------------
    def _url(self, ctx: CallContext, path: str) -> str:
        assert ctx.app is not None
        return ctx.app.api_base_url.rstrip("/") + path

    async def _get(self, ctx: CallContext, path: str, **params: Any) -> Any:
        resp = await self.api.request("GET", self._url(ctx, path), token=ctx.access_token,
                                      params={k: v for k, v in params.items() if v is not None})
        return resp.data

    async def athlete(self, ctx: CallContext) -> Athlete:
        a = await self._get(ctx, "/athlete")
        return Athlete(provider=self.name, provider_id=str(a["id"]),
                       firstname=a.get("firstname"), lastname=a.get("lastname"),
                       sex=a.get("sex") or None, weight_kg=_num(a.get("weight")) or None,
                       city=a.get("city"), country=a.get("country"), ftp_w=_num(a.get("ftp")))

    async def activities(self, ctx: CallContext, query: ActivityQuery) -> list[ActivitySummary]:
        """Strava pages newest first with before/after epochs; walk pages until the
        requested offset+limit window is filled (sport filtering is ours)."""
        want = query.offset + query.limit
        out: list[ActivitySummary] = []
        page = 1
        per_page = PER_PAGE if (query.sport_type or want > 30) else max(want, 1)
        per_page = min(PER_PAGE, per_page)
        while len(out) < want:
            items = await self._get(
                ctx, "/athlete/activities", page=page, per_page=per_page,
                before=int(query.before.timestamp()) if query.before else None,
                after=int(query.after.timestamp()) if query.after else None)
            if not isinstance(items, list) or not items:
                break
            for a in items:
                s = ActivitySummary(**summary(a, self.name))
                if query.sport_type and s.sport_type.lower() != query.sport_type.lower():
                    continue
                out.append(s)
            if len(items) < per_page:
                break
            page += 1
        return out[query.offset: want]

    async def activity(self, ctx: CallContext, activity_id: str, *, streams: bool = False,
                       laps: bool = False) -> ActivityDetail:
        a = await self._get(ctx, f"/activities/{activity_id}")
        d = ActivityDetail(**summary(a, self.name), description=a.get("description"))
        if streams:
            data = await self._get(ctx, f"/activities/{activity_id}/streams",
                                   keys=STREAM_KEYS, key_by_type="true")
            d.streams = parse_streams(data or {})
        if laps:
            raw = await self._get(ctx, f"/activities/{activity_id}/laps") or []
            d.laps = [Lap(index=int(x.get("lap_index") or i + 1),
                          start_utc=_dt(x.get("start_date")),
                          distance_m=_num(x.get("distance")),
                          elapsed_time_s=_num(x.get("elapsed_time")),
                          moving_time_s=_num(x.get("moving_time")),
                          average_speed_mps=_num(x.get("average_speed")),
                          average_hr_bpm=_num(x.get("average_heartrate")),
                          max_hr_bpm=_num(x.get("max_heartrate")),
                          average_power_w=_num(x.get("average_watts")),
                          elevation_gain_m=_num(x.get("total_elevation_gain")))
                      for i, x in enumerate(raw)]
        return d

    async def stats(self, ctx: CallContext) -> Stats:
        athlete_id = ctx.token.provider_user_id if ctx.token else None
        if not athlete_id:
            athlete_id = (await self.athlete(ctx)).provider_id
        s = await self._get(ctx, f"/athletes/{athlete_id}/stats")
        kw = {f"{w}_{k}": _totals(s.get(f"{w}_{k}_totals"))
              for w in ("recent", "ytd", "all") for k in ("run", "ride", "swim")}
        return Stats(provider=self.name, **kw,
                     biggest_ride_distance_m=_num(s.get("biggest_ride_distance")),
                     biggest_climb_elevation_gain_m=_num(s.get("biggest_climb_elevation_gain")))

    async def zones(self, ctx: CallContext) -> Zones:
        z = await self._get(ctx, "/athlete/zones")

        def conv(block: dict[str, Any] | None) -> list[Zone] | None:
            if not block:
                return None
            return [Zone(min=float(x["min"]), max=None if x["max"] in (-1, None)
                         else float(x["max"])) for x in block.get("zones", [])]

        hr = z.get("heart_rate")
        return Zones(provider=self.name, heart_rate_bpm=conv(hr), power_w=conv(z.get("power")),
                     custom=bool(hr and hr.get("custom_zones")))


