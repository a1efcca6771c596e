"""A running daemon with A2A on, plus a tenant, a user and a registered A2A client.

Everything goes through the product's own doors: the tenant, the user (with a
password) and an API key come from the admin CLI, the A2A client is registered
over `POST /a2a/clients` with that key, and tokens come from `/a2a/token`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.daemon import DaemonProcess

PASSWORD = "correct horse battery staple"


@dataclass
class Agent:
    daemon: DaemonProcess
    client_id: str
    client_secret: str
    tenant_id: str
    user_id: str
    email: str
    api_key: str

    @property
    def url(self) -> str:
        return self.daemon.http_url

    def token(self) -> str:
        r = httpx.post(f"{self.url}/a2a/token", data={
            "grant_type": "client_credentials", "client_id": self.client_id,
            "client_secret": self.client_secret})
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def jwt(self) -> str:
        """The user's own access token, from the REST login."""
        r = httpx.post(f"{self.url}/api/auth/login",
                       json={"email": self.email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])


def provision(d: DaemonProcess, tenant: str, email: str, *, role: str = "user"
              ) -> tuple[str, str, str]:
    """(tenant id, user id, API key) made with `pierre admin`, as an operator would."""
    made = d.cli("admin", "create-tenant", "--name", tenant, check=False)
    assert made.returncode == 0 or "exist" in made.stderr.lower(), made.stderr
    pw = d.tmp / f"pw-{email}"
    pw.write_text(PASSWORD + "\n")
    user = d.cli_json("admin", "create-user", "--tenant", tenant, "--email", email,
                      "--role", role, "--password-file", str(pw))
    key = d.cli_json("admin", "create-api-key", "--email", email)
    return str(user["tenant_id"]), str(user["id"]), str(key["key"])


def register_client(d: DaemonProcess, credential: str, name: str = "test agent") -> dict[str, Any]:
    r = httpx.post(f"{d.http_url}/a2a/clients", json={"name": name,
                                                      "description": "drives the A2A tests"},
                   headers={"Authorization": f"Bearer {credential}"})
    assert r.status_code == 201, r.text
    return dict(r.json())


A2A_ON = {"conformance_mode": True, "allow_private_webhooks": True}


def make_agent(d: DaemonProcess, tenant: str = "acme", email: str = "ann@example.com"
               ) -> Agent:
    tid, uid, key = provision(d, tenant, email)
    created = register_client(d, key)
    return Agent(d, created["client_id"], created["client_secret"], tid, uid, email, key)


@pytest.fixture
def a2a_factory(daemon_factory: Callable[..., DaemonProcess]) -> Callable[..., Agent]:
    """A fresh daemon (or another user on `daemon`) for tests that change config or state."""
    def make(a2a: dict[str, Any] | None = None, *, tenant: str = "acme",
             email: str = "ann@example.com", daemon: DaemonProcess | None = None,
             config: dict[str, Any] | None = None) -> Agent:
        d = daemon or daemon_factory({"a2a": {**A2A_ON, **(a2a or {})}, **(config or {})})
        return make_agent(d, tenant, email)
    return make


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    """One daemon and agent per module: starting daemons is the slow part of these tests."""
    d = DaemonProcess(tmp_path_factory.mktemp("a2a"), {"a2a": A2A_ON}).start()
    try:
        yield make_agent(d)
    finally:
        d.stop()


# Short tokens, no private webhooks, and a tiny starter plan: 3 calls, then wait.
STRICT = {"a2a": {**A2A_ON, "allow_private_webhooks": False, "client_token_ttl_s": 1},
          "ratelimit": {"tiers": {"starter": {"capacity": 3, "refill_per_s": 0.01}}}}


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    d = DaemonProcess(tmp_path_factory.mktemp("a2a-strict"), STRICT).start()
    try:
        yield d
    finally:
        d.stop()
