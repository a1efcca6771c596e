"""The `pierre.providers` contract: one fitness data source behind normalized models.

A provider plugin is a class registered under the `pierre.providers` entry-point
group. The :class:`pierre.providers.manager.ProviderManager` builds one instance
per configured provider (``from_config``), owns tokens, caching, quotas and
the OAuth dance, and hands the plugin a :class:`CallContext` for every call.
Plugins therefore stay small: build URLs, parse the provider's JSON into
:mod:`pierre.models`, and say what the provider's rate-limit headers mean.

Optional behaviour has defaults on :class:`Provider` so older plugins keep
working when the contract grows (API_VERSION minor bumps).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from pierre.errors import InvalidArguments, ProviderError, ReauthorizationRequired
from pierre.models import (
    ActivityDetail,
    ActivityQuery,
    ActivitySummary,
    Athlete,
    DailyHeart,
    SleepSession,
    Stats,
    Zones,
)

if TYPE_CHECKING:
    from pierre.plugins.base import PluginContext

API_VERSION = "1.0"

# The data kinds a provider may offer; `ProviderClient` refuses the others up front.
CAPABILITIES = frozenset(
    {"athlete", "activities", "activity", "streams", "laps", "stats", "zones", "sleep",
     "daily_heart", "weather", "import"}
)


@dataclass(frozen=True, slots=True)
class OAuthApp:
    """The OAuth client a tenant (or the server, as fallback) registered with a provider."""

    client_id: str
    client_secret: str | None
    auth_url: str
    token_url: str
    api_base_url: str
    scopes: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class TokenSet:
    """What a code exchange or refresh returned; stored encrypted by the manager."""

    access_token: str
    refresh_token: str | None = None
    expires_at: float | None = None  # epoch seconds; None = does not expire
    scopes: frozenset[str] = frozenset()
    provider_user_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def expires_within(self, seconds: float, now: float) -> bool:
        return self.expires_at is not None and self.expires_at - now <= seconds

    def to_dict(self) -> dict[str, Any]:
        return {"access_token": self.access_token, "refresh_token": self.refresh_token,
                "expires_at": self.expires_at, "scopes": sorted(self.scopes),
                "provider_user_id": self.provider_user_id, "extra": self.extra}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TokenSet:
        return cls(access_token=d["access_token"], refresh_token=d.get("refresh_token"),
                   expires_at=d.get("expires_at"), scopes=frozenset(d.get("scopes") or ()),
                   provider_user_id=d.get("provider_user_id"), extra=dict(d.get("extra") or {}))


@dataclass(frozen=True, slots=True)
class UserRef:
    tenant_id: str
    user_id: str


@runtime_checkable
class ProviderStore(Protocol):
    """Per-user storage for providers whose data is delivered or imported, not fetched
    (local files, Garmin push). Activity ids are unique per (user, provider): putting
    the same id again replaces it and is not counted as new."""

    async def put_activity(self, user: UserRef, provider: str, activity: ActivityDetail,
                           *, fingerprint: str | None = None) -> bool:
        """Store; return False when it was already there (same id or same fingerprint)."""
        ...

    async def list_activities(self, user: UserRef, provider: str,
                              query: ActivityQuery) -> list[ActivitySummary]:
        """Newest first, filtered by before/after/sport_type, then offset/limit."""
        ...

    async def get_activity(self, user: UserRef, provider: str,
                           activity_id: str) -> ActivityDetail | None: ...

    async def put_daily(self, user: UserRef, provider: str, kind: str, day: date,
                        payload: dict[str, Any]) -> None:
        """One record per (kind, day): 'sleep', 'heart', ... Replaces the earlier one."""
        ...

    async def list_daily(self, user: UserRef, provider: str, kind: str, start: date,
                         end: date) -> list[dict[str, Any]]:
        """Records with start <= day <= end, oldest first."""
        ...

    async def delete_all(self, user: UserRef, provider: str) -> None: ...


@dataclass(slots=True)
class CallContext:
    """Everything a provider needs for one call for one user."""

    user: UserRef
    store: ProviderStore
    token: TokenSet | None = None
    app: OAuthApp | None = None

    @property
    def access_token(self) -> str:
        if self.token is None:
            raise ProviderError("not connected", provider="?", status=None)
        return self.token.access_token


class Provider:
    """Base class for provider plugins: every data method defaults to "not offered".

    Errors a plugin raises: `ProviderError` (upstream failure), `RateLimited` /
    `ProviderQuotaExhausted` with `retry_after` (never retried in the same call),
    `ReauthorizationRequired` (token or refresh token rejected), `NotFound`.
    """

    API_VERSION: ClassVar[str] = API_VERSION
    name: ClassVar[str] = "provider"
    display_name: ClassVar[str] = "Provider"
    capabilities: ClassVar[frozenset[str]] = frozenset()
    # OAuth providers need a user consent round trip; the others connect at once.
    uses_oauth: ClassVar[bool] = False
    pkce: ClassVar[bool] = False
    # Scopes without which the connection is useless (checked after consent).
    required_scopes: ClassVar[frozenset[str]] = frozenset()
    default_scopes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        self.options: dict[str, Any] = dict(options or {})

    @classmethod
    def from_config(cls, options: dict[str, Any], ctx: PluginContext) -> Provider:
        return cls(options)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def health(self) -> None:
        return None

    # -- OAuth -------------------------------------------------------------------
    def authorization_url(self, app: OAuthApp, *, redirect_uri: str, state: str,
                          code_challenge: str | None) -> str:
        raise InvalidArguments(f"{self.display_name} does not use OAuth", field="provider")

    async def exchange_code(self, app: OAuthApp, *, code: str, redirect_uri: str,
                            code_verifier: str | None, params: dict[str, str]) -> TokenSet:
        """Trade the callback's code for tokens. `params` is the callback query (Strava
        reports granted scopes there)."""
        raise InvalidArguments(f"{self.display_name} does not use OAuth", field="provider")

    async def refresh(self, app: OAuthApp, token: TokenSet) -> TokenSet:
        """New tokens; raise ReauthorizationRequired when the refresh token is refused."""
        raise ProviderError("token refresh not supported", provider=self.name)

    async def revoke(self, app: OAuthApp | None, token: TokenSet | None) -> None:
        """Best effort upstream revocation on disconnect."""
        return None

    def missing_scopes(self, granted: frozenset[str]) -> list[str]:
        return sorted(self.required_scopes - granted)

    # -- data --------------------------------------------------------------------
    def _unsupported(self, what: str) -> ProviderError:
        return ProviderError(f"{self.display_name} does not offer {what}", provider=self.name,
                             status=None)

    async def athlete(self, ctx: CallContext) -> Athlete:
        raise self._unsupported("an athlete profile")

    async def activities(self, ctx: CallContext, query: ActivityQuery) -> list[ActivitySummary]:
        raise self._unsupported("activities")

    async def activity(self, ctx: CallContext, activity_id: str, *, streams: bool = False,
                       laps: bool = False) -> ActivityDetail:
        raise self._unsupported("activity details")

    async def stats(self, ctx: CallContext) -> Stats:
        raise self._unsupported("statistics")

    async def zones(self, ctx: CallContext) -> Zones:
        raise self._unsupported("training zones")

    async def sleep(self, ctx: CallContext, start: date, end: date) -> list[SleepSession]:
        raise self._unsupported("sleep data")

    async def daily_heart(self, ctx: CallContext, start: date, end: date) -> list[DailyHeart]:
        raise self._unsupported("daily heart rate data")

    # -- delivery (push providers) ----------------------------------------------------
    async def on_disconnect(self, ctx: CallContext) -> None:
        """Called after revoke when a user disconnects (drop stored data, deregister)."""
        return None


@contextmanager
def refresh_refused_means_reconnect(provider: str, display_name: str) -> Iterator[None]:
    """Wrap a refresh-token exchange: a token endpoint answering 400/401 (OAuth
    `invalid_grant`) means the grant was revoked or expired, and only reconnecting helps."""
    try:
        yield
    except ProviderError as exc:
        if exc.status in (400, 401):
            raise ReauthorizationRequired(f"{display_name} refused the refresh token",
                                          provider=provider, status=exc.status) from None
        raise
