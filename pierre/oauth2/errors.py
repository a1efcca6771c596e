"""OAuth error responses (RFC 6749 §4.1.2.1, §5.2; RFC 7591 §3.2.2).

OAuth endpoints answer with their own JSON shape (`error`, `error_description`),
not Pierre's error vocabulary, because clients such as Claude and Cursor parse
exactly these codes.
"""

from __future__ import annotations

from typing import Any


class OAuthError(Exception):
    """An OAuth protocol error; `redirectable` says it may be sent back to the client.

    Errors about the client or its redirect URI are never redirected (RFC 6749
    §4.1.2.1): the browser shows them instead, so an attacker cannot use Pierre
    as an open redirector.
    """

    def __init__(self, error: str, description: str, *, status: int = 400,
                 redirectable: bool = False) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.redirectable = redirectable

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.description}


def invalid_request(description: str, *, redirectable: bool = False) -> OAuthError:
    return OAuthError("invalid_request", description, redirectable=redirectable)


def invalid_client(description: str) -> OAuthError:
    return OAuthError("invalid_client", description, status=401)


def invalid_grant(description: str) -> OAuthError:
    return OAuthError("invalid_grant", description)


def invalid_client_metadata(description: str) -> OAuthError:
    return OAuthError("invalid_client_metadata", description)


def invalid_redirect_uri(description: str) -> OAuthError:
    return OAuthError("invalid_redirect_uri", description)
