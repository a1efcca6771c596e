"""ProviderManager over real SQLite and the memory cache, with the synthetic provider."""

from __future__ import annotations

import pytest

from pierre.errors import NotFound
from pierre.models import ActivityQuery
from pierre.services import Services
from tests.providers.conftest import new_user


async def test_no_connection_means_not_found_with_hint(services: Services, principal) -> None:
    with pytest.raises(NotFound, match="connect_provider"):
        await services.providers.client(principal)


async def test_connect_synthetic_at_once_then_default_client(services: Services,
                                                             principal) -> None:
    m = services.providers
    assert "synthetic" in m.available()
    out = await m.connect(principal, "synthetic")
    assert out["status"] == "connected"
    status = {s["provider"]: s for s in await m.status(principal)}
    assert status["synthetic"]["connected"] and status["synthetic"]["default"]
    cl = await m.client(principal)
    assert cl.name == "synthetic" and "sleep" in cl.capabilities
    items = await cl.activities(ActivityQuery(limit=10))
    assert len(items) == 10
    again = await cl.activities(ActivityQuery(limit=10))
    assert again == items
    keys = [k for k in services.cache._data if k.startswith(  # type: ignore[attr-defined]
        f"t:{principal.tenant_id}:u:{principal.user_id}:p:synthetic:")]
    assert keys
    detail = await cl.activity(items[0].provider_id, streams=True)
    assert detail.streams is not None and detail.distance_m == items[0].distance_m


async def test_unknown_provider_lists_available(services: Services, principal) -> None:
    with pytest.raises(NotFound, match=r"available: .*synthetic"):
        await services.providers.connect(principal, "nosuch")


async def test_disconnect_removes_connection_and_cache(services: Services, principal) -> None:
    m = services.providers
    await m.connect(principal, "synthetic")
    cl = await m.client(principal, "synthetic")
    await cl.athlete()
    out = await m.disconnect(principal, "synthetic")
    assert out["status"] == "disconnected"
    with pytest.raises(NotFound):
        await m.client(principal, "synthetic")
    prefix = f"t:{principal.tenant_id}:u:{principal.user_id}:p:synthetic:"
    assert await services.cache.delete_prefix(prefix) == 0


async def test_users_are_isolated(services: Services, principal) -> None:
    other = await new_user(services, "b@example.com")
    await services.providers.connect(principal, "synthetic")
    with pytest.raises(NotFound):
        await services.providers.client(other)
