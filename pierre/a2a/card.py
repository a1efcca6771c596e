"""The agent card, in each dialect.

`build_card` holds both dialects' fields; `public_card` serves one shape per
security scheme, as the official test kit requires (it rejects a scheme object
mixing the v1.0 oneof key with v0.3's `type` fields, which the official SDK
server emits):

- v1.0 (`/.well-known/agent-card.json`, or `A2A-Version: 1.x`): `supportedInterfaces`,
  schemes under their oneof key, `securityRequirements`; it keeps the v0.3
  connection fields (`url`, `protocolVersion`, `preferredTransport`, `security`),
  which 1.x parsers ignore. The API-key scheme also carries v0.3's `in` next to
  v1.0's `location`: the kit checks for it.
- v0.3 (`/.well-known/agent.json`, or `A2A-Version: 0.3`): pure v0.3 keys, what a
  0.3 SDK client validates (point it at that path).

Skills are one per tool family, with the tools' examples.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pierre.tools.base import ToolSpec

Json = dict[str, Any]

_FAMILY_TEXT = {
    "data": "Fitness data: athlete profile, activities, stats and connected providers",
    "analysis": "Sports-science analysis of activities and training",
    "goals": "Goals, race predictions and feasibility",
    "recovery": "Recovery, sleep and readiness",
    "config": "Training zones and personal settings",
}
SECURITY_NAMES = ("bearer", "apiKey", "oauth2")
_BEARER_TEXT = "A user's JWT, or the JWT a registered A2A client obtains"
_KEY_TEXT = "A Pierre key of the user, sent in the Authorization header as Bearer"
_V03_CONNECTION = ("url", "protocolVersion", "preferredTransport", "security")


def _skills(tools: Iterable[ToolSpec]) -> list[Json]:
    by_family: dict[str, list[ToolSpec]] = {}
    for spec in tools:
        by_family.setdefault(spec.family, []).append(spec)
    out = []
    for family in sorted(by_family):
        specs = sorted(by_family[family], key=lambda s: s.name)
        examples: list[str] = []
        for s in specs:
            examples.extend(s.examples[:2])
        desc = _FAMILY_TEXT.get(family, f"{family.title()} tools")
        out.append({
            "id": family,
            "name": family.replace("_", " ").title(),
            "description": f"{desc}. Tools: {', '.join(s.name for s in specs)}.",
            "tags": [family, *(s.name for s in specs)],
            "examples": examples[:10],
            "inputModes": ["text/plain", "application/json"],
            "outputModes": ["application/json", "text/plain"],
        })
    return out


def build_card(*, base_url: str, version: str, tools: Iterable[ToolSpec],
               streaming: bool = True, push: bool = True) -> Json:
    rpc_url = f"{base_url}/a2a"
    token_url = f"{base_url}/a2a/token"
    skills = _skills(tools)
    return {
        "name": "Pierre",
        "description": ("Fitness data and sports-science analysis for athletes: activities from "
                        "Strava, Fitbit, Garmin and files, training load, zones, recovery and "
                        "race predictions."),
        "version": version,
        "provider": {"organization": "Pierre", "url": base_url},
        "documentationUrl": f"{base_url}/",
        "supportedInterfaces": [
            {"url": rpc_url, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"},
            {"url": rpc_url, "protocolBinding": "JSONRPC", "protocolVersion": "0.3"},
        ],
        # v0.3 connection fields
        "url": rpc_url,
        "protocolVersion": "0.3.0",
        "preferredTransport": "JSONRPC",
        "capabilities": {"streaming": streaming, "pushNotifications": push,
                         "extendedAgentCard": True, "stateTransitionHistory": False},
        "supportsAuthenticatedExtendedCard": True,
        "securitySchemes": {
            "bearer": {
                "httpAuthSecurityScheme": {"scheme": "Bearer", "bearerFormat": "JWT",
                                           "description": _BEARER_TEXT},
                "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": _BEARER_TEXT,
            },
            "apiKey": {
                "apiKeySecurityScheme": {"location": "header", "in": "header",
                                         "name": "Authorization", "description": _KEY_TEXT},
                "type": "apiKey", "in": "header", "name": "Authorization",
                "description": _KEY_TEXT,
            },
            "oauth2": {
                "oauth2SecurityScheme": {"flows": {"clientCredentials": {
                    "tokenUrl": token_url, "scopes": {}}},
                    "description": "Client credentials from POST /a2a/clients"},
                "type": "oauth2",
                "flows": {"clientCredentials": {"tokenUrl": token_url, "scopes": {}}},
                "description": "Client credentials from POST /a2a/clients",
            },
        },
        "securityRequirements": [{"schemes": {name: {"list": []}}} for name in SECURITY_NAMES],
        "security": [{name: []} for name in SECURITY_NAMES],
        "defaultInputModes": ["text/plain", "application/json"],
        "defaultOutputModes": ["application/json", "text/plain"],
        "skills": skills,
    }


def extended_card(card: Json, visible: Iterable[ToolSpec]) -> Json:
    """The card plus the tools this caller may use (name, description, input schema)."""
    specs = sorted(visible, key=lambda s: s.name)
    out = dict(card)
    out["skills"] = _skills(specs)
    out["pierreTools"] = [{"name": s.name, "title": s.title, "description": s.description,
                           "inputSchema": s.input_schema, "family": s.family} for s in specs]
    return out


def for_dialect(card: Json, v1: bool) -> Json:
    """The extended card as a JSON-RPC result: pure v1.0 or pure v0.3 keys."""
    v1_only = {"supportedInterfaces", "securityRequirements"}
    v03_only = {"url", "protocolVersion", "preferredTransport", "security",
                "supportsAuthenticatedExtendedCard"}
    drop = v03_only if v1 else v1_only
    out = {k: v for k, v in card.items() if k not in drop}
    schemes = {}
    for name, scheme in card["securitySchemes"].items():
        if v1:
            schemes[name] = {k: v for k, v in scheme.items() if k.endswith("SecurityScheme")}
        else:
            schemes[name] = {k: v for k, v in scheme.items() if not k.endswith("SecurityScheme")}
    out["securitySchemes"] = schemes
    caps = dict(card["capabilities"])
    if not v1:
        caps.pop("extendedAgentCard", None)
    out["capabilities"] = caps
    return out


def public_card(card: Json, v1: bool) -> Json:
    """The unauthenticated card in one dialect (see the module docstring)."""
    out = for_dialect(card, v1)
    if v1:
        for key in _V03_CONNECTION:
            out[key] = card[key]
    return out
