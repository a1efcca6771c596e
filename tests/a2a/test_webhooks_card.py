"""SSRF screening and the agent card, without sockets."""

from __future__ import annotations

import pytest

from pierre.a2a import card, webhooks
from pierre.a2a.errors import A2AError
from pierre.tools.base import ToolSpec


@pytest.mark.parametrize("ip", ["127.0.0.1", "10.1.2.3", "192.168.0.4", "172.16.5.5",
                                "169.254.169.254", "::1", "fc00::1", "0.0.0.0",
                                "::ffff:127.0.0.1", "100.64.0.1"])
def test_private_addresses_are_refused(ip: str) -> None:
    with pytest.raises(A2AError):
        webhooks.check_address("hook.example", [ip], allow_private=False)


@pytest.mark.parametrize("ip", ["93.184.216.34", "2606:4700::6810:85e5"])
def test_public_addresses_pass(ip: str) -> None:
    webhooks.check_address("hook.example", [ip], allow_private=False)


def test_localhost_name_refused_unless_allowed() -> None:
    with pytest.raises(A2AError):
        webhooks.check_address("localhost", ["127.0.0.1"], allow_private=False)
    webhooks.check_address("localhost", ["127.0.0.1"], allow_private=True)


@pytest.mark.parametrize("url", ["ftp://x/y", "/relative", "http://", "https://h:99999/"])
def test_bad_urls_refused(url: str) -> None:
    with pytest.raises(A2AError):
        webhooks.check_url_shape(url)


async def test_ip_literal_url_refused_without_dns() -> None:
    with pytest.raises(A2AError):
        await webhooks.resolve_and_check("http://127.0.0.1:9/hook", allow_private=False)
    await webhooks.resolve_and_check("http://127.0.0.1:9/hook", allow_private=True)


def test_push_headers_carry_authentication_and_token() -> None:
    h = webhooks.headers_for({"token": "t", "authentication": {"scheme": "Bearer",
                                                              "credentials": "abc"}})
    assert h["Authorization"] == "Bearer abc" and h["X-A2A-Notification-Token"] == "t"


async def _noop(ctx: object, args: dict[str, object]) -> dict[str, object]:
    return {}


def _spec(name: str, family: str, example: str) -> ToolSpec:
    return ToolSpec(name=name, title=name, description=name, input_schema={"type": "object"},
                    output_schema={"type": "object"}, handler=_noop, family=family,
                    examples=(example,))


def test_card_has_both_dialects_and_one_skill_per_family() -> None:
    tools = [_spec("a", "data", "show a"), _spec("b", "data", "show b"),
             _spec("c", "analysis", "analyse c")]
    c = card.build_card(base_url="http://h:1", version="9.9", tools=tools)
    assert c["url"] == "http://h:1/a2a" and c["protocolVersion"] == "0.3.0"
    assert {i["protocolVersion"] for i in c["supportedInterfaces"]} == {"1.0", "0.3"}
    assert [s["id"] for s in c["skills"]] == ["analysis", "data"]
    assert c["skills"][1]["examples"] == ["show a", "show b"]
    assert c["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]["tokenUrl"] == (
        "http://h:1/a2a/token")
    v1 = card.for_dialect(card.extended_card(c, tools[:1]), v1=True)
    assert "url" not in v1 and v1["pierreTools"][0]["name"] == "a"
    assert set(v1["securitySchemes"]["bearer"]) == {"httpAuthSecurityScheme"}


def test_public_card_has_one_shape_per_scheme_in_each_dialect() -> None:
    c = card.build_card(base_url="https://p.example", version="1", tools=[_spec("a", "data", "x")])
    v1 = card.public_card(c, v1=True)
    assert {k: list(s) for k, s in v1["securitySchemes"].items()} == {
        "bearer": ["httpAuthSecurityScheme"], "apiKey": ["apiKeySecurityScheme"],
        "oauth2": ["oauth2SecurityScheme"]}
    assert v1["securitySchemes"]["apiKey"]["apiKeySecurityScheme"]["in"] == "header"
    assert (v1["url"], v1["protocolVersion"], v1["preferredTransport"]) == (
        "https://p.example/a2a", "0.3.0", "JSONRPC")
    assert v1["security"] == [{"bearer": []}, {"apiKey": []}, {"oauth2": []}]
    v03 = card.public_card(c, v1=False)
    assert {s["type"] for s in v03["securitySchemes"].values()} == {"http", "apiKey", "oauth2"}
    assert not any(k.endswith("SecurityScheme") for s in v03["securitySchemes"].values()
                   for k in s)
    assert "supportedInterfaces" not in v03 and "extendedAgentCard" not in v03["capabilities"]
