"""The pure OAuth 2.1 rules: registration, client ids, PKCE, authorize and token requests."""

from __future__ import annotations

import secrets

import pytest

from pierre.oauth2 import grants, metadata, pkce
from pierre.oauth2.clients import ClientCodec, redirect_uri_matches, validate_registration
from pierre.oauth2.errors import OAuthError

KEY = b"k" * 32
RESOURCE = "http://127.0.0.1:9000/mcp"
WS_RESOURCE = "ws://127.0.0.1:9001/mcp"


def _client(codec: ClientCodec, uris: list[str] | None = None, method: str = "none"
            ) -> dict[str, object]:
    meta = validate_registration({
        "redirect_uris": uris or ["http://127.0.0.1:33418/callback"],
        "client_name": "Test client", "token_endpoint_auth_method": method})
    return codec.register(meta)


def _authz(codec: ClientCodec, cid: str, /, **over: str) -> dict[str, str]:
    verifier = "v" * 50
    params = {"client_id": cid, "redirect_uri": "http://127.0.0.1:33418/callback",
              "response_type": "code", "code_challenge": pkce.s256(verifier),
              "code_challenge_method": "S256", "state": "xyz", "resource": RESOURCE}
    params.update(over)
    return {k: v for k, v in params.items() if v != "-"}


def test_metadata_documents_point_at_each_other() -> None:
    asm = metadata.authorization_server_metadata("https://p.example")
    prm = metadata.protected_resource_metadata("https://p.example/mcp", "https://p.example")
    assert asm["issuer"] in prm["authorization_servers"]
    assert asm["code_challenge_methods_supported"] == ["S256"]
    assert asm["token_endpoint"] == "https://p.example/oauth2/token"
    assert "none" in asm["token_endpoint_auth_methods_supported"]
    header = metadata.www_authenticate("https://p.example/.well-known/oauth-protected-resource")
    assert 'resource_metadata="https://p.example/.well-known/oauth-protected-resource"' in header


@pytest.mark.parametrize("uri", [
    "javascript:alert(1)", "http://evil.example/cb", "https://a.example/cb#frag", "relative/cb",
    "data:text/html,hi", "https:///nohost",
])
def test_registration_refuses_dangerous_redirect_uris(uri: str) -> None:
    with pytest.raises(OAuthError) as exc:
        validate_registration({"redirect_uris": [uri]})
    assert exc.value.error == "invalid_redirect_uri"


