"""The provider manager: connections, OAuth, token refresh, caching and quotas.

`services.providers` is a :class:`ProviderManager`. Tools ask it for a
:class:`ProviderClient` bound to one user and one provider; the client
refreshes tokens before they expire (one refresh in flight per user across
instances), caches normalized results per tenant+user, and turns a refresh
token that stopped working into ``ReauthorizationRequired``.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import msgspec
import orjson
import structlog

from pierre.auth.principal import Principal
from pierre.config.schema import Config, ProviderConfig
from pierre.errors import (
    InvalidArguments,
    NotFound,
    PierreError,
    ProviderError,
    ReauthorizationRequired,
    ServiceUnavailable,
)
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
from pierre.ops.metrics import outcome as call_outcome
from pierre.plugins.base import PluginContext
from pierre.plugins.provider import CallContext, OAuthApp, Provider, TokenSet, UserRef
from pierre.providers import oauth
from pierre.providers.resilience import HttpApi, TokenRejected
from pierre.providers.store import DbProviderStore, MemoryProviderStore

log = structlog.get_logger("pierre.providers")
T = TypeVar("T")

GROUP = "pierre.providers"
# Providers that are always offered even without a `[providers.<name>]` section.
BUILTIN = ("synthetic", "localfiles")
# Refresh this long before expiry so a call never starts with a token about to lapse.
REFRESH_MARGIN_S = 120.0
REFRESH_LOCK_TTL_S = 30.0
STATUS_CONNECTED = "connected"
STATUS_REAUTH = "reauth_required"
# Response headers seen by the provider's HttpApi during the current call, so the
# client records them against the right app id (the HttpApi is shared by all users).
_SEEN_HEADERS: contextvars.ContextVar[list[Mapping[str, str]] | None] = contextvars.ContextVar(
    "pierre_provider_headers", default=None)


def _collect_headers(headers: Mapping[str, str]) -> None:
    seen = _SEEN_HEADERS.get()
    if seen is not None:
        seen.append(headers)


def quota_app_id(p: Provider, app: OAuthApp | None, user: UserRef) -> str | None:
    """Whose upstream budget a call spends: the OAuth app's (Strava), or the app's per
    user (`quota_per_user`, Fitbit's 150/hour per user). None: nothing to track."""
    if app is None:
        return None
    if getattr(p, "quota_per_user", False):
        return f"{app.client_id}:{user.tenant_id}:{user.user_id}"
    return app.client_id


def _options(pcfg: ProviderConfig) -> dict[str, Any]:
    opts = {k: v for k, v in dataclasses.asdict(pcfg).items() if k != "extra"}
    opts.update(pcfg.extra)
    return opts


def _ts(dt: datetime | None) -> float | None:
    return dt.timestamp() if dt is not None else None


class ProviderManager:
    """Builds the configured provider plugins and owns every user's connections."""

    def __init__(self, services: Any) -> None:
        self.services = services
        self.providers: dict[str, Provider] = {}
        self.errors: dict[str, str] = {}
        self._memory_store = MemoryProviderStore()
        self._local_refresh: dict[tuple[str, str, str], asyncio.Lock] = {}

    # -- lifecycle ------------------------------------------------------------------
    async def start(self) -> None:
        await self._build(self.services.config)

    async def close(self) -> None:
        for p in self.providers.values():
            try:
                await p.close()
            except Exception as exc:  # closing one must not stop the others
                log.warning("provider_close_failed", provider=p.name, error=repr(exc))
        self.providers = {}

    async def reload(self, config: Config) -> None:
        """Rebuild providers from new settings; the old ones close after the swap."""
        old = self.providers
        self.providers = {}
        await self._build(config)
        for p in old.values():
            try:
                await p.close()
            except Exception as exc:
                log.warning("provider_close_failed", provider=p.name, error=repr(exc))

    async def _build(self, config: Config) -> None:
        wanted: dict[str, ProviderConfig] = {n: ProviderConfig() for n in BUILTIN}
        wanted.update(config.providers)
        data_dir = config.resolve_path(config.server.data_dir)
        ctx = PluginContext(config=config, data_dir=data_dir,
                            extras={"services": self.services})
        self.errors = {}
        for name, pcfg in wanted.items():
            if not pcfg.enabled:
                continue
            try:
                cls = self.services.plugins.get(GROUP, name)
                provider = cls.from_config(_options(pcfg), ctx)
                await provider.start()
                api = getattr(provider, "api", None)
                if isinstance(api, HttpApi) and api.on_headers is None:
                    api.on_headers = _collect_headers
            except PierreError as exc:
                self.errors[name] = exc.message
                log.warning("provider_unavailable", provider=name, error=exc.message)
                continue
            except Exception as exc:  # one broken provider must not take the daemon down
                self.errors[name] = f"{type(exc).__name__}: {exc}"
                log.warning("provider_start_failed", provider=name, error=self.errors[name])
                continue
            self.providers[name] = provider

    # -- lookup ---------------------------------------------------------------------
    def available(self) -> list[str]:
        return sorted(n for n in self.providers if n != "weather")

    def get(self, name: str) -> Provider:
        p = self.providers.get(name)
        if p is None:
            known = ", ".join(self.available()) or "none"
            why = f" ({self.errors[name]})" if name in self.errors else ""
            raise NotFound(f"provider '{name}' is not available on this server{why}; "
                           f"available: {known}", details={"field": "provider"})
        return p

    @property
    def store(self) -> Any:
        db = self.services.db
        if db is not None and hasattr(db, "upsert_activities"):
            return DbProviderStore(db)
        return self._memory_store

    def _db(self) -> Any:
        if self.services.db is None:
            raise ServiceUnavailable("the database is not available")
        return self.services.db

    # -- crypto ---------------------------------------------------------------------
    def _encrypt(self, value: str | None, user: UserRef, column: str) -> bytes | None:
        if value is None:
            return None
        crypto = self.services.crypto
        if crypto is None:
            raise ServiceUnavailable("token encryption is not configured on this server")
        out: bytes = crypto.encrypt(value.encode(), tenant_id=user.tenant_id,
                                    user_id=user.user_id, table="user_tokens", column=column)
        return out

    def _decrypt(self, value: bytes | None, user: UserRef, column: str) -> str | None:
        if value is None:
            return None
        crypto = self.services.crypto
        if crypto is None:
            raise ServiceUnavailable("token encryption is not configured on this server")
        plain = crypto.decrypt(value, tenant_id=user.tenant_id, user_id=user.user_id,
                               table="user_tokens", column=column)
        return plain.decode() if isinstance(plain, bytes | bytearray) else str(plain)

    # -- OAuth apps -----------------------------------------------------------------
    async def oauth_app(self, tenant_id: str, name: str) -> OAuthApp:
        """The tenant's own app for this provider (ADR-005), else the server's."""
        p = self.get(name)
        pcfg = self.services.config.providers.get(name, ProviderConfig())
        opts = _options(pcfg)
        client_id, secret, scopes = pcfg.client_id, pcfg.client_secret, pcfg.scopes
        if pcfg.client_secret_file and not secret:
            path = self.services.config.resolve_path(pcfg.client_secret_file)
            with open(path, encoding="utf-8") as fh:
                secret = fh.read().strip()
        db = self.services.db
        if db is not None and hasattr(db, "get_oauth_app"):
            rec = await db.get_oauth_app(tenant_id, name)
            if rec is not None:
                client_id = rec.client_id
                crypto = self.services.crypto
                if crypto is not None:
                    raw = crypto.decrypt(rec.client_secret_enc, tenant_id=tenant_id, user_id="",
                                         table="oauth_configs", column="client_secret_enc")
                    secret = raw.decode() if isinstance(raw, bytes | bytearray) else str(raw)
                scopes = rec.scopes or scopes
        if not client_id:
            raise ServiceUnavailable(
                f"{p.display_name} is not configured on this server (no client_id); "
                f"an administrator must set [providers.{name}] client_id and client_secret")
        defaults = getattr(p, "default_urls", {})
        return OAuthApp(
            client_id=client_id, client_secret=secret,
            auth_url=pcfg.auth_url or defaults.get("auth_url", ""),
            token_url=pcfg.token_url or defaults.get("token_url", ""),
            api_base_url=pcfg.api_base_url or defaults.get("api_base_url", ""),
            scopes=tuple(scopes or p.default_scopes), extra=opts,
        )

    # -- connections ----------------------------------------------------------------
    async def connect(self, principal: Principal, provider: str, *,
                      redirect_uri: str | None = None) -> dict[str, Any]:
        p = self.get(provider)
        user = UserRef(principal.tenant_id, principal.user_id)
        if not p.uses_oauth:
            await self._save(user, p.name, None, status=STATUS_CONNECTED)
            await self._invalidate(user, p.name)
            log.info("provider_connected", provider=p.name)
            return {"provider": p.name, "status": "connected"}
        app = await self.oauth_app(principal.tenant_id, provider)
        if self.services.cache is None:
            raise ServiceUnavailable("the session store is not available")
        state = oauth.new_state()
        verifier = oauth.new_verifier() if p.pkce else None
        redirect = redirect_uri or (
            f"{self.services.public_http_url()}/oauth/{p.name}/callback")
        record = {"tenant_id": user.tenant_id, "user_id": user.user_id, "provider": p.name,
                  "verifier": verifier, "redirect_uri": redirect}
        await self.services.cache.set(f"oauth:state:{state}", orjson.dumps(record),
                                      oauth.STATE_TTL_S)
        url = p.authorization_url(app, redirect_uri=redirect, state=state,
                                  code_challenge=oauth.challenge_s256(verifier)
                                  if verifier else None)
        return {"provider": p.name, "status": "authorization_required",
                "authorization_url": url, "expires_in_s": oauth.STATE_TTL_S}

    async def complete_authorization(self, provider: str, params: dict[str, str]
                                     ) -> dict[str, Any]:
        """The OAuth callback: check state, exchange the code, check scopes, store tokens.

        Returns {"provider", "tenant_id", "user_id", "scopes"}; raises a PierreError whose
        message the callback page shows.
        """
        p = self.get(provider)
        state = params.get("state") or ""
        record_raw = (await self.services.cache.pop(f"oauth:state:{state}")
                      if state and self.services.cache is not None else None)
        if params.get("error"):
            reason = params.get("error_description") or params["error"]
            raise InvalidArguments(f"{p.display_name} did not authorize the connection: "
                                   f"{reason}", field="error")
        if record_raw is None:
            raise InvalidArguments("this authorization link has expired or was already used; "
                                   "start connecting again", field="state")
        record = orjson.loads(record_raw)
        if record["provider"] != p.name:
            raise InvalidArguments("the authorization state belongs to another provider",
                                   field="state")
        code = params.get("code")
        if not code:
            raise InvalidArguments("the provider sent no authorization code", field="code")
        user = UserRef(record["tenant_id"], record["user_id"])
        app = await self.oauth_app(user.tenant_id, p.name)
        tokens = await p.exchange_code(app, code=code, redirect_uri=record["redirect_uri"],
                                       code_verifier=record.get("verifier"), params=params)
        missing = p.missing_scopes(tokens.scopes)
        if missing:
            try:
                await p.revoke(app, tokens)
            except PierreError:
                pass
            raise InvalidArguments(
                f"{p.display_name} did not grant the permission(s) Pierre needs: "
                f"{', '.join(missing)}. Connect again and leave them ticked.", field="scope")
        await self._save(user, p.name, tokens, status=STATUS_CONNECTED)
        await self._invalidate(user, p.name)
        log.info("provider_connected", provider=p.name, tenant=user.tenant_id)
        on_connect = getattr(p, "on_connect", None)
        if on_connect is not None:  # e.g. Garmin asks for a backfill of recent data
            try:
                await on_connect(CallContext(user=user, store=self.store, token=tokens,
                                             app=app))
            except Exception as exc:  # the connection itself worked
                log.warning("provider_on_connect_failed", provider=p.name,
                            error=getattr(exc, "message", type(exc).__name__))
        return {"provider": p.name, "tenant_id": user.tenant_id, "user_id": user.user_id,
                "scopes": sorted(tokens.scopes)}

    async def _save(self, user: UserRef, provider: str, tokens: TokenSet | None, *,
                    status: str, connected_at: float | None = None) -> None:
        db = self._db()
        meta: dict[str, Any] = {"connected_at": connected_at or time.time()}
        if tokens is not None:
            meta["extra"] = tokens.extra
        await db.upsert_connection(
            user.tenant_id, user.user_id, provider,
            access_token_enc=self._encrypt(tokens.access_token if tokens else None, user,
                                           "access_token_enc"),
            refresh_token_enc=self._encrypt(tokens.refresh_token if tokens else None, user,
                                            "refresh_token_enc"),
            expires_at=(datetime.fromtimestamp(tokens.expires_at, UTC)
                        if tokens is not None and tokens.expires_at is not None else None),
            scopes=sorted(tokens.scopes) if tokens else [],
            provider_user_id=tokens.provider_user_id if tokens else None,
            status=status, meta=meta)

    def _tokens(self, rec: Any, user: UserRef) -> TokenSet | None:
        access = self._decrypt(rec.access_token_enc, user, "access_token_enc")
        if access is None:
            return None
        return TokenSet(access_token=access,
                        refresh_token=self._decrypt(rec.refresh_token_enc, user,
                                                    "refresh_token_enc"),
                        expires_at=_ts(rec.expires_at), scopes=frozenset(rec.scopes or ()),
                        provider_user_id=rec.provider_user_id,
                        extra=dict((rec.meta or {}).get("extra") or {}))

    async def disconnect(self, principal: Principal, provider: str) -> dict[str, Any]:
        user = UserRef(principal.tenant_id, principal.user_id)
        db = self._db()
        rec = await db.get_connection(user.tenant_id, user.user_id, provider)
        if rec is None:
            raise NotFound(f"{provider} is not connected")
        p = self.providers.get(provider)
        revoked = False
        if p is not None:
            ctx = CallContext(user=user, store=self.store)
            try:
                tokens = self._tokens(rec, user)
                app = await self.oauth_app(user.tenant_id, provider) if p.uses_oauth else None
                if tokens is not None:
                    await p.revoke(app, tokens)
                    revoked = True
                ctx.token, ctx.app = tokens, app
                await p.on_disconnect(ctx)
            except PierreError as exc:  # the local disconnect must happen anyway
                log.warning("provider_revoke_failed", provider=provider, error=exc.message)
        await db.delete_connection(user.tenant_id, user.user_id, provider)
        await self._invalidate(user, provider)
        log.info("provider_disconnected", provider=provider)
        return {"provider": provider, "status": "disconnected", "revoked_upstream": revoked}

    async def status(self, principal: Principal) -> list[dict[str, Any]]:
        db = self._db()
        recs = {r.provider: r for r in await db.list_connections(principal.tenant_id,
                                                                 principal.user_id)}
        default = self._default_of(list(recs.values()))
        out = []
        for name in self.available():
            p = self.providers[name]
            rec = recs.get(name)
            out.append({
                "provider": name,
                "display_name": p.display_name,
                "oauth": p.uses_oauth,
                "capabilities": sorted(p.capabilities),
                "connected": rec is not None,
                "needs_reauthorization": rec is not None and rec.status == STATUS_REAUTH,
                "status": rec.status if rec is not None else "not_connected",
                "scopes": list(rec.scopes) if rec is not None else [],
                "expires_at": rec.expires_at.isoformat() if rec and rec.expires_at else None,
                "default": name == default,
            })
        return out

    @staticmethod
    def _default_of(recs: list[Any]) -> str | None:
        if not recs:
            return None
        best = max(recs, key=lambda r: float((r.meta or {}).get("connected_at")
                                             or _ts(r.created_at) or 0.0))
        return str(best.provider)

    async def client(self, principal: Principal, provider: str | None = None) -> ProviderClient:
        """The user's connection to `provider` (None: the most recently connected one)."""
        db = self._db()
        if provider is None:
            recs = [r for r in await db.list_connections(principal.tenant_id, principal.user_id)
                    if r.provider in self.providers]
            provider = self._default_of(recs)
            if provider is None:
                raise NotFound("no provider connected; use connect_provider with one of: "
                               + ", ".join(self.available()))
        p = self.get(provider)
        rec = await db.get_connection(principal.tenant_id, principal.user_id, provider)
        if rec is None:
            raise NotFound(f"{p.display_name} is not connected; use connect_provider "
                           f"with provider '{provider}'")
        if rec.status == STATUS_REAUTH:
            raise ReauthorizationRequired(
                f"{p.display_name} needs to be reconnected: its authorization stopped "
                f"working; use connect_provider with provider '{provider}'", provider=provider)
        return ProviderClient(self, principal, p)

    # -- cache ----------------------------------------------------------------------
    @staticmethod
    def cache_prefix(user: UserRef, provider: str) -> str:
        return f"t:{user.tenant_id}:u:{user.user_id}:p:{provider}:"

    async def _invalidate(self, user: UserRef, provider: str) -> None:
        cache = self.services.cache
        if cache is not None:
            await cache.delete_prefix(self.cache_prefix(user, provider))

    # -- tokens ---------------------------------------------------------------------
    async def call_context(self, user: UserRef, p: Provider, *, force_refresh: bool = False
                           ) -> CallContext:
        ctx = CallContext(user=user, store=self.store)
        if not p.uses_oauth:
            return ctx
        db = self._db()
        rec = await db.get_connection(user.tenant_id, user.user_id, p.name)
        if rec is None:
            raise NotFound(f"{p.display_name} is not connected")
        if rec.status == STATUS_REAUTH:
            raise self._reauth(p)
        tokens = self._tokens(rec, user)
        ctx.app = await self.oauth_app(user.tenant_id, p.name)
        if tokens is not None and (force_refresh or tokens.expires_within(REFRESH_MARGIN_S,
                                                                           time.time())):
            tokens = await self._refresh(user, p, ctx.app, tokens, force=force_refresh)
        ctx.token = tokens
        return ctx

    def _reauth(self, p: Provider) -> ReauthorizationRequired:
        return ReauthorizationRequired(
            f"{p.display_name} needs to be reconnected: the stored authorization was revoked "
            f"or expired; use connect_provider with provider '{p.name}'", provider=p.name)

    async def _refresh(self, user: UserRef, p: Provider, app: OAuthApp, tokens: TokenSet,
                       *, force: bool) -> TokenSet:
        """One refresh in flight per user and provider, across instances (shared lock)."""
        key = (user.tenant_id, user.user_id, p.name)
        local = self._local_refresh.setdefault(key, asyncio.Lock())
        async with local:
            limiter = self.services.ratelimiter
            lock_key = f"lock:provider-refresh:{user.tenant_id}:{user.user_id}:{p.name}"
            lock_token: str | None = None
            deadline = time.monotonic() + REFRESH_LOCK_TTL_S
            if limiter is not None:
                while (lock_token := await limiter.acquire_lock(lock_key,
                                                                REFRESH_LOCK_TTL_S)) is None:
                    if time.monotonic() > deadline:
                        raise ProviderError(f"{p.display_name} token refresh is taking too "
                                            "long; try again", provider=p.name)
                    await asyncio.sleep(0.1)
            try:
                # Another instance (or task) may have refreshed while we waited.
                rec = await self._db().get_connection(user.tenant_id, user.user_id, p.name)
                if rec is None:
                    raise NotFound(f"{p.display_name} is not connected")
                if rec.status == STATUS_REAUTH:
                    raise self._reauth(p)
                current = self._tokens(rec, user) or tokens
                fresh_enough = not current.expires_within(REFRESH_MARGIN_S, time.time())
                if fresh_enough and (not force or current.access_token != tokens.access_token):
                    return current
                if not current.refresh_token:
                    await self._mark_reauth(user, p.name)
                    raise self._reauth(p)
                try:
                    new = await self._counted_refresh(p, app, current)
                except (ReauthorizationRequired, TokenRejected):
                    await self._mark_reauth(user, p.name)
                    raise self._reauth(p) from None
                if new.refresh_token is None:
                    new.refresh_token = current.refresh_token
                if not new.scopes:
                    new.scopes = current.scopes
                new.provider_user_id = new.provider_user_id or current.provider_user_id
                new.extra = {**current.extra, **new.extra}
                connected_at = (rec.meta or {}).get("connected_at")
                await self._save(user, p.name, new, status=STATUS_CONNECTED,
                                 connected_at=connected_at)
                log.info("provider_token_refreshed", provider=p.name)
                return new
            finally:
                if limiter is not None and lock_token is not None:
                    await limiter.release_lock(lock_key, lock_token)

    async def _counted_refresh(self, p: Provider, app: OAuthApp, tokens: TokenSet) -> TokenSet:
        failure: BaseException | None = None
        try:
            return await p.refresh(app, tokens)
        except BaseException as exc:
            failure = exc
            raise
        finally:
            if (metrics := self.services.metrics) is not None:
                metrics.token_refreshes.labels(p.name, call_outcome(failure)).inc()

    async def _mark_reauth(self, user: UserRef, provider: str) -> None:
        await self._db().set_connection_status(user.tenant_id, user.user_id, provider,
                                               STATUS_REAUTH)
        await self._invalidate(user, provider)
        log.warning("provider_reauthorization_required", provider=provider)
        if self.services.security is not None:
            await self.services.security.emit("provider_token_revoked", tenant_id=user.tenant_id,
                                              user_id=user.user_id, details={"provider": provider})

    # -- weather ----------------------------------------------------------------------
    async def weather(self, lat: float, lon: float, when: datetime) -> dict[str, Any] | None:
        """Conditions at a place and time, or None when no weather provider is configured."""
        p = self.providers.get("weather")
        fn = getattr(p, "conditions", None)
        if fn is None:
            return None
        cache = self.services.cache
        key = f"weather:{round(lat, 2)}:{round(lon, 2)}:{int(when.timestamp()) // 3600}"
        if cache is not None and (hit := await cache.get(key)) is not None:
            return orjson.loads(hit)
        result: dict[str, Any] | None = await fn(lat, lon, when)
        if cache is not None and result is not None:
            await cache.set(key, orjson.dumps(result), 30 * 86_400)
        return result


class ProviderClient:
    """One user's access to one provider; results are normalized pierre.models."""

    __slots__ = ("_manager", "_principal", "_provider", "_user", "capabilities", "name")

    def __init__(self, manager: ProviderManager, principal: Principal, provider: Provider):
        self._manager = manager
        self._principal = principal
        self._provider = provider
        self._user = UserRef(principal.tenant_id, principal.user_id)
        self.name = provider.name
        self.capabilities: frozenset[str] = provider.capabilities

    @property
    def provider(self) -> str:
        return self.name

    def _need(self, capability: str, what: str) -> None:
        if capability not in self.capabilities:
            raise ProviderError(f"{self._provider.display_name} does not offer {what}",
                                provider=self.name, status=None)

    async def _cached(self, key: str, ttl: float, typ: type[T] | Any,
                      fetch: Callable[[CallContext], Awaitable[T]]) -> T:
        m = self._manager
        cache = m.services.cache
        full = m.cache_prefix(self._user, self.name) + key
        if cache is not None and ttl > 0:
            hit = await cache.get(full)
            if (metrics := m.services.metrics) is not None:
                metrics.cache_lookups.labels("miss" if hit is None else "hit").inc()
            if hit is not None:
                try:
                    return msgspec.json.decode(hit, type=typ)
                except msgspec.ValidationError:
                    await cache.delete(full)
        ctx = await m.call_context(self._user, self._provider)
        app_id = quota_app_id(self._provider, ctx.app, self._user)
        await self._budget(app_id)
        try:
            result = await self._recorded(app_id, fetch, ctx)
        except TokenRejected:
            # The token died before its stated expiry: refresh once and try again.
            ctx = await m.call_context(self._user, self._provider, force_refresh=True)
            try:
                result = await self._recorded(app_id, fetch, ctx)
            except TokenRejected:
                await m._mark_reauth(self._user, self.name)
                raise m._reauth(self._provider) from None
        if cache is not None and ttl > 0:
            await cache.set(full, msgspec.json.encode(result), ttl)
        return result

    async def _budget(self, app_id: str | None) -> None:
        """Refuse before calling upstream when any instance saw the app's window spent."""
        limits = self._manager.services.limits
        check = getattr(limits, "provider_check", None)
        if check is not None and app_id is not None:
            await check(self.name, app_id)

    async def _recorded(self, app_id: str | None, fetch: Callable[[CallContext], Awaitable[T]],
                        ctx: CallContext) -> T:
        """Run `fetch`, then share the provider's last rate-limit headers (429s too)."""
        seen: list[Mapping[str, str]] = []
        reset = _SEEN_HEADERS.set(seen)
        failure: BaseException | None = None
        try:
            return await fetch(ctx)
        except BaseException as exc:
            failure = exc
            raise
        finally:
            _SEEN_HEADERS.reset(reset)
            if (metrics := self._manager.services.metrics) is not None:
                metrics.provider_calls.labels(self.name, call_outcome(failure)).inc()
            limits = self._manager.services.limits
            record = getattr(limits, "provider_record", None)
            if seen and app_id is not None and record is not None:
                await record(self.name, app_id, seen[-1])

    def _ttl(self, name: str) -> float:
        return float(getattr(self._manager.services.config.cache, name))

    async def athlete(self) -> Athlete:
        self._need("athlete", "an athlete profile")
        return await self._cached("athlete", self._ttl("ttl_athlete_s"), Athlete,
                                  self._provider.athlete)

    async def activities(self, query: ActivityQuery | None = None) -> list[ActivitySummary]:
        self._need("activities", "activities")
        q = query or ActivityQuery()
        if q.limit < 1 or q.offset < 0:
            raise InvalidArguments("limit must be >= 1 and offset >= 0", field="limit")
        key = ("activities:" + msgspec.json.encode(q).decode())
        return await self._cached(key, self._ttl("ttl_activity_list_s"),
                                  list[ActivitySummary],
                                  lambda ctx: self._provider.activities(ctx, q))

    async def activity(self, activity_id: str, *, streams: bool = False,
                       laps: bool = False) -> ActivityDetail:
        self._need("activity", "activity details")
        if streams:
            self._need("streams", "activity streams")
        if laps:
            self._need("laps", "laps")
        key = f"activity:{activity_id}:{int(streams)}{int(laps)}"
        return await self._cached(
            key, self._ttl("ttl_activity_s"), ActivityDetail,
            lambda ctx: self._provider.activity(ctx, activity_id, streams=streams, laps=laps))

    async def stats(self) -> Stats:
        self._need("stats", "statistics")
        return await self._cached("stats", self._ttl("ttl_stats_s"), Stats,
                                  self._provider.stats)

    async def zones(self) -> Zones:
        self._need("zones", "training zones")
        return await self._cached("zones", self._ttl("ttl_athlete_s"), Zones,
                                  self._provider.zones)

    async def sleep(self, start: date, end: date) -> list[SleepSession]:
        self._need("sleep", "sleep data")
        return await self._cached(f"sleep:{start}:{end}", self._ttl("ttl_stats_s"),
                                  list[SleepSession],
                                  lambda ctx: self._provider.sleep(ctx, start, end))

    async def daily_heart(self, start: date, end: date) -> list[DailyHeart]:
        self._need("daily_heart", "daily heart rate data")
        return await self._cached(f"heart:{start}:{end}", self._ttl("ttl_stats_s"),
                                  list[DailyHeart],
                                  lambda ctx: self._provider.daily_heart(ctx, start, end))

    async def import_files(self, files: list[tuple[str, bytes]]) -> dict[str, Any]:
        """Local files only: parse and store uploaded GPX/TCX/FIT files."""
        self._need("import", "file import")
        fn = getattr(self._provider, "import_files", None)
        if fn is None:
            raise self._provider._unsupported("file import")
        ctx = await self._manager.call_context(self._user, self._provider)
        result: dict[str, Any] = await fn(ctx, files)
        await self._manager._invalidate(self._user, self.name)
        return result
