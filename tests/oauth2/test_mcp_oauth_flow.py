"""The MCP OAuth dance against a real daemon, as Claude or Cursor would perform it.

Discovery starts from the 401 of /mcp; registration, PKCE, consent (posting the
consent form with a dashboard session cookie), token, then /mcp with the token.
"""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from pierre.crypto import MASTER_KEY_FILE, Crypto, parse_master_key
from pierre.dashboard.session import SESSION_COOKIE
from pierre.oauth2 import pkce, tokens
from pierre.oauth2.server import access_key
from tests.support.daemon import DaemonProcess

REDIRECT = "http://127.0.0.1:47123/callback"


PASSWORD = "correct horse battery staple"


def _user(d: DaemonProcess, email: str = "ann@t1.example.com") -> tuple[str, str]:
    """A tenant and a user with a password, made with the admin CLI."""
    d.cli("admin", "create-tenant", "--name", "t1", check=False)
    pw = d.tmp / f"pw-{email}"
    pw.write_text(PASSWORD + "\n")
    user = d.cli_json("admin", "create-user", "--tenant", "t1", "--email", email,
                      "--password-file", str(pw))
    return str(user["tenant_id"]), str(user["id"])


def _secret(d: DaemonProcess) -> bytes:
    """The OAuth key any instance derives from the shared master key."""
    master = parse_master_key((Path(d.config["server"]["data_dir"]) / MASTER_KEY_FILE
                               ).read_text())
    return Crypto(master, None).derive_key("oauth2")


def _sign_in(c: httpx.Client, email: str) -> None:
    """Sign in on the dashboard form like a person: the client keeps the session cookie."""
    page = c.get("/dashboard/login")
    form = _hidden(page.text)
    r = c.post("/dashboard/login", data={**form, "email": email, "password": PASSWORD})
    assert r.status_code == 303, r.text
    assert SESSION_COOKIE in c.cookies


def _hidden(page: str) -> dict[str, str]:
    return {html.unescape(m[0]): html.unescape(m[1]) for m in re.findall(
        r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)}


def _initialize(c: httpx.Client, url: str, token: str) -> httpx.Response:
    return c.post(url, headers={"Authorization": f"Bearer {token}",
                                "Accept": "application/json, text/event-stream",
                                "MCP-Protocol-Version": "2025-06-18"},
                  json={"jsonrpc": "2.0", "id": 1, "method": "initialize",
                        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                                   "clientInfo": {"name": "oauth-test", "version": "0"}}})


def _dance(c: httpx.Client, d: DaemonProcess, email: str) -> dict[str, Any]:
    # 1. discovery from the 401
    r = c.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert r.status_code == 401
    m = re.search(r'resource_metadata="([^"]+)"', r.headers["WWW-Authenticate"])
    assert m, r.headers["WWW-Authenticate"]
    prm = c.get(m.group(1)).json()
    assert prm["resource"] == f"{d.http_url}/mcp"
    asm = c.get(f"{prm['authorization_servers'][0]}/.well-known/oauth-authorization-server"
                ).json()
    assert "S256" in asm["code_challenge_methods_supported"]
    # 2. dynamic registration
    reg = c.post(asm["registration_endpoint"], json={
        "redirect_uris": [REDIRECT], "client_name": "Flow test",
        "token_endpoint_auth_method": "none"})
    assert reg.status_code == 201, reg.text
    client_id = reg.json()["client_id"]
    # 3. authorize with PKCE and resource; the consent page needs the session
    verifier = secrets.token_urlsafe(48)
    state = secrets.token_urlsafe(8)
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT,
              "code_challenge": pkce.s256(verifier), "code_challenge_method": "S256",
              "state": state, "resource": prm["resource"], "scope": "mcp"}
    anon = c.get(asm["authorization_endpoint"], params=params)
    assert anon.status_code == 303 and "/dashboard/login" in anon.headers["Location"]
    _sign_in(c, email)
    page = c.get(asm["authorization_endpoint"], params=params)
    assert page.status_code == 200 and "Flow test" in page.text
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    form = _hidden(page.text)
    consent = c.post("/oauth2/authorize", data={**form, "decision": "allow"})
    assert consent.status_code == 302, consent.text
    back = urlsplit(consent.headers["Location"])
    q = parse_qs(back.query)
    assert f"{back.scheme}://{back.netloc}{back.path}" == REDIRECT
    assert q["state"] == [state] and q["iss"] == [asm["issuer"]]
    # 4. token
    tok = c.post(asm["token_endpoint"], data={
        "grant_type": "authorization_code", "code": q["code"][0], "redirect_uri": REDIRECT,
        "client_id": client_id, "code_verifier": verifier, "resource": prm["resource"]})
    assert tok.status_code == 200, tok.text
    assert tok.headers["Cache-Control"] == "no-store"
    # the code is single-use
    again = c.post(asm["token_endpoint"], data={
        "grant_type": "authorization_code", "code": q["code"][0], "redirect_uri": REDIRECT,
        "client_id": client_id, "code_verifier": verifier})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    return {"client_id": client_id, **tok.json()}


