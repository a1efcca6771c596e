"""Fake Google OAuth 2.0 + Google Health API v4, following the documented shapes.

- `/o/oauth2/v2/auth` requires `access_type=offline` and a S256 PKCE challenge and redirects
  with `code`, `state` and the granted `scope`; `/token` checks client id + secret (form),
  redirect_uri and the PKCE verifier; refresh tokens stay valid until revoked (Google's
  behaviour) and a revoked one answers `invalid_grant`; `/revoke`.
- `v4/users/me/identity`, `v4/users/me/dataTypes/{type}/dataPoints` (newest first, exercise
  and sleep pages at most 25, opaque `nextPageToken`, AIP-160 filters on snake_case fields:
  an unknown field is a 400 INVALID_ARGUMENT) and the AIP-131 Get of one exercise.
- protobuf JSON: int64 as strings, durations as "123.400s"; Google error bodies
  `{"error":{"code","message","status"}}`; 429 RESOURCE_EXHAUSTED past 300 requests/minute.

Controls: `expire_access_tokens()`, `revoke_refresh_tokens()`, `rate_limit_next`,
`drop_scopes`.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from tests.fakes.base import FakeServer

HEALTH_USER_ID = "3af0c1d2-hu"
LEGACY_FITBIT_ID = "7QX4ZB"
OFFSET = timedelta(hours=2)
SCOPE = "https://www.googleapis.com/auth/googlehealth."
_TERM = re.compile(r'^([a-z_.]+)\s*(>=|<=|!=|>|<|=)\s*"([^"]*)"$')
# The filterable fields per data type (snake_case, as AIP-160 filters want).
FIELDS = {
    "exercise": {"exercise.interval.civil_start_time", "exercise.interval.start_time"},
    "sleep": {"sleep.interval.civil_end_time", "sleep.interval.civil_start_time"},
    "heart-rate": {"heart_rate.sample_time.physical_time"},
    "daily-resting-heart-rate": {"daily_resting_heart_rate.date"},
    "daily-heart-rate-variability": {"daily_heart_rate_variability.date"},
}
MAX_PAGE = {"exercise": 25, "sleep": 25}
TYPES = {"RUNNING": 0, "BIKING": 1, "WALKING": 2, "SWIMMING_POOL": 3}


def _gerr(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": status, "message": message, "status": code}},
                             status=status)


def _oerr(status: int, error: str, desc: str) -> web.Response:
    return web.json_response({"error": error, "error_description": desc}, status=status)


def _civil(dt: datetime) -> dict[str, Any]:
    return {"date": {"year": dt.year, "month": dt.month, "day": dt.day},
            "time": {"hours": dt.hour, "minutes": dt.minute, "seconds": dt.second}}


def _civil_s(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S")


def _z(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _dur(seconds: float) -> str:
    return f"{seconds:.3f}s"


class FakeGoogleHealth(FakeServer):
    def __init__(self, *, client_id: str = "42.apps.googleusercontent.com",
                 client_secret: str = "g-secret", n_exercises: int = 60,
                 n_nights: int = 10) -> None:
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        self.codes: dict[str, dict[str, str]] = {}
        self.access: dict[str, tuple[float, str]] = {}
        self.refresh: dict[str, str] = {}
        self.revoked: list[str] = []
        self.refresh_count = 0
        self.rate_limit_next = False
        self.per_minute = 300
        self.window: tuple[int, int] = (0, 0)  # (minute, count)
        self.drop_scopes: set[str] = set()
        self.today = date(2026, 3, 1)
        t0 = datetime(2026, 3, 1, 6, 30, tzinfo=UTC)
        self.exercises = [self._exercise(i, t0 - timedelta(days=i, hours=i % 4))
                          for i in range(n_exercises)]
        self.nights = [self._night(i) for i in range(n_nights)]
        r = self.app.router
        r.add_get("/o/oauth2/v2/auth", self.authorize)
        r.add_post("/token", self.token)
        r.add_post("/revoke", self.revoke)
        r.add_get("/v4/users/me/identity", self.identity)
        r.add_get("/v4/users/me/dataTypes/{type}/dataPoints", self.list_points)
        r.add_get("/v4/users/me/dataTypes/exercise/dataPoints/{id}", self.get_exercise)

    # -- data ------------------------------------------------------------------
    def _exercise(self, i: int, start: datetime) -> dict[str, Any]:
        kind = ("RUNNING", "BIKING", "RUNNING", "WALKING")[i % 4]
        active = 1800 + 45 * i + 0.6
        speed_mm_s = {"RUNNING": 3100, "BIKING": 7600, "WALKING": 1400}[kind]
        end = start + timedelta(seconds=active + 90)
        return {
            "name": f"users/{HEALTH_USER_ID}/dataTypes/exercise/dataPoints/{8_000_000 + i}",
            "dataSource": {"recordingMethod": "ACTIVELY_RECORDED", "platform": "FITBIT",
                           "device": {"manufacturer": "Google", "displayName": "Pixel Watch 3"}},
            "exercise": {
                "interval": {"startTime": _z(start), "startUtcOffset": "7200s",
                             "endTime": _z(end), "endUtcOffset": "7200s",
                             "civilStartTime": _civil((start + OFFSET).replace(tzinfo=None)),
                             "civilEndTime": _civil((end + OFFSET).replace(tzinfo=None))},
                "exerciseType": kind, "displayName": kind.title(),
                "activeDuration": _dur(active),
                "metricsSummary": {
                    "caloriesKcal": 350.5 + i,
                    "distanceMillimeters": str(int(active * speed_mm_s)),
                    "steps": str(4000 + i) if kind != "BIKING" else "0",
                    "averageHeartRateBeatsPerMinute": str(138 + i % 12),
                    "averageSpeedMillimetersPerSecond": float(speed_mm_s),
                    "elevationGainMillimeters": str(15000 + 100 * i),
                    "heartRateZoneDurations": {"peakTime": "120s", "cardioTime": "900s"},
                },
            },
        }

    def _night(self, i: int) -> dict[str, Any]:
        wake = self.today - timedelta(days=i)
        start = datetime.combine(wake, datetime.min.time(), UTC) - OFFSET \
            - timedelta(hours=1, minutes=10 * i)  # 23:00 local minus a bit
        segs = [("AWAKE", 600), ("LIGHT", 3000), ("DEEP", 4200), ("REM", 1800),
                ("LIGHT", 6000), ("REM", 3000), ("DEEP", 1200), ("AWAKE", 300)]
        stages, t = [], start
        for kind, secs in segs:
            stages.append({"startTime": _z(t), "endTime": _z(t + timedelta(seconds=secs)),
                           "type": kind})
            t += timedelta(seconds=secs)
        awake = sum(s for k, s in segs if k == "AWAKE") // 60
        total = sum(s for _, s in segs) // 60
        return {
            "name": f"users/{HEALTH_USER_ID}/dataTypes/sleep/dataPoints/{5_000 + i}",
            "dataSource": {"recordingMethod": "PASSIVELY_MEASURED", "platform": "FITBIT"},
            "sleep": {
                "interval": {"startTime": _z(start), "startUtcOffset": "7200s",
                             "endTime": _z(t), "endUtcOffset": "7200s",
                             "civilStartTime": _civil((start + OFFSET).replace(tzinfo=None)),
                             "civilEndTime": _civil((t + OFFSET).replace(tzinfo=None))},
                "type": "STAGES", "stages": stages,
                "summary": {"minutesAsleep": str(total - awake), "minutesAwake": str(awake),
                            "minutesInSleepPeriod": str(total),
                            "stagesSummary": [{"type": k, "minutes": str(s // 60)}
                                              for k, s in segs[:4]]},
            },
        }

    def _daily(self, kind: str) -> list[dict[str, Any]]:
        out = []
        for k in range(120):
            day = self.today - timedelta(days=k)
            d = {"year": day.year, "month": day.month, "day": day.day}
            if kind == "daily-resting-heart-rate":
                body = {"dailyRestingHeartRate": {"date": d, "beatsPerMinute": str(55 + k % 4)}}
            else:
                body = {"dailyHeartRateVariability": {
                    "date": d, "averageHeartRateVariabilityMilliseconds": 38.25 + k % 3}}
            out.append({"name": f"users/{HEALTH_USER_ID}/dataTypes/{kind}/dataPoints/d{k}",
                        "dataSource": {"platform": "FITBIT"}, **body})
        return out

    def _heart_samples(self, ex: dict[str, Any]) -> list[dict[str, Any]]:
        iv = ex["exercise"]["interval"]
        start = datetime.fromisoformat(iv["startTime"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(iv["endTime"].replace("Z", "+00:00"))
        out, t, k = [], start, 0
        while t < end:
            out.append({"dataSource": {"platform": "FITBIT"}, "heartRate": {
                "beatsPerMinute": str(120 + k % 30),
                "sampleTime": {"physicalTime": _z(t), "utcOffset": "7200s",
                               "civilTime": _civil((t + OFFSET).replace(tzinfo=None))}}})
            t += timedelta(seconds=30)
            k += 1
        return list(reversed(out))  # newest first

    # -- controls --------------------------------------------------------------
    def expire_access_tokens(self) -> None:
        for t, (_, scope) in self.access.items():
            self.access[t] = (0, scope)

    def revoke_refresh_tokens(self) -> None:
        self.refresh.clear()

    # -- helpers ---------------------------------------------------------------
    def _check(self, request: web.Request, scope: str | None) -> web.Response | None:
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ")
        exp, granted = self.access.get(token, (0.0, ""))
        if not auth.startswith("Bearer ") or exp < time.time():
            return _gerr(401, "UNAUTHENTICATED",
                         "Request had invalid authentication credentials. Expected OAuth 2 "
                         "access token, login cookie or other valid authentication credential.")
        minute = int(time.time() // 60)
        count = self.window[1] + 1 if self.window[0] == minute else 1
        self.window = (minute, count)
        if self.rate_limit_next or count > self.per_minute:
            self.rate_limit_next = False
            return _gerr(429, "RESOURCE_EXHAUSTED",
                         "Quota exceeded for quota metric 'Read requests' and limit "
                         "'Read requests per minute per user'")
        if scope and f"{SCOPE}{scope}.readonly" not in granted.split():
            return _gerr(403, "PERMISSION_DENIED",
                         "Request had insufficient authentication scopes.")
        return None

    # -- OAuth -----------------------------------------------------------------
    async def authorize(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        if q.get("client_id") != self.client_id or q.get("response_type") != "code":
            return _oerr(400, "invalid_request", "Invalid client_id or response_type")
        if q.get("access_type") != "offline":
            return _oerr(400, "invalid_request", "access_type=offline expected by this test")
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return _oerr(400, "invalid_request", "code_challenge_method must be S256")
        scopes = [s for s in q.get("scope", "").split()
                  if s.removeprefix(SCOPE).removesuffix(".readonly") not in self.drop_scopes]
        code = "4/" + secrets.token_urlsafe(24)
        self.codes[code] = {"challenge": q["code_challenge"], "scope": " ".join(scopes),
                            "redirect_uri": q.get("redirect_uri", "")}
        params = {"state": q.get("state", ""), "code": code, "scope": " ".join(scopes)}
        raise web.HTTPFound(f"{q['redirect_uri']}?{urlencode(params)}")

    def _issue(self, scope: str, with_refresh: bool) -> dict[str, Any]:
        access = "ya29." + secrets.token_urlsafe(32)
        self.access[access] = (time.time() + 3599, scope)
        out: dict[str, Any] = {"access_token": access, "expires_in": 3599, "scope": scope,
                               "token_type": "Bearer"}
        if with_refresh:
            refresh = "1//" + secrets.token_urlsafe(32)
            self.refresh[refresh] = scope
            out["refresh_token"] = refresh
        return out

    async def token(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        if form.get("client_id") != self.client_id or \
                form.get("client_secret") != self.client_secret:
            return _oerr(401, "invalid_client", "The OAuth client was not found.")
        grant = form.get("grant_type")
        if grant == "authorization_code":
            rec = self.codes.pop(str(form.get("code")), None)
            if rec is None or form.get("redirect_uri") != rec["redirect_uri"]:
                return _oerr(400, "invalid_grant", "Malformed auth code.")
            verifier = str(form.get("code_verifier") or "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            if digest.rstrip(b"=").decode() != rec["challenge"]:
                return _oerr(400, "invalid_grant", "Invalid code verifier.")
            return web.json_response(self._issue(rec["scope"], True))
        if grant == "refresh_token":
            scope = self.refresh.get(str(form.get("refresh_token")))
            if scope is None:
                return _oerr(400, "invalid_grant", "Token has been expired or revoked.")
            self.refresh_count += 1
            return web.json_response(self._issue(scope, False))
        return _oerr(400, "unsupported_grant_type", "Invalid grant_type")

    async def revoke(self, request: web.Request) -> web.StreamResponse:
        token = str((await request.post()).get("token") or "")
        if token not in self.refresh and token not in self.access:
            return _oerr(400, "invalid_token", "Token expired or revoked")
        self.revoked.append(token)
        self.refresh.clear()
        self.access.clear()
        return web.json_response({})

    # -- API -------------------------------------------------------------------
    async def identity(self, request: web.Request) -> web.StreamResponse:
        if (bad := self._check(request, None)) is not None:
            return bad
        return web.json_response({"name": "users/me/identity", "healthUserId": HEALTH_USER_ID,
                                  "legacyUserId": LEGACY_FITBIT_ID})

    @staticmethod
    def _value(kind: str, p: dict[str, Any], fld: str) -> str:
        """The point's value for a filter field, in the filter's string form."""
        if fld.endswith("civil_start_time") or fld.endswith("civil_end_time"):
            key = "civilStartTime" if "start" in fld else "civilEndTime"
            c = p[fld.split(".")[0]]["interval"][key]
            d, t = c["date"], c["time"]
            return _civil_s(datetime(d["year"], d["month"], d["day"], t["hours"],
                                     t["minutes"], t["seconds"]))
        if fld == "exercise.interval.start_time":
            return str(p["exercise"]["interval"]["startTime"])
        if fld == "heart_rate.sample_time.physical_time":
            return str(p["heartRate"]["sampleTime"]["physicalTime"])
        key = "dailyRestingHeartRate" if kind == "daily-resting-heart-rate" \
            else "dailyHeartRateVariability"
        d = p[key]["date"]
        return date(d["year"], d["month"], d["day"]).isoformat()

    @staticmethod
    def _cmp(a: str, op: str, b: str) -> bool:
        if b.endswith("Z"):  # timestamps: compare as instants
            x = datetime.fromisoformat(a.replace("Z", "+00:00"))
            y = datetime.fromisoformat(b.replace("Z", "+00:00"))
            return {">=": x >= y, "<=": x <= y, ">": x > y, "<": x < y, "=": x == y,
                    "!=": x != y}[op]
        return {">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b, "=": a == b,
                "!=": a != b}[op]

    async def list_points(self, request: web.Request) -> web.StreamResponse:
        kind = request.match_info["type"]
        scope = {"exercise": "activity_and_fitness", "sleep": "sleep"}.get(
            kind, "health_metrics_and_measurements")
        if (bad := self._check(request, scope)) is not None:
            return bad
        if kind not in FIELDS:
            return _gerr(404, "NOT_FOUND", f"Unknown data type: {kind}")
        q = request.query
        if kind == "exercise":
            points = self.exercises
        elif kind == "sleep":
            points = self.nights
        elif kind == "heart-rate":
            points = [s for ex in self.exercises[:30] for s in self._heart_samples(ex)]
        else:
            points = self._daily(kind)
        for term in filter(None, (t.strip() for t in q.get("filter", "").split(" AND "))):
            m = _TERM.match(term)
            if m is None or m.group(1) not in FIELDS[kind]:
                return _gerr(400, "INVALID_ARGUMENT", f"Invalid filter: {term}")
            fld, op, val = m.groups()
            points = [p for p in points if self._cmp(self._value(kind, p, fld), op, val)]
        try:
            size = int(q.get("pageSize", "0")) or 25
            offset = int(base64.urlsafe_b64decode(q["pageToken"]).decode()) \
                if "pageToken" in q else 0
        except ValueError:
            return _gerr(400, "INVALID_ARGUMENT", "Invalid page token or size")
        size = min(size, MAX_PAGE.get(kind, 1000))
        page = points[offset: offset + size]
        out: dict[str, Any] = {"dataPoints": page}
        if offset + size < len(points):
            out["nextPageToken"] = base64.urlsafe_b64encode(
                str(offset + size).encode()).decode()
        return web.json_response(out)

    async def get_exercise(self, request: web.Request) -> web.StreamResponse:
        if (bad := self._check(request, "activity_and_fitness")) is not None:
            return bad
        want = request.match_info["id"]
        for p in self.exercises:
            if p["name"].rsplit("/", 1)[-1] == want:
                return web.json_response(p)
        return _gerr(404, "NOT_FOUND", "Requested entity was not found.")
