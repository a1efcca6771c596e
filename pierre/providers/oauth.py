"""Pure OAuth 2.0 helpers: state values, PKCE (RFC 7636) and URL building."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import urlencode

STATE_TTL_S = 600  # ten minutes to click through a consent page


def new_state() -> str:
    return secrets.token_urlsafe(24)


def new_verifier() -> str:
    """43-128 characters from the unreserved set (RFC 7636 §4.1)."""
    return secrets.token_urlsafe(48)


def challenge_s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def with_query(url: str, params: dict[str, str]) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}{urlencode(params)}"


def basic_auth(client_id: str, secret: str) -> str:
    raw = f"{client_id}:{secret}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")