@pytest.fixture
def flow_daemon(daemon_factory: Callable[..., DaemonProcess]) -> DaemonProcess:
    return daemon_factory()


def test_mcp_client_signs_in_by_itself_and_calls_mcp(flow_daemon: DaemonProcess) -> None:
    d = flow_daemon
    _user(d)
    with httpx.Client(base_url=d.http_url, timeout=10) as c:
        out = _dance(c, d, "ann@t1.example.com")
        c.cookies.clear()
        r = _initialize(c, f"{d.http_url}/mcp", out["access_token"])
        assert r.status_code == 200, r.text
        assert "protocolVersion" in r.text
        # refresh rotates: the new pair works, the old refresh token does not
        ref = c.post("/oauth2/token", data={"grant_type": "refresh_token",
                                            "refresh_token": out["refresh_token"],
                                            "client_id": out["client_id"]})
        assert ref.status_code == 200, ref.text
        assert ref.json()["refresh_token"] != out["refresh_token"]
        reuse = c.post("/oauth2/token", data={"grant_type": "refresh_token",
                                              "refresh_token": out["refresh_token"],
                                              "client_id": out["client_id"]})
        assert reuse.json()["error"] == "invalid_grant"
        assert _initialize(c, f"{d.http_url}/mcp", ref.json()["access_token"]).status_code == 200


def test_token_for_another_audience_is_refused_on_mcp(flow_daemon: DaemonProcess) -> None:
    d = flow_daemon
    tenant_id, user_id = _user(d, "bob@t1.example.com")
    key = access_key(_secret(d))
    common = {"issuer": d.http_url, "tenant_id": tenant_id, "user_id": user_id,
              "role": "user", "client_id": "c", "scope": "mcp", "ttl_s": 300}
    other = tokens.mint(key, audience="https://elsewhere.example/mcp", **common)
    right = tokens.mint(key, audience=f"{d.http_url}/mcp", **common)
    forged = tokens.mint(b"x" * 32, audience=f"{d.http_url}/mcp", **common)
    with httpx.Client(timeout=10) as c:
        refused = _initialize(c, f"{d.http_url}/mcp", other)
        assert refused.status_code == 401
        assert "another resource" in refused.text
        assert "resource_metadata=" in refused.headers["WWW-Authenticate"]
        assert _initialize(c, f"{d.http_url}/mcp", forged).status_code == 401
        assert _initialize(c, f"{d.http_url}/mcp", right).status_code == 200
        # a resource this server does not serve is refused at /authorize time, too
        reg = c.post(f"{d.http_url}/oauth2/register", json={"redirect_uris": [REDIRECT]}).json()
        r = c.get(f"{d.http_url}/oauth2/authorize", params={
            "response_type": "code", "client_id": reg["client_id"], "redirect_uri": REDIRECT,
            "code_challenge": pkce.s256("v" * 43), "code_challenge_method": "S256",
            "resource": "https://elsewhere.example/mcp"})
        assert r.status_code == 303
        assert parse_qs(urlsplit(r.headers["Location"]).query)["error"] == ["invalid_target"]
