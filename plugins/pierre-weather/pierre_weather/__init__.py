"""OpenWeatherMap One Call 3.0 "timemachine" as a `pierre.providers` plugin.

It has no users or OAuth: `ProviderManager.weather()` calls :meth:`conditions`
with a place and time and caches the answer per rounded place and hour, so
one activity analysed many times costs one upstream call (1,000 free a day).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pierre.errors import InvalidArguments
from pierre.plugins.base import PluginContext
from pierre.plugins.provider import Provider
from pierre.providers.resilience import HttpApi

API_VERSION = "1.0"
DEFAULT_BASE = "https://api.openweathermap.org"
PATH = "/data/3.0/onecall/timemachine"


def owm_message(status: int, data: Any) -> str | None:
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"])
    return None


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def parse_conditions(body: Any) -> dict[str, Any] | None:
    """The first hour of a timemachine answer as Pierre's weather dict (SI units)."""
    if not isinstance(body, dict) or not body.get("data"):
        return None
    h = body["data"][0]
    w = (h.get("weather") or [{}])[0]
    rain = h.get("rain") if isinstance(h.get("rain"), dict) else {}
    snow = h.get("snow") if isinstance(h.get("snow"), dict) else {}
    return {
        "source": "openweathermap",
        "time_utc": datetime.fromtimestamp(int(h["dt"]), UTC).isoformat()
        if h.get("dt") is not None else None,
        "temperature_c": _num(h.get("temp")), "feels_like_c": _num(h.get("feels_like")),
        "humidity_pct": _num(h.get("humidity")), "dew_point_c": _num(h.get("dew_point")),
        "pressure_hpa": _num(h.get("pressure")), "clouds_pct": _num(h.get("clouds")),
        "visibility_m": _num(h.get("visibility")), "wind_speed_mps": _num(h.get("wind_speed")),
        "wind_gust_mps": _num(h.get("wind_gust")), "wind_deg": _num(h.get("wind_deg")),
        "rain_mm_h": _num(rain.get("1h")), "snow_mm_h": _num(snow.get("1h")),
        "conditions": w.get("main"), "description": w.get("description"),
        "timezone": body.get("timezone"),
    }


class WeatherProvider(Provider):
    name = "weather"
    display_name = "OpenWeatherMap"
    capabilities = frozenset({"weather"})

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        key = self.options.get("api_key")
        if not key:
            raise InvalidArguments("[providers.weather] needs api_key (or api_key_file)",
                                   field="providers.weather.api_key")
        self._key = str(key)
        self.base_url = str(self.options.get("api_base_url") or DEFAULT_BASE).rstrip("/")
        self.api = HttpApi(self.name, self.display_name,
                           timeout_s=float(self.options.get("timeout_s") or 10.0),
                           retries=int(self.options.get("retries", 1)),
                           backoff_base_s=float(self.options.get("backoff_s", 0.2)),
                           message=owm_message)

    @classmethod
    def from_config(cls, options: dict[str, Any], ctx: PluginContext) -> WeatherProvider:
        return cls(options)

    async def close(self) -> None:
        await self.api.close()

    async def conditions(self, lat: float, lon: float, when: datetime) -> dict[str, Any] | None:
        """Weather at (lat, lon) at `when`; None when OpenWeatherMap has no data there."""
        resp = await self.api.request("GET", self.base_url + PATH, params={
            "lat": f"{lat:.4f}", "lon": f"{lon:.4f}", "dt": str(int(when.timestamp())),
            "appid": self._key, "units": "metric"})
        return parse_conditions(resp.data)
