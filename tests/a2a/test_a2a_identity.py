"""A2A on the real identity layer: credentials from the admin CLI and the REST login,
client management over HTTP, JWT client tokens, and tenant isolation."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import jwt
import pytest

from tests.a2a.conftest import Agent, make_agent, register_client


def _rpc(url: str, credential: str, method: str, params: Any) -> dict[str, Any]:
    r = httpx.post(f"{url}/a2a", json={"jsonrpc": "2.0", "id": 1, "method": method,
                                        "params": params},
                   headers={"Authorization": f"Bearer {credential}", "A2A-Version": "1.0"})
    assert r.status_code == 200, r.text
    return dict(r.json())


def _hdr(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


@pytest.fixture(scope="module")
def bob(agent: Agent) -> Agent:
    """A user of another tenant on the same daemon."""
    return make_agent(agent.daemon, "globex", "bob@example.com")


def test_client_token_is_a_jwt_any_instance_can_check_with_the_jwks(agent: Agent) -> None:
    token = agent.token()
    jwks = httpx.get(f"{agent.url}/.well-known/jwks.json").json()
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == kid))
    aud = jwt.decode(token, options={"verify_signature": False})["aud"]
    claims = jwt.decode(token, key.key, algorithms=[key.algorithm_name], audience=aud)
    assert claims["a2a_client"] == agent.client_id
    assert claims["sub"] == agent.user_id and claims["tenant"] == agent.tenant_id
    assert claims["tier"] == "starter"  # the tenant's plan
    assert aud.endswith("#a2a")


def test_client_token_opens_only_a2a(agent: Agent) -> None:
    token = agent.token()
    assert "result" in _rpc(agent.url, token, "ListTasks", {})
    assert httpx.get(f"{agent.url}/api/me", headers=_hdr(token)).status_code == 401
    made = httpx.post(f"{agent.url}/a2a/clients", json={"name": "child"}, headers=_hdr(token))
    assert made.status_code == 401


def test_a2a_accepts_the_users_jwt_and_api_key(agent: Agent) -> None:
    for credential in (agent.jwt(), agent.api_key):
        sent = _rpc(agent.url, credential, "SendMessage", {"message": {
            "messageId": str(uuid.uuid4()), "role": "ROLE_USER",
            "parts": [{"data": {"tool": "get_connection_status", "arguments": {}}}]}})
        task = sent["result"]["task"]
        assert task["status"]["state"] == "TASK_STATE_COMPLETED", sent
        # The same user sees the task whichever credential asks.
        got = _rpc(agent.url, agent.token(), "GetTask", {"id": task["id"]})
        assert got["result"]["id"] == task["id"]
    bad = httpx.post(f"{agent.url}/a2a", json={"jsonrpc": "2.0", "id": 1,
                                               "method": "ListTasks", "params": {}},
                     headers={**_hdr("pk_live_not-a-real-key"), "A2A-Version": "1.0"})
    assert bad.status_code == 401 and "pk_live_not" not in bad.text


def test_clients_by_jwt_listed_used_and_revoked(agent: Agent) -> None:
    user_jwt = agent.jwt()
    created = register_client(agent.daemon, user_jwt, "by jwt")
    assert created["client_secret"].startswith("a2as_")
    listed = httpx.get(f"{agent.url}/a2a/clients", headers=_hdr(agent.api_key)).json()
    names = {c["client_id"]: c["name"] for c in listed["clients"]}
    assert names[created["client_id"]] == "by jwt" and agent.client_id in names
    assert all("secret" not in k for c in listed["clients"] for k in c)
    form = {"grant_type": "client_credentials", "client_id": created["client_id"],
            "client_secret": created["client_secret"]}
    token = httpx.post(f"{agent.url}/a2a/token", data=form).json()["access_token"]
    for _ in range(2):
        assert "result" in _rpc(agent.url, token, "ListTasks", {})
    usage = httpx.get(f"{agent.url}/a2a/clients/{created['client_id']}/usage",
                      headers=_hdr(user_jwt)).json()
    assert usage["calls_30d"] == 2 and usage["last_seen"]
    gone = httpx.delete(f"{agent.url}/a2a/clients/{created['client_id']}",
                        headers=_hdr(user_jwt))
    assert gone.status_code == 200 and gone.json()["revoked"] is True
    # A token issued before the revocation stops at once; no new one is issued.
    r = httpx.post(f"{agent.url}/a2a", json={"jsonrpc": "2.0", "id": 1, "method": "ListTasks",
                                             "params": {}}, headers=_hdr(token))
    assert r.status_code == 401
    assert httpx.post(f"{agent.url}/a2a/token", data=form).status_code == 401


def test_other_tenant_cannot_see_or_touch_clients_or_tasks(agent: Agent, bob: Agent) -> None:
    mine = _rpc(agent.url, agent.api_key, "SendMessage", {"message": {
        "messageId": "tck-complete-task-iso", "role": "ROLE_USER", "parts": [{"text": "x"}]}})
    task_id = mine["result"]["task"]["id"]
    for credential in (bob.api_key, bob.jwt(), bob.token()):
        err = _rpc(bob.url, credential, "GetTask", {"id": task_id})["error"]
        assert err["code"] == -32001
        err = _rpc(bob.url, credential, "CancelTask", {"id": task_id})["error"]
        assert err["code"] == -32001
    for credential in (bob.api_key, bob.jwt()):
        listed = httpx.get(f"{bob.url}/a2a/clients", headers=_hdr(credential)).json()
        assert [c["client_id"] for c in listed["clients"]] == [bob.client_id]
        cid = agent.client_id
        assert httpx.get(f"{bob.url}/a2a/clients/{cid}/usage",
                         headers=_hdr(credential)).status_code == 404
        assert httpx.delete(f"{bob.url}/a2a/clients/{cid}",
                            headers=_hdr(credential)).status_code == 404
    # Ann's client still works: Bob's attempts changed nothing.
    assert "result" in _rpc(agent.url, agent.token(), "GetTask", {"id": task_id})
