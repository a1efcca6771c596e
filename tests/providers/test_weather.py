"""Weather enrichment: the OpenWeatherMap plugin against its fake, through the manager."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pierre_weather import WeatherProvider, parse_conditions

from pierre.config.schema import ProviderConfig
from pierre.errors import InvalidArguments, ProviderError, RateLimited
from pierre.services import Services
from tests.fakes.weather import FakeOpenWeather, temperature_at
from tests.providers.conftest import build_services, close_services

WHEN = datetime(2025, 6, 1, 7, 20, tzinfo=UTC)


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenWeather]:
    f = await FakeOpenWeather().start()
    yield f
    await f.stop()


@pytest.fixture
async def svc(tmp_path: Path, fake: FakeOpenWeather) -> AsyncIterator[Services]:
    s = await build_services(tmp_path, {"weather": ProviderConfig(
        api_base_url=fake.url, extra={"api_key": fake.api_key, "retries": 0})})
    yield s
    await close_services(s)


async def test_conditions_are_fetched_once_per_place_and_hour(svc: Services,
                                                              fake: FakeOpenWeather) -> None:
    w = await svc.providers.weather(45.9012, 6.1234, WHEN)
    assert w is not None
    assert w["temperature_c"] == temperature_at(int(WHEN.timestamp()))
    assert w["conditions"] == "Clouds" and w["wind_speed_mps"] == 3.6
    q = fake.queries[0]
    assert q["units"] == "metric" and int(q["dt"]) == int(WHEN.timestamp())
    again = await svc.providers.weather(45.9049, 6.1201, WHEN.replace(minute=50))
    assert again == w and len(fake.queries) == 1  # same 0.01° cell, same hour: cached
    other = await svc.providers.weather(45.9012, 6.1234, WHEN.replace(hour=15))
    assert other is not None and other["temperature_c"] != w["temperature_c"]
    assert len(fake.queries) == 2
    assert "weather" not in svc.providers.available()  # not a user-facing data source


async def test_errors_use_the_providers_vocabulary(tmp_path: Path,
                                                   fake: FakeOpenWeather) -> None:
    bad = WeatherProvider({"api_key": "wrong", "api_base_url": fake.url, "retries": 0})
    try:
        with pytest.raises(ProviderError, match="Invalid API key") as err:
            await bad.conditions(1.0, 2.0, WHEN)
        assert "wrong" not in err.value.message
        good = WeatherProvider({"api_key": fake.api_key, "api_base_url": fake.url})
        fake.rate_limit_next = True
        with pytest.raises(RateLimited):
            await good.conditions(1.0, 2.0, WHEN)
        await good.close()
    finally:
        await bad.close()
    with pytest.raises(InvalidArguments, match="api_key"):
        WeatherProvider({})


def test_parse_conditions_tolerates_missing_fields() -> None:
    assert parse_conditions({"data": []}) is None
    assert parse_conditions(None) is None
    w = parse_conditions({"data": [{"dt": 0, "temp": -3.5, "rain": {"1h": 0.4}}]})
    assert w is not None and w["temperature_c"] == -3.5 and w["rain_mm_h"] == 0.4
    assert w["wind_speed_mps"] is None and w["time_utc"] == "1970-01-01T00:00:00+00:00"


async def test_without_weather_provider_manager_answers_none(services: Services) -> None:
    assert await services.providers.weather(1.0, 2.0, WHEN) is None