@pytest.mark.parametrize("body,error", [
    ({}, "invalid_redirect_uri"),
    ([], "invalid_client_metadata"),
    ({"redirect_uris": ["https://a.example/cb"], "grant_types": ["password"]},
     "invalid_client_metadata"),
    ({"redirect_uris": ["https://a.example/cb"], "response_types": ["token"]},
     "invalid_client_metadata"),
    ({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt"},
     "invalid_client_metadata"),
])
def test_registration_refuses_bad_metadata(body: object, error: str) -> None:
    with pytest.raises(OAuthError) as exc:
        validate_registration(body)
    assert exc.value.error == error


@pytest.mark.parametrize("uri", [
    "https://claude.ai/api/mcp/auth_callback", "http://localhost:6274/cb",
    "http://[::1]:5000/cb", "cursor://anysphere.cursor-retrieval/oauth/callback",
])
def test_registration_accepts_mcp_client_redirects(uri: str) -> None:
    codec = ClientCodec(KEY)
    reg = codec.register(validate_registration({"redirect_uris": [uri]}))
    assert codec.decode(reg["client_id"]).redirect_uris == (uri,)
    assert "client_secret" not in reg


def test_client_id_round_trips_and_tampering_is_refused() -> None:
    codec = ClientCodec(KEY)
    reg = _client(codec)
    cid = str(reg["client_id"])
    assert codec.decode(cid).client_name == "Test client"
    prefix, payload, mac = cid.split(".")
    forged = f"{prefix}.{payload[:-2]}AA.{mac}"
    for bad in (forged, cid + "x", "nope", None, "a.b.c"):
        with pytest.raises(OAuthError) as exc:
            codec.decode(bad)
        assert exc.value.error == "invalid_client"
    with pytest.raises(OAuthError):
        ClientCodec(b"other-key-other-key-32-bytes!!!!").decode(cid)


def test_confidential_client_needs_its_derived_secret() -> None:
    codec = ClientCodec(KEY)
    reg = _client(codec, method="client_secret_post")
    client = codec.decode(reg["client_id"])
    codec.authenticate(client, str(reg["client_secret"]))
    for wrong in (None, "", "x" * 43):
        with pytest.raises(OAuthError):
            codec.authenticate(client, wrong)


def test_loopback_redirect_may_change_port_only() -> None:
    reg = ("http://127.0.0.1:1000/cb",)
    assert redirect_uri_matches(reg, "http://127.0.0.1:55555/cb")
    assert not redirect_uri_matches(reg, "http://127.0.0.1:55555/other")
    assert not redirect_uri_matches(reg, "http://localhost:1000/cb")
    assert not redirect_uri_matches(("https://a.example/cb",), "https://a.example:444/cb")


@pytest.mark.parametrize("n", [43, 64, 128])
def test_pkce_s256_verifies_only_the_right_verifier(n: int) -> None:
    verifier = secrets.token_urlsafe(96)[:n]
    challenge = pkce.s256(verifier)
    assert pkce.valid_challenge(challenge)
    assert pkce.verify(verifier, challenge)
    assert not pkce.verify(verifier[:-1] + ("A" if verifier[-1] != "A" else "B"), challenge)
    assert not pkce.verify("short", pkce.s256("short"))
    assert not pkce.verify(None, challenge)


def test_pkce_rfc7636_appendix_b_vector() -> None:
    assert pkce.s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == (
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")


def test_authorization_request_is_accepted_for_both_mcp_urls() -> None:
    codec = ClientCodec(KEY)
    cid = str(_client(codec)["client_id"])
    for res in (RESOURCE, RESOURCE + "/", WS_RESOURCE, "-"):
        req = grants.parse_authorization_request(
            _authz(codec, cid, resource=res), codec,
            accepted_resources=(RESOURCE, WS_RESOURCE), canonical_resource=RESOURCE)
        assert req.resource == RESOURCE
        assert req.scope == "mcp"
        assert req.state == "xyz"


@pytest.mark.parametrize("over,error,redirectable", [
    ({"client_id": "forged.x.y"}, "invalid_client", False),
    ({"redirect_uri": "https://evil.example/cb"}, "invalid_request", False),
    ({"response_type": "token"}, "unsupported_response_type", True),
    ({"code_challenge": "-"}, "invalid_request", True),
    ({"code_challenge_method": "plain"}, "invalid_request", True),
    ({"code_challenge_method": "-"}, "invalid_request", True),
    ({"code_challenge": "short"}, "invalid_request", True),
    ({"resource": "https://other.example/mcp"}, "invalid_target", True),
    ({"scope": "admin"}, "invalid_scope", True),
])
def test_authorization_request_errors(over: dict[str, str], error: str,
                                      redirectable: bool) -> None:
    codec = ClientCodec(KEY)
    cid = str(_client(codec)["client_id"])
    with pytest.raises(OAuthError) as exc:
        grants.parse_authorization_request(
            _authz(codec, cid, **over), codec,
            accepted_resources=(RESOURCE,), canonical_resource=RESOURCE)
    assert (exc.value.error, exc.value.redirectable) == (error, redirectable)


def test_code_redemption_checks_client_redirect_pkce_and_resource() -> None:
    codec = ClientCodec(KEY)
    cid = str(_client(codec)["client_id"])
    other = str(_client(codec, ["https://b.example/cb"])["client_id"])
    verifier = "w" * 60
    stored = {"client_id": cid, "redirect_uri": "http://127.0.0.1:33418/callback",
              "code_challenge": pkce.s256(verifier), "resource": RESOURCE}
    good = {"grant_type": "authorization_code", "client_id": cid, "code": "c",
            "redirect_uri": "http://127.0.0.1:33418/callback", "code_verifier": verifier,
            "resource": RESOURCE}
    grants.check_code_redemption(grants.parse_token_request(good, codec, basic=None), stored)
    for change, error in (({"client_id": other}, "invalid_grant"),
                          ({"code_verifier": "x" * 60}, "invalid_grant"),
                          ({"redirect_uri": "http://127.0.0.1:1/x"}, "invalid_grant"),
                          ({"resource": "https://else.example"}, "invalid_target")):
        req = grants.parse_token_request({**good, **change}, codec, basic=None)
        with pytest.raises(OAuthError) as exc:
            grants.check_code_redemption(req, stored)
        assert exc.value.error == error


@pytest.mark.parametrize("params,error", [
    ({"grant_type": "password"}, "unsupported_grant_type"),
    ({"grant_type": "authorization_code", "code_verifier": "v" * 43}, "invalid_request"),
    ({"grant_type": "authorization_code", "code": "c"}, "invalid_request"),
    ({"grant_type": "refresh_token"}, "invalid_request"),
])
def test_token_request_errors(params: dict[str, str], error: str) -> None:
    codec = ClientCodec(KEY)
    cid = str(_client(codec)["client_id"])
    with pytest.raises(OAuthError) as exc:
        grants.parse_token_request({"client_id": cid, **params}, codec, basic=None)
    assert exc.value.error == error


def test_refresh_can_narrow_but_not_widen_scope() -> None:
    assert grants.narrow_scope("mcp", None) == "mcp"
    assert grants.narrow_scope("mcp", "mcp") == "mcp"
    with pytest.raises(OAuthError):
        grants.narrow_scope("mcp", "mcp admin")


def test_redirect_keeps_existing_query() -> None:
    url = grants.redirect_with("https://a.example/cb?x=1", {"code": "c d", "state": None})
    assert url == "https://a.example/cb?x=1&code=c+d"
