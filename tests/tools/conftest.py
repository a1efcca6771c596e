from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pierre.services import Services
from pierre.tools.base import ToolContext
from tests.tools.harness import new_user, real_services

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    async with real_services(tmp_path) as s:
        yield s


@pytest.fixture
async def synthetic(services: Services) -> ToolContext:
    return await new_user(services, "synthetic@example.com", "synthetic")


@pytest.fixture
async def localfiles(services: Services) -> ToolContext:
    """A user whose only data are the sample GPX/TCX/FIT files, imported."""
    ctx = await new_user(services, "files@example.com", "localfiles")
    cl = await services.providers.client(ctx.principal, "localfiles")
    files = [(p.name, p.read_bytes()) for p in sorted(DATA.iterdir())
             if p.suffix in (".gpx", ".tcx", ".fit")]
    await cl.import_files(files)
    return ctx
