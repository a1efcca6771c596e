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


async def authenticate(services: Services, token: str | None, *, ip: str | None,
                       user_agent: str | None) -> Principal:
    if not token:
        raise AuthError("Missing credentials: send Authorization: Bearer <API key or token>")
    if services.authenticator is None:
        raise ServiceUnavailable("Authentication is not available on this server")
    return await services.authenticator.authenticate(token, transport="mcp", ip=ip,
                                                     user_agent=user_agent)
