"""Identity through the real daemon: REST, CLI changes seen live, tampered credentials → 401."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import jwt
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

PW = "correct horse battery"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _forge(header: dict[str, Any], claims: dict[str, Any], sig: bytes = b"") -> str:
    return ".".join([_b64(orjson.dumps(header)), _b64(orjson.dumps(claims)), _b64(sig)])


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.support.daemon import DaemonProcess

    d = DaemonProcess(tmp_path_factory.mktemp("ident"))
    d.start()
    try:
        http = httpx.Client(base_url=d.http_url, timeout=10)
        yield d, http
        http.close()
    finally:
        d.stop()


def _login(http: httpx.Client, email: str, password: str = PW) -> dict[str, Any]:
    r = http.post("/api/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_register_login_me_and_refresh_rotation(env: Any) -> None:
    _, http = env
    r = http.post("/api/auth/register", json={"email": "Reg@Example.com", "password": PW})
    assert r.status_code == 201, r.text
    assert r.json()["email"] == "reg@example.com"
    assert http.post("/api/auth/register",
                     json={"email": "reg@example.com", "password": PW}).status_code == 409
    assert http.post("/api/auth/register",
                     json={"email": "short@example.com", "password": "x"}).status_code == 400
    tokens = _login(http, "reg@example.com")
    me = http.get("/api/me", headers=_bearer(tokens["access_token"]))
    assert me.status_code == 200 and me.json()["email"] == "reg@example.com"
    assert me.json()["auth_method"] == "jwt"
    # Rotation: the new refresh token works, the old one is reuse and kills the family.
    r1 = http.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r1.status_code == 200
    reuse = http.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert reuse.status_code == 401
    killed = http.post("/api/auth/refresh", json={"refresh_token": r1.json()["refresh_token"]})
    assert killed.status_code == 401


def test_wrong_password_is_401_and_audited(env: Any) -> None:
    d, http = env
    d.cli("admin", "create-tenant", "--name", "audit-t")
    pw = d.tmp / "pw"
    pw.write_text(PW)
    d.cli("admin", "create-user", "--tenant", "audit-t", "--email", "ta@audit.t", "--role",
          "tenant_admin", "--password-file", str(pw))
    r = http.post("/api/auth/login", json={"email": "ta@audit.t", "password": "wrong-password"})
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    assert "Traceback" not in r.text
    tok = _login(http, "ta@audit.t")["access_token"]
    rows = http.get("/api/admin/audit", params={"action": "login_failed"},
                    headers=_bearer(tok)).json()
    assert len(rows) == 1 and rows[0]["action"] == "login_failed"


def test_cli_key_works_then_revocation_applies_without_restart(env: Any) -> None:
    d, http = env
    d.cli("admin", "create-tenant", "--name", "cli-t")
    d.cli("admin", "create-user", "--tenant", "cli-t", "--email", "u@cli.t")
    created = d.cli_json("admin", "create-api-key", "--email", "u@cli.t", "--tier", "trial")
    key = created["key"]
    assert key.startswith("pk_trial_")
    me = http.get("/api/me", headers=_bearer(key))
    assert me.status_code == 200 and me.json()["credential_id"] == created["id"]
    listed = http.get("/api/keys", headers=_bearer(key)).json()
    assert [k["prefix"] for k in listed] == [created["prefix"]]
    assert key not in orjson.dumps(listed).decode()
    d.cli("admin", "revoke-api-key", created["id"])
    deadline = time.monotonic() + 3  # the daemon re-reads a key at most 1 s later
    while (r := http.get("/api/me", headers=_bearer(key))).status_code == 200:
        assert time.monotonic() < deadline, "revocation not seen by the running daemon"
        time.sleep(0.1)
    assert r.status_code == 401 and r.json()["message"] == "API key revoked"


def test_expired_key_is_rejected(env: Any) -> None:
    d, http = env
    d.cli("admin", "create-tenant", "--name", "exp-t")
    d.cli("admin", "create-user", "--tenant", "exp-t", "--email", "u@exp.t")
    key = d.cli_json("admin", "create-api-key", "--email", "u@exp.t", "--expires-days", "1")["key"]
    assert http.get("/api/me", headers=_bearer(key)).status_code == 200
    import sqlite3

    con = sqlite3.connect(d.config["database"]["path"])
    con.execute("UPDATE api_keys SET expires_at = '2000-01-01T00:00:00.000000+00:00'")
    con.commit()
    con.close()
    time.sleep(1.1)  # past the daemon's 1 s key cache
    r = http.get("/api/me", headers=_bearer(key))
    assert r.status_code == 401 and r.json()["message"] == "API key expired"


@pytest.mark.parametrize("header", [
    "Bearer pk_live_" + "A" * 43, "Bearer pk_trial_nope", "Bearer garbage", "Bearer a.b.c",
    "Basic dXNlcjpwYXNz", None,
])
def test_random_credentials_are_clean_401(env: Any, header: str | None) -> None:
    _, http = env
    r = http.get("/api/me", headers={"Authorization": header} if header else {})
    assert r.status_code == 401
    body = r.json()
    assert body["error"] == "unauthorized" and "Traceback" not in r.text
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_tampered_jwts_are_rejected(env: Any) -> None:
    _, http = env
    http.post("/api/auth/register", json={"email": "tamper@example.com", "password": PW})
    good = _login(http, "tamper@example.com")["access_token"]
    header = jwt.get_unverified_header(good)
    claims = jwt.decode(good, options={"verify_signature": False})
    other_key = ed25519.Ed25519PrivateKey.generate()
    now = int(time.time())
    cases = {
        "alg none": _forge({"alg": "none", "typ": "JWT", "kid": header["kid"]}, claims),
        "wrong key": jwt.encode(claims, other_key, algorithm="EdDSA",
                                headers={"kid": header["kid"]}),
        "expired": jwt.encode({**claims, "iat": now - 3600, "exp": now - 1800}, other_key,
                              algorithm="EdDSA", headers={"kid": header["kid"]}),
        "other tenant": ".".join([good.split(".")[0],
                                  _b64(orjson.dumps({**claims, "tenant": "someone-else"})),
                                  good.split(".")[2]]),
        "wrong aud": ".".join([good.split(".")[0],
                               _b64(orjson.dumps({**claims, "aud": "elsewhere"})),
                               good.split(".")[2]]),
        "HS256 with public key": jwt.encode(claims, "x" * 32, algorithm="HS256",
                                            headers={"kid": header["kid"]}),
    }
    assert http.get("/api/me", headers=_bearer(good)).status_code == 200
    for name, token in cases.items():
        r = http.get("/api/me", headers=_bearer(token))
        assert r.status_code == 401, name
        assert r.json()["error"] == "unauthorized", name


def test_jwks_verifies_issued_tokens(env: Any) -> None:
    _, http = env
    http.post("/api/auth/register", json={"email": "jwks@example.com", "password": PW})
    token = _login(http, "jwks@example.com")["access_token"]
    keys = http.get("/.well-known/jwks.json").json()["keys"]
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = next(k for k in keys if k["kid"] == kid)
    assert "d" not in jwk  # public only
    key = jwt.PyJWK(jwk).key
    claims = jwt.decode(token, key, algorithms=["EdDSA"], audience="pierre", issuer="pierre")
    assert claims["sub"] and claims["tenant"]
