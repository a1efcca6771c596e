"""Shared fixtures: a real daemon on port 0, and the local PostgreSQL and Redis."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.daemon import DaemonProcess

IN_CI = os.environ.get("CI") == "true"
PG_DSN = os.environ.get("PIERRE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("PIERRE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _require(name: str, host: str, port: int) -> None:
    if _reachable(host, port):
        return
    if IN_CI:  # never silently skip in CI: `make test` started them
        pytest.fail(f"{name} at {host}:{port} is not reachable in CI")
    pytest.skip(f"{name} at {host}:{port} is not running (tests/start_services.sh starts it)")


@pytest.fixture
def pg_dsn() -> str:
    _require("PostgreSQL", "127.0.0.1", 5432)
    return PG_DSN


@pytest.fixture
def redis_url() -> str:
    _require("Redis", "127.0.0.1", 6379)
    return REDIS_URL


@pytest.fixture
def daemon_factory(tmp_path: Path) -> Iterator[Callable[..., DaemonProcess]]:
    started: list[DaemonProcess] = []

    def make(overrides: dict[str, Any] | None = None, *, name: str = "d",
             env: dict[str, str] | None = None, start: bool = True) -> DaemonProcess:
        d = DaemonProcess(tmp_path / f"{name}{len(started)}", overrides, env)
        started.append(d)
        return d.start() if start else d

    yield make
    for d in started:
        d.stop()


@pytest.fixture
def daemon(daemon_factory: Callable[..., DaemonProcess]) -> DaemonProcess:
    return daemon_factory()
