"""Who is calling: the result of authentication, carried down every call path."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

Role = Literal["user", "tenant_admin", "admin"]
AuthMethod = Literal["jwt", "api_key", "a2a_client", "oauth"]


@dataclass(frozen=True, slots=True)
class Principal:
    tenant_id: str
    user_id: str
    role: Role = "user"
    tier: str = "starter"
    method: AuthMethod = "jwt"
    # The API key id or A2A client id when authenticated by one (rate-limit key).
    credential_id: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    email: str | None = None
    # When the session's credential was issued (JWT `iat`): a forced re-authentication
    # refuses tokens issued before it.
    issued_at: float | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_tenant_admin(self) -> bool:
        return self.role in ("tenant_admin", "admin")

    @property
    def limit_key(self) -> str:
        """The rate-limit bucket for this credential, namespaced by tenant."""
        cred = self.credential_id or f"user:{self.user_id}"
        return f"t:{self.tenant_id}:c:{cred}"


class Authenticator(Protocol):
    """The single authentication path shared by MCP, A2A and REST."""

    async def authenticate(
        self, token: str, *, transport: str, ip: str | None = None,
        user_agent: str | None = None,
    ) -> Principal:
        """Validate a bearer value (JWT or API key); raise AuthError otherwise."""
        ...
