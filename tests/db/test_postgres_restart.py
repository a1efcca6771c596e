"""PostgreSQL restarts under a running daemon: requests get a clean 503 while it is down,
/ready names the database, and service resumes without restarting the daemon.

The test runs its OWN throw-away cluster (initdb + pg_ctl on a free loopback port, in a
temporary folder) so stopping it cannot disturb the shared local server or other tests.
initdb refuses to run as root, so as root the cluster belongs to the `postgres` account.
"""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

pytest.importorskip("pierre_postgres")

PW = "restart password 99"


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or (
        [p] if (p := shutil.which(name)) else [])
    return found[-1] if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    """A private PostgreSQL cluster; `stop`/`start` keep its data and port."""

    folder: str
    port: int
    pg_ctl: str
    run_as: list[str]

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        subprocess.run([*self.run_as, self.pg_ctl, "-D", f"{self.folder}/data", *args],
                       check=True, capture_output=True, timeout=30)

    def start(self) -> None:
        opts = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c max_connections=20")
        self._ctl("-o", opts, "-l", f"{self.folder}/server.log", "-w", "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "-w", "stop")  # ends every client connection


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    run_as: list[str] = []
    folder = tempfile.mkdtemp(prefix="pierre-pg-")
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres account for initdb")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    c = Cluster(folder, _free_port(), pg_ctl, run_as)
    try:
        subprocess.run([*run_as, initdb, "-D", f"{folder}/data", "-A", "trust", "-U",
                        "postgres", "--no-sync", "-E", "UTF8"],
                       check=True, capture_output=True, timeout=60)
        c.start()
        yield c
    finally:
        subprocess.run([*run_as, pg_ctl, "-D", f"{folder}/data", "-m", "immediate", "stop"],
                       capture_output=True, timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


async def test_requests_fail_cleanly_while_postgres_is_down_and_recover(
        daemon_factory: Any, cluster: Cluster) -> None:
    d = daemon_factory({"database": {"backend": "postgres", "dsn": cluster.dsn,
                                     "min_size": 2, "max_size": 4,
                                     "command_timeout_s": 5}})
    d.cli("admin", "create-tenant", "--name", "pg")
    d.cli("admin", "create-user", "--tenant", "pg", "--email", "run@pg.example",
          "--password-file", "-", input=PW)
    async with httpx.AsyncClient(base_url=d.http_url, timeout=10) as h:
        r = await h.post("/api/auth/login", json={"email": "run@pg.example", "password": PW})
        assert r.status_code == 200, r.text
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        assert (await h.get("/ready")).status_code == 200

        statuses: list[int] = []
        bodies: list[str] = []
        stop_traffic = asyncio.Event()

        async def traffic() -> None:
            # GET /api/me reads the user row on every request: a real database round trip.
            while not stop_traffic.is_set():
                resp = await h.get("/api/me", headers=auth)
                statuses.append(resp.status_code)
                if resp.status_code != 200:
                    bodies.append(resp.text)
                await asyncio.sleep(0.01)

        runner = asyncio.ensure_future(traffic())
        await asyncio.sleep(0.3)
        await asyncio.to_thread(cluster.stop)
        await asyncio.sleep(0.5)

        # Down: clean 503s that say to retry, /ready names the database, daemon alive.
        r = await h.get("/api/me", headers=auth)
        assert r.status_code == 503, r.text
        assert r.json()["error"] == "unavailable" and "retry" in r.json()["message"]
        r = await h.post("/api/keys", json={"name": "while-down"}, headers=auth)
        assert r.status_code == 503 and "retry" in r.json()["message"]
        ready = await h.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"].startswith("failing")
        assert ready.json()["checks"]["http_listener"] == "ok"
        assert (await h.get("/health")).status_code == 200
        assert d.proc.poll() is None

        await asyncio.to_thread(cluster.start)
        # Back: the pool reconnects by itself, reads and writes succeed again.
        for _ in range(100):
            if (await h.get("/api/me", headers=auth)).status_code == 200:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the daemon never recovered after PostgreSQL came back")
        await asyncio.sleep(0.2)
        stop_traffic.set()
        await runner

        assert (await h.get("/ready")).status_code == 200
        r = await h.post("/api/keys", json={"name": "after"}, headers=auth)
        assert r.status_code == 201, r.text
        me = await h.get("/api/me", headers={"Authorization": f"Bearer {r.json()['key']}"})
        assert me.status_code == 200 and me.json()["email"] == "run@pg.example"

    # Mid-traffic: only successes and clean 503s (never a 500), before, during and after.
    assert set(statuses) <= {200, 503}, statuses
    assert 503 in statuses and statuses[0] == 200 and statuses[-1] == 200
    assert all("Traceback" not in b and "asyncpg" not in b for b in bodies)
    assert d.proc.poll() is None
    assert "Traceback" not in d.logs()
