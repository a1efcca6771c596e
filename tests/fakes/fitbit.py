"""Fake Fitbit Web API v1 + OAuth 2.0, faithful to the documented paths, shapes and errors.

- `/oauth2/authorize` checks PKCE parameters (S256 only) and redirects with `code` + `state`;
  `/oauth2/token` demands `Authorization: Basic b64(client_id:secret)`, verifies the PKCE
  verifier against the stored challenge and the redirect_uri, and issues single-use refresh
  tokens (a used one answers `invalid_grant`); `/oauth2/revoke`.
- API answers carry `Fitbit-Rate-Limit-Limit/-Remaining/-Reset` (150 per user per hour);
  429 when spent. Errors are `{"errors":[{"errorType","message"}],"success":false}`.

Controls for tests: `expire_access_tokens()`, `revoke_refresh_tokens()`, `rate_limit_next`,
`remaining`, `drop_scopes`, `fail_next_5xx`.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from tests.fakes.base import FakeServer

USER_ID = "7QX4ZB"
OFFSET = timedelta(hours=1)  # the user lives at UTC+01:00 (profile offsetFromUTCMillis)


def _err(status: int, error_type: str, message: str, **extra: str) -> web.Response:
    return web.json_response({"errors": [{"errorType": error_type, "message": message,
                                          **extra}], "success": False}, status=status)


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()
                                    ).rstrip(b"=").decode()


class FakeFitbit(FakeServer):
    def __init__(self, *, client_id: str = "23ABCD", client_secret: str = "fb-secret",
                 n_activities: int = 250, n_nights: int = 14) -> None:
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        self.codes: dict[str, dict[str, str]] = {}
        self.access: dict[str, tuple[float, str]] = {}  # token -> (expires_at, scope)
        self.refresh: dict[str, str] = {}  # token -> scope
        self.used_refresh: set[str] = set()
        self.revoked: list[str] = []
        self.refresh_count = 0
        self.limit, self.remaining = 150, 150
        self.rate_limit_next = False
        self.fail_next_5xx = 0
        self.drop_scopes: set[str] = set()
        self.today = date(2025, 6, 1)
        t0 = datetime(2025, 6, 1, 7, 0) + OFFSET  # local wall clock
        self.activities = [self._activity(i, t0 - timedelta(days=i, hours=i % 3))
                           for i in range(n_activities)]
        self.nights = [self._night(i) for i in range(n_nights)]
        r = self.app.router
        r.add_get("/oauth2/authorize", self.authorize)
        r.add_post("/oauth2/token", self.token)
        r.add_post("/oauth2/revoke", self.revoke)
        r.add_get("/1/user/-/profile.json", self.profile)
        r.add_get("/1/user/-/activities/list.json", self.list_activities)
        r.add_get("/1/user/-/activities/{log_id}.tcx", self.tcx)
        r.add_get("/1/user/-/activities/heart/date/{start}/{end}.json", self.heart)
        r.add_get("/1/user/-/hrv/date/{start}/{end}.json", self.hrv)
        r.add_get("/1.2/user/-/sleep/date/{start}/{end}.json", self.sleep)

    # -- data ------------------------------------------------------------------
    def _activity(self, i: int, local: datetime) -> dict[str, Any]:
        run = i % 3 != 2
        active_ms = (1800 + 30 * i) * 1000
        km = round(active_ms / 1000 / (330 if run else 130), 3)
        log_id = 40_000_000_000 + i
        return {
            "logId": log_id, "activityName": "Run" if run else "Outdoor Bike",
            "activityTypeId": 90009 if run else 1071, "activeDuration": active_ms,
            "duration": active_ms + 60_000, "originalDuration": active_ms + 60_000,
            "startTime": local.strftime("%Y-%m-%dT%H:%M:%S.000") + "+01:00",
            "originalStartTime": local.strftime("%Y-%m-%dT%H:%M:%S.000") + "+01:00",
            "calories": 400 + i, "distance": km, "distanceUnit": "Kilometer",
            "steps": 5000 + i if run else 0, "averageHeartRate": 140 + i % 15,
            "elevationGain": 20.0 + i % 7, "speed": round(km / (active_ms / 3_600_000), 3),
            "pace": round(active_ms / 1000 / km, 3), "hasGps": True, "logType": "tracker",
            "lastModified": "2025-06-01T10:00:00.000Z", "hasActiveZoneMinutes": True,
            "heartRateZones": [{"name": "Out of Range", "min": 30, "max": 115, "minutes": 3},
                               {"name": "Fat Burn", "min": 115, "max": 140, "minutes": 20},
                               {"name": "Cardio", "min": 140, "max": 165, "minutes": 12},
                               {"name": "Peak", "min": 165, "max": 220, "minutes": 2}],
            "source": {"id": "1", "name": "Charge 6", "type": "tracker", "url": ""},
            "tcxLink": f"https://api.fitbit.com/1/user/-/activities/{log_id}.tcx",
            "activityLevel": [{"minutes": 5, "name": "sedentary"}],
        }

    def _night(self, i: int) -> dict[str, Any]:
        wake_day = self.today - timedelta(days=i)
        start = datetime.combine(wake_day - timedelta(days=1), datetime.min.time()) \
            + timedelta(hours=23, minutes=i * 5)
        segs = [("wake", 300), ("light", 2400), ("deep", 3600), ("rem", 1800 + 60 * i),
                ("light", 5400), ("deep", 1800), ("rem", 3600), ("wake", 600)]
        data, t = [], start
        for level, secs in segs:
            data.append({"dateTime": t.strftime("%Y-%m-%dT%H:%M:%S.000"), "level": level,
                         "seconds": secs})
            t += timedelta(seconds=secs)
        total = sum(s for _, s in segs)
        mins = {lv: sum(s for x, s in segs if x == lv) // 60
                for lv in ("wake", "light", "deep", "rem")}
        asleep = (total - mins["wake"] * 60) // 60
        return {
            "dateOfSleep": wake_day.isoformat(), "duration": total * 1000,
            "efficiency": round(100 * asleep * 60 / total), "isMainSleep": True,
            "startTime": start.strftime("%Y-%m-%dT%H:%M:%S.000"),
            "endTime": t.strftime("%Y-%m-%dT%H:%M:%S.000"), "logId": 30_000_000_000 + i,
            "logType": "auto_detected", "minutesAfterWakeup": 0, "minutesAsleep": asleep,
            "minutesAwake": mins["wake"], "minutesToFallAsleep": 0,
            "timeInBed": total // 60, "type": "stages",
            "levels": {"summary": {lv: {"count": 2, "minutes": m, "thirtyDayAvgMinutes": m}
                                   for lv, m in mins.items()},
                       "data": data, "shortData": []},
        }

    # -- controls --------------------------------------------------------------
    def expire_access_tokens(self) -> None:
        for t, (_, scope) in self.access.items():
            self.access[t] = (0, scope)

    def revoke_refresh_tokens(self) -> None:
        self.refresh.clear()

    # -- helpers ---------------------------------------------------------------
    def _reset_s(self) -> int:
        return 3600 - int(time.time()) % 3600

    def _headers(self, resp: web.StreamResponse) -> web.StreamResponse:
        resp.headers["Fitbit-Rate-Limit-Limit"] = str(self.limit)
        resp.headers["Fitbit-Rate-Limit-Remaining"] = str(max(0, self.remaining))
        resp.headers["Fitbit-Rate-Limit-Reset"] = str(self._reset_s())
        return resp

    def _check(self, request: web.Request, scope: str) -> web.StreamResponse | None:
        if self.fail_next_5xx:
            self.fail_next_5xx -= 1
            return _err(500, "system", "An unexpected error occurred")
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ")
        if not auth.startswith("Bearer ") or token not in self.access:
            return self._headers(_err(401, "invalid_token",
                                      f"Access token invalid: {token[:6]}..."))
        expires, granted = self.access[token]
        if expires < time.time():
            return self._headers(_err(401, "expired_token",
                                      f"Access token expired: {token[:6]}..."))
        if self.rate_limit_next or self.remaining <= 0:
            self.rate_limit_next = False
            self.remaining = 0
            return self._headers(_err(429, "system", "Too Many Requests"))
        self.remaining -= 1
        if scope not in granted.split():
            return self._headers(_err(
                403, "insufficient_scope",
                f"This application does not have permission to access {scope} data."))
        return None

    def _ok(self, data: Any) -> web.StreamResponse:
        return self._headers(web.json_response(data))

    def _client_ok(self, request: web.Request) -> bool:
        want = "Basic " + base64.b64encode(
            f"{self.client_id}:{self.client_secret}".encode()).decode()
        return request.headers.get("Authorization") == want

    # -- OAuth -----------------------------------------------------------------
    async def authorize(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        if q.get("client_id") != self.client_id or q.get("response_type") != "code":
            return _err(400, "invalid_request", "Invalid client_id or response_type")
        if q.get("code_challenge_method") != "S256" or len(q.get("code_challenge", "")) < 43:
            return _err(400, "invalid_request", "PKCE code_challenge with S256 is required")
        scopes = [s for s in q.get("scope", "").split() if s not in self.drop_scopes]
        code = secrets.token_hex(20)
        self.codes[code] = {"challenge": q["code_challenge"], "scope": " ".join(scopes),
                            "redirect_uri": q.get("redirect_uri", "")}
        params = {"code": code, "state": q.get("state", "")}
        raise web.HTTPFound(f"{q['redirect_uri']}?{urlencode(params)}#_=_")

    def _issue(self, scope: str) -> dict[str, Any]:
        access, refresh = secrets.token_hex(24), secrets.token_hex(32)
        self.access[access] = (time.time() + 28800, scope)
        self.refresh[refresh] = scope
        return {"access_token": access, "expires_in": 28800, "refresh_token": refresh,
                "scope": scope, "token_type": "Bearer", "user_id": USER_ID}

    async def token(self, request: web.Request) -> web.StreamResponse:
        if not self._client_ok(request):
            return _err(401, "invalid_client",
                        "Invalid authorization header format or client credentials.")
        form = await request.post()
        grant = form.get("grant_type")
        if grant == "authorization_code":
            rec = self.codes.pop(str(form.get("code")), None)
            if rec is None:
                return _err(400, "invalid_grant", "Authorization code invalid")
            if form.get("redirect_uri") != rec["redirect_uri"]:
                return _err(400, "invalid_grant", "Redirect_uri mismatch")
            if _s256(str(form.get("code_verifier") or "")) != rec["challenge"]:
                return _err(400, "invalid_grant", "Code verifier invalid")
            return web.json_response(self._issue(rec["scope"]))
        if grant == "refresh_token":
            rt = str(form.get("refresh_token"))
            scope = self.refresh.pop(rt, None)  # single use
            if scope is None:
                return _err(400, "invalid_grant", f"Refresh token invalid: {rt[:6]}...")
            self.used_refresh.add(rt)
            self.refresh_count += 1
            return web.json_response(self._issue(scope))
        return _err(400, "unsupported_grant_type", "The grant_type is not supported")

    async def revoke(self, request: web.Request) -> web.StreamResponse:
        if not self._client_ok(request):
            return _err(401, "invalid_client", "Invalid client credentials.")
        token = str((await request.post()).get("token") or "")
        self.revoked.append(token)
        # Revoking either token ends the whole grant (one user in this fake).
        self.refresh.clear()
        self.access.clear()
        return web.json_response({})

    # -- API -------------------------------------------------------------------
    async def profile(self, request: web.Request) -> web.StreamResponse:
        if (bad := self._check(request, "profile")) is not None:
            return bad
        return self._ok({"user": {
            "encodedId": USER_ID, "firstName": "Ada", "lastName": "L", "fullName": "Ada L",
            "displayName": "Ada", "gender": "FEMALE", "dateOfBirth": "1988-04-02",
            "weight": 58.2, "height": 168.0, "timezone": "Europe/Paris",
            "offsetFromUTCMillis": int(OFFSET.total_seconds() * 1000), "country": "FR",
            "city": "Lyon", "memberSince": "2019-01-01", "strideLengthRunning": 110.0}})

    async def list_activities(self, request: web.Request) -> web.StreamResponse:
        if (bad := self._check(request, "activity")) is not None:
            return bad
        q = request.query
        before, after = q.get("beforeDate"), q.get("afterDate")
        if (before is None) == (after is None):
            return self._headers(_err(400, "validation",
                                      "Exactly one of beforeDate or afterDate is required",
                                      fieldName="beforeDate"))
        sort = q.get("sort", "")
        if (before and sort != "desc") or (after and sort != "asc"):
            return self._headers(_err(400, "validation", "Invalid sort for the date given",
                                      fieldName="sort"))
        limit, offset = int(q.get("limit", "0")), int(q.get("offset", "-1"))
        if not 1 <= limit <= 100 or offset < 0:
            return self._headers(_err(400, "validation", "limit must be 1..100",
                                      fieldName="limit"))

        def local(a: dict[str, Any]) -> datetime:
            return datetime.fromisoformat(a["startTime"][:19])

        if before:
            edge = datetime.fromisoformat(before if "T" in before else before + "T00:00:00")
            items = [a for a in self.activities if local(a) < edge]  # newest first
        else:
            edge = datetime.fromisoformat(after if "T" in after else after + "T00:00:00")
            items = [a for a in reversed(self.activities) if local(a) > edge]
        page = items[offset: offset + limit]
        nxt = ""
        if offset + limit < len(items):
            params = dict(q) | {"offset": str(offset + limit)}
            nxt = f"https://api.fitbit.com/1/user/-/activities/list.json?{urlencode(params)}"
        prev = ""
        if offset > 0:
            params = dict(q) | {"offset": str(max(0, offset - limit))}
            prev = f"https://api.fitbit.com/1/user/-/activities/list.json?{urlencode(params)}"
        pag = {"limit": limit, "next": nxt, "offset": offset, "previous": prev, "sort": sort}
        pag |= {"beforeDate": before} if before else {"afterDate": after}
        return self._ok({"activities": page, "pagination": pag})

    async def tcx(self, request: web.Request) -> web.StreamResponse:
        if (bad := self._check(request, "activity")) is not None:
            return bad
        log_id = int(request.match_info["log_id"])
        a = next((x for x in self.activities if x["logId"] == log_id), None)
        if a is None:
            return self._headers(_err(404, "not_found", "The resource was not found"))
        start = datetime.fromisoformat(a["startTime"]).astimezone(UTC)
        n, step = 60, a["activeDuration"] / 1000 / 60
        v = a["distance"] * 1000 / (a["activeDuration"] / 1000)
        pts = []
        for i in range(n):
            t = (start + timedelta(seconds=i * step)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            pts.append(
                f"<Trackpoint><Time>{t}</Time><Position><LatitudeDegrees>{45.76 + i * 1e-4}"
                f"</LatitudeDegrees><LongitudeDegrees>4.84</LongitudeDegrees></Position>"
                f"<AltitudeMeters>{170 + i % 5}</AltitudeMeters><DistanceMeters>"
                f"{round(v * i * step, 2)}</DistanceMeters><HeartRateBpm><Value>"
                f"{130 + i % 25}</Value></HeartRateBpm></Trackpoint>")
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/'
            'TrainingCenterDatabase/v2"><Activities><Activity Sport="Running">'
            f"<Id>{start:%Y-%m-%dT%H:%M:%S.000Z}</Id>"
            f'<Lap StartTime="{start:%Y-%m-%dT%H:%M:%S.000Z}">'
            f"<TotalTimeSeconds>{a['activeDuration'] / 1000}</TotalTimeSeconds>"
            f"<DistanceMeters>{a['distance'] * 1000}</DistanceMeters>"
            f"<Calories>{a['calories']}</Calories><Intensity>Active</Intensity>"
            f"<TriggerMethod>Manual</TriggerMethod><Track>{''.join(pts)}</Track></Lap>"
            "<Creator><Name>Fitbit Charge 6</Name></Creator></Activity></Activities>"
            "</TrainingCenterDatabase>")
        return self._headers(web.Response(body=body.encode(),
                                          content_type="application/vnd.garmin.tcx+xml"))

    def _range(self, request: web.Request, max_days: int) -> tuple[date, date] | None:
        try:
            a = date.fromisoformat(request.match_info["start"])
            b = date.fromisoformat(request.match_info["end"])
        except ValueError:
            return None
        if b < a or (b - a).days >= max_days:
            return None
        return a, b

    async def heart(self, request: web.Request) -> web.StreamResponse:
        if (bad := self._check(request, "heartrate")) is not None:
            return bad
        rng = self._range(request, 366)
        if rng is None:
            return self._headers(_err(400, "validation", "Invalid date range"))
        out = []
        day = rng[0]
        while day <= rng[1]:
            if day <= self.today:
                k = (self.today - day).days
                out.append({"dateTime": day.isoformat(), "value": {
                    "customHeartRateZones": [], "restingHeartRate": 52 + k % 5,
                    "heartRateZones": [{"caloriesOut": 1800.5, "max": 110, "min": 30,
                                        "minutes": 1300, "name": "Out of Range"}]}})
            day += timedelta(days=1)
        return self._ok({"activities-heart": out})

    async def hrv(self, request: web.Request) -> web.StreamResponse:
        if (bad := self._check(request, "heartrate")) is not None:
            return bad
        rng = self._range(request, 30)
        if rng is None:
            return self._headers(_err(400, "validation", "Date range must be 30 days or less"))
        out = []
        day = rng[0]
        while day <= rng[1]:
            if day <= self.today:
                k = (self.today - day).days
                out.append({"value": {"dailyRmssd": 40.5 + k % 4, "deepRmssd": 44.1},
                            "dateTime": day.isoformat()})
            day += timedelta(days=1)
        return self._ok({"hrv": out})

    async def sleep(self, request: web.Request) -> web.StreamResponse:
        if (bad := self._check(request, "sleep")) is not None:
            return bad
        rng = self._range(request, 100)
        if rng is None:
            return self._headers(_err(400, "validation", "Date range must be 100 days or less"))
        items = [n for n in self.nights
                 if rng[0] <= date.fromisoformat(n["dateOfSleep"]) <= rng[1]]
        return self._ok({"sleep": items, "summary": {
            "totalMinutesAsleep": sum(n["minutesAsleep"] for n in items),
            "totalSleepRecords": len(items),
            "totalTimeInBed": sum(n["timeInBed"] for n in items)}})
