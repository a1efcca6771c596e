"""Discovery documents: RFC 8414 (authorization server) and RFC 9728 (protected resource).

MCP clients start from the `resource_metadata` URL in a 401 from `/mcp`, read
the protected-resource document to find the issuer, then the issuer's metadata
to find the endpoints. Both documents are pure functions of the public URLs.
"""

from __future__ import annotations

from typing import Any

SCOPES = ("mcp",)
WELL_KNOWN_AS = "/.well-known/oauth-authorization-server"
WELL_KNOWN_PR = "/.well-known/oauth-protected-resource"


def authorization_server_metadata(issuer: str) -> dict[str, Any]:
    """RFC 8414 §2. PKCE S256 only, public clients allowed (native MCP clients)."""
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth2/authorize",
        "token_endpoint": f"{issuer}/oauth2/token",
        "registration_endpoint": f"{issuer}/oauth2/register",
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": [
            "none", "client_secret_post", "client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "service_documentation": f"{issuer}/dashboard/",
    }


def protected_resource_metadata(resource: str, issuer: str) -> dict[str, Any]:
    """RFC 9728 §2 for the MCP endpoint: tokens must come from `issuer`."""
    return {
        "resource": resource,
        "authorization_servers": [issuer],
        "scopes_supported": list(SCOPES),
        "bearer_methods_supported": ["header"],
        "resource_name": "Pierre MCP server",
    }


def www_authenticate(resource_metadata_url: str, *, error: str | None = None) -> str:
    """The `WWW-Authenticate` value of a 401 from the MCP resource (RFC 9728 §5.1)."""
    value = f'Bearer realm="pierre", resource_metadata="{resource_metadata_url}"'
    if error:
        value += f', error="{error}"'
    return value


def normalize_resource(value: str) -> str:
    """Compare resource indicators without a trailing slash or a fragment (RFC 8707 §2)."""
    return value.split("#", 1)[0].rstrip("/")
