"""One error vocabulary for every layer below the transports.

Each transport maps these to its own wire shape in exactly one place
(JSON-RPC codes for MCP, HTTP statuses for REST, A2A error objects). Messages
are written for the person who reads them; they never carry a traceback, SQL
or a secret.
"""

from __future__ import annotations

from typing import Any


class PierreError(Exception):
    """Base class: `message` is safe to show to a client."""

    http_status = 500
    code = "internal_error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class ConfigError(PierreError):
    """Configuration is invalid; `problems` lists every error with its key path."""

    code = "config_error"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems) if problems else "invalid configuration")
        self.problems = problems


class PluginError(PierreError):
    """A plugin cannot be loaded, is not installed, or speaks another API version."""

    code = "plugin_error"


class AuthError(PierreError):
    """Missing, malformed, expired or revoked credentials (HTTP 401)."""

    http_status = 401
    code = "unauthorized"


class Forbidden(PierreError):
    """Authenticated, but not allowed to do this (HTTP 403)."""

    http_status = 403
    code = "forbidden"


class NotFound(PierreError):
    """The thing does not exist, or belongs to another tenant (HTTP 404).

    Cross-tenant reads raise this rather than Forbidden so that ids of other
    tenants cannot be probed.
    """

    http_status = 404
    code = "not_found"


class Conflict(PierreError):
    http_status = 409
    code = "conflict"


class InvalidArguments(PierreError):
    """Input failed validation; `field` names the offending argument when known."""

    http_status = 400
    code = "invalid_arguments"

    def __init__(self, message: str, *, field: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.field = field
        if field is not None:
            self.details.setdefault("field", field)


class RateLimited(PierreError):
    """Over a limit; `retry_after` seconds until a retry can succeed."""

    http_status = 429
    code = "rate_limited"

    def __init__(
        self,
        message: str,
        *,
        retry_after: float,
        limit: int | None = None,
        scope: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)
        self.retry_after = max(0.0, retry_after)
        self.limit = limit
        self.scope = scope
        self.details.setdefault("retry_after_s", round(self.retry_after, 3))


class ProviderError(PierreError):
    """An upstream fitness provider failed (HTTP 502 unless more specific)."""

    http_status = 502
    code = "provider_error"

    def __init__(
        self, message: str, *, provider: str, status: int | None = None, **kw: Any
    ) -> None:
        super().__init__(message, **kw)
        self.provider = provider
        self.status = status
        self.details.setdefault("provider", provider)


class ProviderQuotaExhausted(RateLimited):
    """The provider app's own budget is spent; no call is made until it resets."""

    code = "provider_quota_exhausted"


class ReauthorizationRequired(ProviderError):
    """The provider refresh token stopped working: the user must connect again."""

    http_status = 409
    code = "reauthorization_required"


class ServiceUnavailable(PierreError):
    http_status = 503
    code = "unavailable"
