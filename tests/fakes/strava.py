"""Fake Strava API v3 + OAuth, faithful to the documented paths, fields, errors and headers.

Controls for tests: `expire_access_tokens()`, `revoke_refresh_tokens()`, `rate_limit_next`,
`drop_scopes`, `fail_next_5xx`. Activities are newest first like Strava's list.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from tests.fakes.base import FakeServer

ATHLETE_ID = 134815


def _err(status: int, message: str, resource: str, field: str, code: str) -> web.Response:
    return web.json_response({"message": message, "errors": [
        {"resource": resource, "field": field, "code": code}]}, status=status)


class FakeStrava(FakeServer):
    def __init__(self, *, client_id: str = "1234", client_secret: str = "s3cret",
                 n_activities: int = 45) -> None:
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        self.codes: dict[str, str] = {}  # code -> granted scope
        self.access: dict[str, float] = {}  # token -> expires_at
        self.refresh: set[str] = set()
        self.usage_15, self.usage_day = 0, 0
        self.limit_15, self.limit_day = 200, 2000
        self.rate_limit_next = False
        self.fail_next_5xx = 0
        self.drop_scopes: set[str] = set()
        self.deauthorized: list[str] = []
        self.refresh_count = 0
        t0 = datetime(2025, 6, 1, 7, 0, tzinfo=UTC)
        self.activities = [self._activity(i, t0 - timedelta(days=i)) for i in range(n_activities)]
        r = self.app.router
        r.add_get("/oauth/authorize", self.authorize)
        r.add_post("/oauth/token", self.token)
        r.add_post("/oauth/deauthorize", self.deauthorize)
        r.add_get("/api/v3/athlete", self.athlete)
        r.add_get("/api/v3/athlete/activities", self.list_activities)
        r.add_get("/api/v3/activities/{id}", self.activity)
        r.add_get("/api/v3/activities/{id}/streams", self.streams)
        r.add_get("/api/v3/activities/{id}/laps", self.laps)
        r.add_get("/api/v3/athletes/{id}/stats", self.stats)
        r.add_get("/api/v3/athlete/zones", self.zones)

    @staticmethod
    def _activity(i: int, start: datetime) -> dict[str, Any]:
        run = i % 2 == 0
        moving = 3000 + 60 * i
        dist = moving * (3.1 if run else 7.8)
        return {
            "id": 9_000_000_000 + i, "resource_state": 2, "external_id": f"garmin_{i}.fit",
            "athlete": {"id": ATHLETE_ID, "resource_state": 1},
            "name": f"{'Run' if run else 'Ride'} {i}", "distance": dist,
            "moving_time": moving, "elapsed_time": moving + 120,
            "total_elevation_gain": 50.0 + i, "type": "Run" if run else "Ride",
            "sport_type": "Run" if run else "Ride",
            "start_date": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "start_date_local": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "timezone": "(GMT+01:00) Europe/Paris", "utc_offset": 7200.0,
            "start_latlng": [45.9, 6.12], "end_latlng": [45.91, 6.13],
            "map": {"id": f"a{i}", "summary_polyline": ""}, "trainer": False,
            "commute": False, "manual": False, "private": False, "visibility": "everyone",
            "gear_id": "g1" if run else "b1", "average_speed": dist / moving,
            "max_speed": dist / moving * 1.4, "average_cadence": 85.0 if run else 90.0,
            "average_watts": None if run else 190.0,
            "weighted_average_watts": None if run else 201,
            "device_watts": not run, "has_heartrate": True,
            "average_heartrate": 140.0 + i % 10, "max_heartrate": 170.0 + i % 10,
            "device_name": "Garmin Forerunner 965", "kudos_count": 3,
        }

    # -- controls --------------------------------------------------------------
    def expire_access_tokens(self) -> None:
        for t in self.access:
            self.access[t] = 0

    def revoke_refresh_tokens(self) -> None:
        self.refresh.clear()

    # -- helpers ---------------------------------------------------------------
    def _headers(self, resp: web.StreamResponse) -> web.StreamResponse:
        resp.headers["X-RateLimit-Limit"] = f"{self.limit_15},{self.limit_day}"
        resp.headers["X-RateLimit-Usage"] = f"{self.usage_15},{self.usage_day}"
        resp.headers["X-ReadRateLimit-Limit"] = "100,1000"
        resp.headers["X-ReadRateLimit-Usage"] = f"{self.usage_15},{self.usage_day}"
        return resp

    def _check(self, request: web.Request) -> web.Response | None:
        self.usage_15 += 1  # rejected requests count too
        self.usage_day += 1
        if self.fail_next_5xx:
            self.fail_next_5xx -= 1
            return web.json_response({"message": "Internal Error"}, status=500)
        if self.rate_limit_next:
            self.rate_limit_next = False
            return _err(429, "Rate Limit Exceeded", "Application", "rate limit", "exceeded")
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ")
        if not auth.startswith("Bearer ") or self.access.get(token, 0) < time.time():
            return _err(401, "Authorization Error", "Athlete", "access_token", "invalid")
        return None

    def _ok(self, data: Any) -> web.StreamResponse:
        return self._headers(web.json_response(data))

    def _find(self, request: web.Request) -> dict[str, Any] | None:
        wanted = int(request.match_info["id"])
        return next((a for a in self.activities if a["id"] == wanted), None)

    # -- OAuth -----------------------------------------------------------------
    async def authorize(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        if q.get("client_id") != self.client_id or q.get("response_type") != "code":
            return _err(400, "Bad Request", "Application", "client_id", "invalid")
        scopes = [s for s in q.get("scope", "read").split(",") if s not in self.drop_scopes]
        code = secrets.token_hex(8)
        self.codes[code] = ",".join(scopes)
        params = {"state": q.get("state", ""), "code": code, "scope": ",".join(scopes)}
        raise web.HTTPFound(f"{q['redirect_uri']}?{urlencode(params)}")

    def _issue(self, with_athlete: bool) -> dict[str, Any]:
        access, refresh = secrets.token_hex(20), secrets.token_hex(20)
        expires_at = int(time.time()) + 21600
        self.access[access] = expires_at
        self.refresh.add(refresh)
        out: dict[str, Any] = {"token_type": "Bearer", "expires_at": expires_at,
                               "expires_in": 21600, "refresh_token": refresh,
                               "access_token": access}
        if with_athlete:
            out["athlete"] = {"id": ATHLETE_ID, "username": "marianne", "firstname": "Marianne",
                              "lastname": "T", "resource_state": 2}
        return out

    async def token(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        secret = form.get("client_secret")
        if form.get("client_id") != self.client_id or secret != self.client_secret:
            return _err(401, "Bad Request", "Application", "client_id", "invalid")
        grant = form.get("grant_type")
        if grant == "authorization_code":
            if self.codes.pop(str(form.get("code")), None) is None:
                return _err(400, "Bad Request", "AuthorizationCode", "code", "invalid")
            return web.json_response(self._issue(True))
        if grant == "refresh_token":
            rt = str(form.get("refresh_token"))
            if rt not in self.refresh:
                return _err(400, "Bad Request", "RefreshToken", "refresh_token", "invalid")
            self.refresh.discard(rt)
            self.refresh_count += 1
            return web.json_response(self._issue(False))
        return _err(400, "Bad Request", "grant_type", "grant_type", "invalid")

    async def deauthorize(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        token = str(form.get("access_token") or "")
        if token not in self.access:
            return _err(401, "Authorization Error", "Athlete", "access_token", "invalid")
        self.deauthorized.append(token)
        del self.access[token]
        return web.json_response({"access_token": token})

    # -- API -------------------------------------------------------------------
    async def athlete(self, request: web.Request) -> web.StreamResponse:
        if (bad := self._check(request)) is not None:
            return self._headers(bad)
        return self._ok({"id": ATHLETE_ID, "resource_state": 3, "firstname": "Marianne",
                         "lastname": "T", "city": "Annecy", "country": "France", "sex": "F",
                         "weight": 61.5, "ftp": 240})

    async def list_activities(self, request: web.Request) -> web.StreamResponse:
        if (bad := self._check(request)) is not None:
            return self._headers(bad)
        q = request.query
        page, per_page = int(q.get("page", 1)), int(q.get("per_page", 30))
        if per_page > 200:
            per_page = 200
        items = self.activities
        if "before" in q:
            items = [a for a in items if datetime.fromisoformat(
                a["start_date"].replace("Z", "+00:00")).timestamp() < int(q["before"])]
        if "after" in q:
            items = [a for a in items if datetime.fromisoformat(
                a["start_date"].replace("Z", "+00:00")).timestamp() > int(q["after"])]
        return self._ok(items[(page - 1) * per_page: page * per_page])

    async def activity(self, request: web.Request) -> web.StreamResponse:
        if (bad := self._check(request)) is not None:
            return self._headers(bad)
        a = self._find(request)
        if a is None:
            return self._headers(_err(404, "Record Not Found", "Activity", "id", "invalid"))
        return self._ok({**a, "resource_state": 3, "description": "fake", "calories": 600.0})

    async def streams(self, request: web.Request) -> web.StreamResponse:
        if (bad := self._check(request)) is not None:
            return self._headers(bad)
        a = self._find(request)
        if a is None:
            return self._headers(_err(404, "Record Not Found", "Activity", "id", "invalid"))
        n = 120
        v = a["distance"] / a["moving_time"]
        def s(data: list[Any]) -> dict[str, Any]:
            return {"data": data, "series_type": "distance", "original_size": n,
                    "resolution": "high"}
        out = {"time": s(list(range(n))), "distance": s([round(v * i, 1) for i in range(n)]),
               "latlng": s([[45.9 + i * 1e-5, 6.12] for i in range(n)]),
               "altitude": s([450.0 + (i % 10) for i in range(n)]),
               "velocity_smooth": s([round(v, 2)] * n),
               "heartrate": s([130 + i % 20 for i in range(n)])}
        keys = set(request.query.get("keys", "").split(","))
        if request.query.get("key_by_type") != "true":
            return self._ok([{"type": k, **val} for k, val in out.items()])
        return self._ok({k: val for k, val in out.items() if not keys or k in keys or k == "time"})

    async def laps(self, request: web.Request) -> web.StreamResponse:
        if (bad := self._check(request)) is not None:
            return self._headers(bad)
        a = self._find(request)
        if a is None:
            return self._headers(_err(404, "Record Not Found", "Activity", "id", "invalid"))
        half = a["distance"] / 2
        return self._ok([{"id": a["id"] * 10 + k, "lap_index": k + 1, "distance": half,
                          "elapsed_time": a["elapsed_time"] / 2,
                          "moving_time": a["moving_time"] / 2, "start_date": a["start_date"],
                          "average_speed": a["average_speed"],
                          "average_heartrate": a["average_heartrate"]} for k in range(2)])

    async def stats(self, request: web.Request) -> web.StreamResponse:
        if (bad := self._check(request)) is not None:
            return self._headers(bad)
        if int(request.match_info["id"]) != ATHLETE_ID:
            return self._headers(_err(403, "Authorization Error", "Athlete", "id", "invalid"))
        runs = [a for a in self.activities if a["sport_type"] == "Run"]
        tot = {"count": len(runs), "distance": sum(a["distance"] for a in runs),
               "moving_time": sum(a["moving_time"] for a in runs),
               "elapsed_time": sum(a["elapsed_time"] for a in runs),
               "elevation_gain": sum(a["total_elevation_gain"] for a in runs),
               "achievement_count": 0}
        empty = dict.fromkeys(tot, 0)
        return self._ok({"biggest_ride_distance": 80000.0, "biggest_climb_elevation_gain": 900.0,
                         "recent_run_totals": tot, "all_run_totals": tot, "ytd_run_totals": tot,
                         "recent_ride_totals": empty, "all_ride_totals": empty,
                         "ytd_ride_totals": empty, "recent_swim_totals": empty,
                         "all_swim_totals": empty, "ytd_swim_totals": empty})

    async def zones(self, request: web.Request) -> web.StreamResponse:
        if (bad := self._check(request)) is not None:
            return self._headers(bad)
        return self._ok({"heart_rate": {"custom_zones": False, "zones": [
            {"min": 0, "max": 115}, {"min": 115, "max": 152}, {"min": 152, "max": 171},
            {"min": 171, "max": 190}, {"min": 190, "max": -1}]}})
