"""Fake Garmin developer program: OAuth 2.0 + PKCE, user id / registration, backfill, and
one-shot ping callbacks; plus builders for push and ping notification bodies (camelCase).

Controls: `expire_access_tokens()`, `revoke_refresh_tokens()`; records `refresh_count`,
`deregistered`, `backfills`, `callbacks_served`.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from tests.fakes.base import FakeServer

USER_ID = "d3315b1072421d0dd7c8f6b8e1de4df8"
T0 = datetime(2025, 6, 1, 6, 0, tzinfo=UTC)
MAX_DAYS = {"activities": 30, "activityDetails": 30}


def _err(status: int, message: str) -> web.Response:
    return web.json_response({"errorMessage": message}, status=status)


def activity(i: int, start: datetime = T0) -> dict[str, Any]:
    """An activity summary as Garmin pushes it: ride on odd i, run on even i."""
    run = i % 2 == 0
    begin = start - timedelta(days=i)
    duration = 3000 + 60 * i
    speed = 3.2 if run else 8.0
    out: dict[str, Any] = {
        "userId": USER_ID, "summaryId": f"{7000 + i}", "activityId": 7000 + i,
        "activityName": f"Garmin {'run' if run else 'ride'} {i}",
        "activityType": "RUNNING" if run else "ROAD_BIKING",
        "startTimeInSeconds": int(begin.timestamp()), "startTimeOffsetInSeconds": 7200,
        "durationInSeconds": duration, "distanceInMeters": round(duration * speed, 1),
        "averageSpeedInMetersPerSecond": speed, "maxSpeedInMetersPerSecond": speed * 1.5,
        "averageHeartRateInBeatsPerMinute": 142, "maxHeartRateInBeatsPerMinute": 171,
        "activeKilocalories": 640, "totalElevationGainInMeters": 85.0 + i,
        "deviceName": "forerunner965", "manual": False,
        "startingLatitudeInDegree": 45.9, "startingLongitudeInDegree": 6.12,
    }
    if run:
        out["averageRunCadenceInStepsPerMinute"] = 172.0
    else:
        out["averageBikeCadenceInRoundsPerMinute"] = 88.0
        out["averagePowerInWatts"] = 205.0
    return out


def activity_details(i: int, n: int = 60, start: datetime = T0) -> dict[str, Any]:
    s = activity(i, start)
    t0 = s["startTimeInSeconds"]
    v = s["averageSpeedInMetersPerSecond"]
    samples = [{"startTimeInSeconds": t0 + k, "latitudeInDegree": 45.9 + k * 1e-5,
                "longitudeInDegree": 6.12, "elevationInMeters": 450.0 + k % 7,
                "heartRate": 130 + k % 25, "speedMetersPerSecond": v,
                "totalDistanceInMeters": round(k * v, 1),
                "timerDurationInSeconds": k, "stepsPerMinute": 172}
               for k in range(n)]
    return {"userId": USER_ID, "summaryId": f"{s['activityId']}-detail",
            "activityId": s["activityId"],
            "summary": {k: v for k, v in s.items() if k not in ("userId", "summaryId")},
            "samples": samples}


def sleep(day: str, *, deep: int = 5400, light: int = 14400, rem: int = 6000,
          awake: int = 1200) -> dict[str, Any]:
    wake = datetime.fromisoformat(day).replace(hour=6, tzinfo=UTC)
    total = deep + light + rem + awake
    start = int(wake.timestamp()) - total
    return {"userId": USER_ID, "summaryId": f"x-sleep-{day}", "calendarDate": day,
            "startTimeInSeconds": start, "startTimeOffsetInSeconds": 7200,
            "durationInSeconds": total, "deepSleepDurationInSeconds": deep,
            "lightSleepDurationInSeconds": light, "remSleepInSeconds": rem,
            "awakeDurationInSeconds": awake, "validation": "ENHANCED_FINAL",
            "sleepLevelsMap": {"deep": [{"startTimeInSeconds": start,
                                         "endTimeInSeconds": start + deep}],
                               "light": [{"startTimeInSeconds": start + deep,
                                          "endTimeInSeconds": start + deep + light}]},
            "overallSleepScore": {"value": 83, "qualifierKey": "GOOD"}}


def daily(day: str, resting: int) -> dict[str, Any]:
    return {"userId": USER_ID, "summaryId": f"x-daily-{day}", "calendarDate": day,
            "startTimeInSeconds": int(datetime.fromisoformat(day).replace(tzinfo=UTC)
                                      .timestamp()), "durationInSeconds": 86400,
            "steps": 11000, "restingHeartRateInBeatsPerMinute": resting}


def hrv(day: str, avg: int) -> dict[str, Any]:
    return {"userId": USER_ID, "summaryId": f"x-hrv-{day}", "calendarDate": day,
            "lastNightAvg": avg, "lastNight5MinHigh": avg + 20,
            "hrvValues": {"300": avg - 3, "600": avg + 4}}


class FakeGarmin(FakeServer):
    def __init__(self, *, client_id: str = "garmin-client", client_secret: str = "g-secret",
                 user_id: str = USER_ID) -> None:
        super().__init__()
        self.client_id, self.client_secret, self.user_id = client_id, client_secret, user_id
        self.codes: dict[str, tuple[str, str]] = {}  # code -> (challenge, redirect_uri)
        self.access: dict[str, float] = {}
        self.refresh: set[str] = set()
        self.refresh_count = 0
        self.deregistered: list[str] = []
        self.backfills: list[tuple[str, int, int]] = []
        self.callbacks: dict[str, list[dict[str, Any]]] = {}
        self.callbacks_served = 0
        r = self.app.router
        r.add_get("/oauth2Confirm", self.authorize)
        r.add_post("/di-oauth2-service/oauth/token", self.token)
        r.add_get("/wellness-api/rest/user/id", self.user)
        r.add_delete("/wellness-api/rest/user/registration", self.deregister)
        r.add_get("/wellness-api/rest/backfill/{kind}", self.backfill)
        r.add_get("/wellness-api/rest/{kind}", self.callback)

    # -- controls and notification builders ------------------------------------------
    def expire_access_tokens(self) -> None:
        for t in self.access:
            self.access[t] = 0

    def revoke_refresh_tokens(self) -> None:
        self.refresh.clear()

    @staticmethod
    def push(kind: str, items: list[dict[str, Any]]) -> dict[str, Any]:
        return {kind: items}

    def ping(self, kind: str, items: list[dict[str, Any]], *, user_id: str | None = None
             ) -> dict[str, Any]:
        """A ping whose callbackURL serves `items` once."""
        token = secrets.token_hex(8)
        self.callbacks[token] = items
        now = int(time.time())
        q = urlencode({"uploadStartTimeInSeconds": now - 3600,
                       "uploadEndTimeInSeconds": now, "token": token})
        return {kind: [{"userId": user_id or self.user_id,
                        "callbackURL": f"{self.url}/wellness-api/rest/{kind}?{q}"}]}

    # -- helpers ------------------------------------------------------------------------
    def _authorized(self, request: web.Request) -> bool:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return self.access.get(token, 0) > time.time()

    def _issue(self) -> dict[str, Any]:
        access, refresh = secrets.token_hex(20), secrets.token_hex(20)
        self.access[access] = time.time() + 86400
        self.refresh.add(refresh)
        return {"access_token": access, "expires_in": 86400, "token_type": "bearer",
                "refresh_token": refresh, "scope": "ACTIVITY_EXPORT HEALTH_EXPORT",
                "jti": secrets.token_hex(8), "refresh_token_expires_in": 7775998}

    # -- OAuth ----------------------------------------------------------------------------
    async def authorize(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        if (q.get("client_id") != self.client_id or q.get("response_type") != "code"
                or q.get("code_challenge_method") != "S256" or not q.get("code_challenge")):
            return _err(400, "invalid authorization request")
        code = secrets.token_hex(8)
        self.codes[code] = (q["code_challenge"], q["redirect_uri"])
        back = urlencode({"code": code, "state": q.get("state", "")})
        raise web.HTTPFound(f"{q['redirect_uri']}?{back}")

    async def token(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        if form.get("client_id") != self.client_id or \
                form.get("client_secret") != self.client_secret:
            return web.json_response({"error": "invalid_client"}, status=401)
        grant = form.get("grant_type")
        if grant == "authorization_code":
            found = self.codes.pop(str(form.get("code")), None)
            if found is None or found[1] != form.get("redirect_uri"):
                return web.json_response({"error": "invalid_grant"}, status=400)
            digest = hashlib.sha256(str(form.get("code_verifier", "")).encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != found[0]:
                return web.json_response({"error": "invalid_grant",
                                          "error_description": "PKCE verification failed"},
                                         status=400)
            return web.json_response(self._issue())
        if grant == "refresh_token":
            rt = str(form.get("refresh_token"))
            if rt not in self.refresh:
                return web.json_response({"error": "invalid_grant"}, status=400)
            self.refresh.discard(rt)  # every refresh issues a new refresh token
            self.refresh_count += 1
            return web.json_response(self._issue())
        return web.json_response({"error": "unsupported_grant_type"}, status=400)

    # -- API ------------------------------------------------------------------------------
    async def user(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return _err(401, "Unauthorized")
        return web.json_response({"userId": self.user_id})

    async def deregister(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return _err(401, "Unauthorized")
        self.deregistered.append(self.user_id)
        return web.Response(status=204)

    async def backfill(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return _err(401, "Unauthorized")
        kind = request.match_info["kind"]
        try:
            a = int(request.query["summaryStartTimeInSeconds"])
            b = int(request.query["summaryEndTimeInSeconds"])
        except (KeyError, ValueError):
            return _err(400, "summaryStartTimeInSeconds and summaryEndTimeInSeconds required")
        if b - a > MAX_DAYS.get(kind, 90) * 86400 or b <= a:
            return _err(400, f"backfill of {kind} limited to {MAX_DAYS.get(kind, 90)} days")
        if (kind, a, b) in self.backfills:
            return _err(409, "Duplicate backfill")
        self.backfills.append((kind, a, b))
        return web.Response(status=202)

    async def callback(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return _err(401, "Unauthorized")
        items = self.callbacks.pop(request.query.get("token", ""), None)
        if items is None:  # a callback works once
            return _err(400, "callback token invalid or already used")
        self.callbacks_served += 1
        return web.json_response(items)
