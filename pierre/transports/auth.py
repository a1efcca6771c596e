"""Bearer-token extraction and authentication shared by the MCP transports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pierre.errors import AuthError, ServiceUnavailable

if TYPE_CHECKING:
    from pierre.auth.principal import Principal
    from pierre.services import Services


def bearer(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (scheme case-insensitive)."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def www_authenticate(services: Services) -> str:
    """RFC 9728: point OAuth clients at the resource metadata when the AS is running."""
    oauth2 = services.extras.get("oauth2")
    return oauth2.www_authenticate() if oauth2 is not None else 'Bearer realm="pierre"'


async def authenticate(services: Services, token: str | None, *, ip: str | None,
                       user_agent: str | None) -> Principal:
    if not token:
        raise AuthError("Missing credentials: send Authorization: Bearer <API key or token>")
    oauth2 = services.extras.get("oauth2")
    if oauth2 is not None:
        from pierre.oauth2.tokens import is_access_token

        if is_access_token(token):  # audience-bound MCP OAuth token (pierre.oauth2)
            return await oauth2.authenticate(token)
    if services.authenticator is None:
        raise ServiceUnavailable("Authentication is not available on this server")
    return await services.authenticator.authenticate(token, transport="mcp", ip=ip,
                                                     user_agent=user_agent)
