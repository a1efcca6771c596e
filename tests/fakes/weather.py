"""Fake OpenWeatherMap One Call 3.0 timemachine, with its documented fields and error bodies.

The temperature is derived from the requested time, so a test can tell which hour
was asked for. Controls: `rate_limit_next`; `calls` records every request.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.fakes.base import FakeServer


def temperature_at(dt: int) -> float:
    """Deterministic: 10 °C plus the UTC hour / 2 (0..11.5)."""
    return 10.0 + (dt // 3600 % 24) / 2


class FakeOpenWeather(FakeServer):
    def __init__(self, *, api_key: str = "owm-test-key") -> None:
        super().__init__()
        self.api_key = api_key
        self.rate_limit_next = False
        self.queries: list[dict[str, str]] = []
        self.app.router.add_get("/data/3.0/onecall/timemachine", self.timemachine)

    async def timemachine(self, request: web.Request) -> web.Response:
        q = dict(request.query)
        self.queries.append(q)
        if q.get("appid") != self.api_key:
            return web.json_response({"cod": 401, "message": "Invalid API key. Please see "
                                      "https://openweathermap.org/faq#error401 for more info."},
                                     status=401)
        if self.rate_limit_next:
            self.rate_limit_next = False
            return web.json_response({"cod": 429, "message": "Your account is temporary "
                                      "blocked due to exceeding of requests limitation"},
                                     status=429)
        try:
            lat, lon, dt = float(q["lat"]), float(q["lon"]), int(q["dt"])
        except (KeyError, ValueError):
            return web.json_response({"cod": "400", "message": "wrong latitude"}, status=400)
        hour: dict[str, Any] = {
            "dt": dt, "temp": temperature_at(dt) if q.get("units") == "metric"
            else temperature_at(dt) + 273.15,
            "feels_like": temperature_at(dt) - 1, "pressure": 1016, "humidity": 70,
            "dew_point": 6.2, "clouds": 40, "visibility": 10000, "wind_speed": 3.6,
            "wind_deg": 250, "weather": [{"id": 802, "main": "Clouds",
                                          "description": "scattered clouds", "icon": "03d"}]}
        return web.json_response({"lat": lat, "lon": lon, "timezone": "Europe/Paris",
                                  "timezone_offset": 7200, "data": [hour]})
