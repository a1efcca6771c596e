"""Identity: the one authentication path (JWT or API key) and the account operations
the REST API and the CLI share (register, login, refresh, keys, users, tenants)."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import structlog

from pierre.auth.api_keys import TIERS, generate_api_key, hash_api_key, looks_like_api_key
from pierre.auth.audit import AuditLog
from pierre.auth.passwords import hash_password_async, verify_password_async
from pierre.auth.principal import Principal, Role
from pierre.auth.tokens import ROLES, TokenService
from pierre.config.schema import Config
from pierre.errors import AuthError, Conflict, Forbidden, InvalidArguments, NotFound, RateLimited
from pierre.plugins.database import (
    ApiKeyLookup,
    ApiKeyRecord,
    InviteRecord,
    TenantRecord,
    UserRecord,
)
from pierre.security.events import account_key

log = structlog.get_logger("pierre.auth")

# last_used_at is written at most this often per key, so auth stays a single read.
TOUCH_EVERY_S = 60.0
# A found key is re-read from the database after this long: revocation by the CLI or
# another daemon takes effect within it, and hot keys cost a dict lookup meanwhile.
KEY_CACHE_S = 1.0
_KEY_CACHE_MAX = 10_000
# Login throttling: failures per email and per client address within the window.
LOGIN_WINDOW_S = 900
LOGIN_MAX_FAILURES = 10
# Invites: a week by default, at most a quarter; the code has 192 random bits.
INVITE_DAYS = 7
INVITE_DAYS_MAX = 90
INVITE_PREFIX = "inv_"
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$")


def _uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class IssuedKey:
    key: str  # shown once
    record: ApiKeyRecord


@dataclass(frozen=True)
class IssuedInvite:
    code: str  # shown once
    record: InviteRecord


def hash_invite_code(code: str) -> str:
    """SHA-256, like API keys: the code has full entropy, nothing to brute-force."""
    return hashlib.sha256(code.encode()).hexdigest()


def plan_cap(settings: dict[str, Any]) -> str:
    """The highest key tier a tenant administrator may grant: the tenant's plan
    (`starter` when unset or not a key tier)."""
    plan = settings.get("tier")
    return plan if isinstance(plan, str) and plan in TIERS else "starter"


class IdentityService:
    """Implements :class:`pierre.auth.principal.Authenticator` and account operations."""

    def __init__(self, config: Config, db: Any, crypto: Any, audit: Any,
                 ratelimiter: Any = None, services: Any = None) -> None:
        self.config = config
        # For `services.security`, which the daemon builds after the authenticator.
        self.services = services
        self.db = db
        self.audit = audit
        self.ratelimiter = ratelimiter
        sec = config.security
        self.tokens = TokenService(db, crypto, issuer=sec.jwt_issuer, audience=sec.jwt_audience,
                                   algorithm=sec.jwt_algorithm, ttl_s=sec.access_token_ttl_s)
        self._touched: dict[str, float] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._local_failures: dict[str, list[float]] = {}
        self._keys: dict[str, tuple[float, ApiKeyLookup]] = {}

    @property
    def security(self) -> Any:
        """The security monitor, when the daemon runs one (not in the CLI)."""
        return getattr(self.services, "security", None)

    # -- authentication ----------------------------------------------------------------
    async def authenticate(self, token: str, *, transport: str, ip: str | None = None,
                           user_agent: str | None = None) -> Principal:
        token = (token or "").strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        if not token:
            raise AuthError("missing credentials: send Authorization: Bearer <JWT or API key>")
        if looks_like_api_key(token):
            principal = await self._api_key(token, ip=ip, user_agent=user_agent)
        elif token.count(".") == 2:
            principal = await self.tokens.verify(token)
        else:
            raise AuthError("unrecognized credential: expected a JWT or a pk_live_/pk_trial_ key")
        sec = self.security
        if sec is not None:
            # Locked address/account, suspended key, or a session older than a forced
            # re-authentication; lookups are cached, so this is cheap per request.
            await sec.check_allowed(ip=ip, user_id=principal.user_id,
                                    credential_id=principal.credential_id,
                                    issued_at=principal.issued_at)
            if principal.method == "api_key":
                await sec.emit("api_key_used", tenant_id=principal.tenant_id,
                               user_id=principal.user_id, ip=ip,
                               credential_id=principal.credential_id)
        return principal

    async def _api_key(self, key: str, *, ip: str | None, user_agent: str | None) -> Principal:
        digest = hash_api_key(key)
        mono = time.monotonic()
        hit = self._keys.get(digest)
        if hit is not None and hit[0] > mono:
            found = hit[1]
        else:
            found = await self.db.lookup_api_key(digest)
            if found is None:
                raise AuthError("invalid API key")
            if len(self._keys) >= _KEY_CACHE_MAX:
                self._keys.clear()
            self._keys[digest] = (mono + KEY_CACHE_S, found)
        rec = found.key
        now = datetime.now(UTC)
        if rec.revoked_at is not None:
            raise AuthError("API key revoked")
        if rec.expires_at is not None and rec.expires_at <= now:
            raise AuthError("API key expired")
        if found.user_status != "active" or found.tenant_status != "active":
            raise AuthError("account disabled")
        if mono - self._touched.get(rec.id, -TOUCH_EVERY_S) >= TOUCH_EVERY_S:
            self._touched[rec.id] = mono
            self._spawn(self._touch(rec.id, now))
        return Principal(tenant_id=rec.tenant_id, user_id=rec.user_id,
                         role=cast(Role, found.user_role), tier=rec.tier,
                         method="api_key", credential_id=rec.id, email=found.user_email)

    async def _touch(self, key_id: str, when: datetime) -> None:
        try:
            await self.db.touch_api_key(key_id, when)
        except Exception as exc:
            log.warning("api_key_touch_failed", key_id=key_id, error=type(exc).__name__)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- login throttling ----------------------------------------------------------------
    async def _failures(self, key: str) -> int:
        if self.ratelimiter is not None:
            try:
                return int(await self.ratelimiter.get_window(key))
            except Exception:
                pass
        cutoff = time.monotonic() - LOGIN_WINDOW_S
        hits = [t for t in self._local_failures.get(key, []) if t > cutoff]
        self._local_failures[key] = hits
        return len(hits)

    async def _fail(self, key: str) -> None:
        if self.ratelimiter is not None:
            try:
                await self.ratelimiter.incr_window(key, LOGIN_WINDOW_S)
                return
            except Exception:
                pass
        self._local_failures.setdefault(key, []).append(time.monotonic())

    # -- sessions: login, refresh, logout ---------------------------------------------------
    async def _session(self, user: UserRecord, *, family_id: str | None = None
                       ) -> dict[str, Any]:
        tenant = await self.db.get_tenant(user.tenant_id)
        tier = str((tenant.settings if tenant else {}).get("tier", "starter"))
        principal = Principal(tenant_id=user.tenant_id, user_id=user.id,
                              role=cast(Role, user.role), tier=tier,
                              method="jwt", email=user.email)
        access, ttl = await self.tokens.issue(principal)
        refresh = "prt_" + secrets.token_urlsafe(32)
        ttl_refresh = timedelta(seconds=self.config.security.refresh_token_ttl_s)
        await self.db.create_refresh_token(
            user.tenant_id, user.id, family_id=family_id or secrets.token_hex(16),
            token_hash=hashlib.sha256(refresh.encode()).hexdigest(),
            expires_at=datetime.now(UTC) + ttl_refresh,
        )
        return {"access_token": access, "token_type": "Bearer", "expires_in": ttl,
                "refresh_token": refresh, "user": user_view(user)}

    async def login(self, email: str, password: str, *, ip: str | None = None,
                    user_agent: str | None = None, mfa_code: str | None = None
                    ) -> dict[str, Any]:
        """Password (+ second factor when enrolled) -> access and refresh tokens.

        With the security monitor: a locked address or account is refused before the
        password is checked; failures (throttled attempts too) are `login_failed`
        events keyed by the hashed login, which the brute-force rules count."""
        email = (email or "").strip().lower()
        sec = self.security
        if sec is None:
            return await self._session(await self.check_login(email, password, ip=ip,
                                                              user_agent=user_agent))
        account = account_key(email)
        await sec.check_allowed(ip=ip, account=account)
        try:
            user = await self.check_login(email, password, ip=ip, user_agent=user_agent)
        except (AuthError, RateLimited) as exc:
            known = await self.db.find_user_by_email(email) if email else None
            await sec.emit("login_failed", tenant_id=known.tenant_id if known else None,
                           user_id=known.id if known else None, ip=ip,
                           details={"account": account,
                                    "reason": "throttled" if isinstance(exc, RateLimited)
                                    else "bad_credentials"})
            raise
        await sec.check_allowed(user_id=user.id)
        try:
            await sec.mfa.check_login(user.tenant_id, user.id, user.role, mfa_code, ip=ip,
                                      account=account)
        except AuthError as exc:
            if exc.code == AuthError.code:  # a wrong code (not "send a code") is a failure
                for k in (f"login:e:{email}", *([f"login:ip:{ip}"] if ip else [])):
                    await self._fail(k)
            raise
        await sec.emit("login_succeeded", tenant_id=user.tenant_id, user_id=user.id, ip=ip)
        return await self._session(user)

    async def check_login(self, email: str, password: str, *, ip: str | None = None,
                          user_agent: str | None = None) -> UserRecord:
        """The active user with this password, throttled and audited; no tokens issued
        (the dashboard makes its own browser session from it)."""
        email = (email or "").strip().lower()
        keys = [f"login:e:{email}"] + ([f"login:ip:{ip}"] if ip else [])
        for k in keys:
            if await self._failures(k) >= LOGIN_MAX_FAILURES:
                raise RateLimited("too many failed logins; try again later",
                                  retry_after=LOGIN_WINDOW_S, scope="login")
        user = await self.db.find_user_by_email(email) if email else None
        ok = await verify_password_async(password or "", user.password_hash if user else None)
        if user is None or not ok or user.status != "active":
            for k in keys:
                await self._fail(k)
            await self.audit.record("login_failed", tenant_id=user.tenant_id if user else None,
                                    user_id=user.id if user else None, ip=ip,
                                    user_agent=user_agent)
            raise AuthError("invalid email or password")
        await self.audit.record("login", tenant_id=user.tenant_id, user_id=user.id, ip=ip,
                                user_agent=user_agent)
        return user

    async def refresh(self, refresh_token: str, *, ip: str | None = None,
                      user_agent: str | None = None) -> dict[str, Any]:
        rec = await self.db.get_refresh_token(hashlib.sha256(
            (refresh_token or "").encode()).hexdigest())
        if rec is None or rec.revoked_at is not None:
            raise AuthError("invalid refresh token")
        sec = self.security
        if sec is not None:  # a forced re-authentication ends refresh chains begun before it
            await sec.check_allowed(ip=ip, user_id=rec.user_id,
                                    issued_at=rec.created_at.timestamp())
        if rec.used_at is not None or not await self.db.mark_refresh_token_used(
                rec.id, datetime.now(UTC)):
            # A used refresh token came back: it was stolen or replayed. Kill the family.
            await self.db.revoke_refresh_family(rec.tenant_id, rec.family_id)
            await self.audit.record("refresh_token_reuse", tenant_id=rec.tenant_id,
                                    user_id=rec.user_id, ip=ip, user_agent=user_agent)
            if sec is not None:
                await sec.emit("refresh_token_reuse", tenant_id=rec.tenant_id,
                               user_id=rec.user_id, ip=ip,
                               details={"family_id": rec.family_id})
            raise AuthError("refresh token already used; please log in again")
        if rec.expires_at <= datetime.now(UTC):
            raise AuthError("refresh token expired")
        user = await self.db.get_user(rec.tenant_id, rec.user_id)
        if user is None or user.status != "active":
            raise AuthError("account disabled")
        return await self._session(user, family_id=rec.family_id)

    async def logout(self, refresh_token: str, principal: Principal | None = None) -> None:
        rec = await self.db.get_refresh_token(hashlib.sha256(
            (refresh_token or "").encode()).hexdigest())
        if rec is not None and (principal is None or (rec.tenant_id == principal.tenant_id
                                                      and rec.user_id == principal.user_id)):
            await self.db.revoke_refresh_family(rec.tenant_id, rec.family_id)
            await self.audit.record("logout", tenant_id=rec.tenant_id, user_id=rec.user_id)

    # -- accounts ------------------------------------------------------------------------------
    def check_password(self, password: str) -> None:
        n = self.config.security.password_min_length
        if not isinstance(password, str) or len(password) < n:
            raise InvalidArguments(f"password must be at least {n} characters", field="password")
        if len(password) > 1024:
            raise InvalidArguments("password is too long", field="password")

    @staticmethod
    def check_email(email: str) -> str:
        if not isinstance(email, str) or not _EMAIL.match(email.strip()):
            raise InvalidArguments("a valid email address is required", field="email")
        return email.strip().lower()

    async def resolve_tenant(self, ref: str) -> TenantRecord:
        """A tenant by id or by name."""
        tenant = await self.db.get_tenant(ref) if _uuid(ref) else None
        tenant = tenant or await self.db.get_tenant_by_name(ref)
        if tenant is None:
            raise NotFound(f"no tenant {ref!r}")
        return tenant

    def plan_names(self) -> list[str]:
        """Plans a tenant may be put on: the key tiers plus any configured custom tier."""
        return sorted(set(TIERS) | set(self.config.ratelimit.tiers))

    async def set_tenant_plan(self, tenant: TenantRecord, tier: str, *,
                              actor: Principal | None = None) -> TenantRecord:
        """The one writer of a tenant's plan (REST, dashboard, CLI); callers announce the
        change to live MCP sessions their own way (`pierre.mcp.bus`)."""
        if tier not in self.plan_names():
            raise InvalidArguments(f"tier must be one of {', '.join(self.plan_names())}",
                                   field="tier")
        await self.db.update_tenant_settings(tenant.id, {**tenant.settings, "tier": tier})
        await self.audit.record("tenant_plan_set", tenant_id=tenant.id,
                                user_id=actor.user_id if actor else None,
                                details={"tier": tier, "was": tenant.settings.get("tier"),
                                         "by": _by(actor)})
        return await self.resolve_tenant(tenant.id)

    async def set_tenant_tools(self, tenant: TenantRecord, disabled: set[str], *,
                               actor: Principal | None = None) -> TenantRecord:
        """The one writer of a tenant's tool switches; names are checked by the caller
        (REST refuses unknown ones, the CLI warns: a plugin may provide them)."""
        names = sorted(disabled)
        await self.db.update_tenant_settings(tenant.id,
                                             {**tenant.settings, "disabled_tools": names})
        if self.services is not None:  # the daemon's cached switch (none in the CLI)
            self.services.extras.get("tenant_disabled_tools", {}).pop(tenant.id, None)
        await self.audit.record("tenant_tools_set", tenant_id=tenant.id,
                                user_id=actor.user_id if actor else None,
                                details={"disabled_tools": names, "by": _by(actor)})
        return await self.resolve_tenant(tenant.id)

    async def create_tenant(self, name: str, *, actor: Principal | None = None) -> TenantRecord:
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
            raise InvalidArguments("tenant name must be 1..100 characters", field="name")
        tenant = await self.db.create_tenant(name.strip())
        await self.audit.record("tenant_created", tenant_id=tenant.id,
                                user_id=actor.user_id if actor else None,
                                details={"name": tenant.name, "by": _by(actor)})
        return tenant

    async def create_user(self, tenant_id: str, email: str, *, role: str = "user",
                          password: str | None = None, actor: Principal | None = None
                          ) -> UserRecord:
        email = self.check_email(email)
        if role not in ROLES:
            raise InvalidArguments(f"role must be one of {', '.join(ROLES)}", field="role")
        pw_hash = None
        if password is not None:
            self.check_password(password)
            pw_hash = await hash_password_async(password)
        user = await self.db.create_user(tenant_id, email, role=role, password_hash=pw_hash)
        await self.audit.record("user_created", tenant_id=tenant_id,
                                user_id=actor.user_id if actor else None,
                                details={"user_id": user.id, "role": role, "by": _by(actor)})
        return user

    async def register(self, email: str, password: str, *, invite: str | None = None,
                       ip: str | None = None, user_agent: str | None = None) -> UserRecord:
        """`[security] registration`: "open" puts the user in the default tenant (or, with
        an invite, in the invite's tenant with its role); "invite" needs an invite;
        "closed" refuses every self-registration, invites included."""
        mode = self.config.security.registration
        if mode == "closed":
            raise Forbidden("self-registration is closed on this server; ask an administrator")
        if invite is not None:
            return await self._redeem(invite, email, password, ip=ip, user_agent=user_agent)
        if mode != "open":
            raise Forbidden("registration on this server is by invitation: send the "
                            "'invite' code a tenant administrator gave you")
        email = self.check_email(email)
        self.check_password(password)
        name = self.config.security.default_tenant
        tenant = await self.db.get_tenant_by_name(name)
        if tenant is None:
            try:
                tenant = await self.db.create_tenant(name)
            except Conflict:
                tenant = await self.db.get_tenant_by_name(name)
        assert tenant is not None
        if await self.db.find_user_by_email(email) is not None:
            raise Conflict("an account with this email already exists")
        user = await self.db.create_user(tenant.id, email, role="user",
                                         password_hash=await hash_password_async(password))
        await self.audit.record("user_registered", tenant_id=tenant.id, user_id=user.id, ip=ip,
                                user_agent=user_agent)
        return user

    async def _redeem(self, code: str, email: str, password: str, *, ip: str | None,
                      user_agent: str | None) -> UserRecord:
        email = self.check_email(email)
        self.check_password(password)
        if not code.startswith(INVITE_PREFIX) or len(code) > 200:
            raise InvalidArguments("this invite code is not valid", field="invite")
        inv, user = await self.db.redeem_invite(
            hash_invite_code(code), email, password_hash=await hash_password_async(password),
            when=datetime.now(UTC))
        await self.audit.record("user_registered", tenant_id=inv.tenant_id, user_id=user.id,
                                ip=ip, user_agent=user_agent,
                                details={"invite_id": inv.id, "role": inv.role})
        return user

    async def create_invite(self, tenant_id: str, *, email: str | None = None,
                            role: str = "user", expires_days: int | None = None,
                            actor: Principal | None = None) -> IssuedInvite:
        """An invite code for `tenant_id` (shown once). Only a server administrator (or
        the CLI) may invite a server administrator."""
        if role not in ROLES:
            raise InvalidArguments(f"role must be one of {', '.join(ROLES)}", field="role")
        if role == "admin" and actor is not None and not actor.is_admin:
            raise Forbidden("only a server administrator can invite server administrators")
        if email is not None:
            email = self.check_email(email)
        days = INVITE_DAYS if expires_days is None else expires_days
        if isinstance(days, bool) or not isinstance(days, int) or not (
                1 <= days <= INVITE_DAYS_MAX):
            raise InvalidArguments(f"expires_days must be 1..{INVITE_DAYS_MAX}",
                                   field="expires_days")
        code = INVITE_PREFIX + secrets.token_urlsafe(24)
        rec = await self.db.create_invite(
            tenant_id, code_hash=hash_invite_code(code), email=email, role=role,
            expires_at=datetime.now(UTC) + timedelta(days=days),
            created_by=actor.user_id if actor else None)
        await self.audit.record("invite_created", tenant_id=tenant_id,
                                user_id=actor.user_id if actor else None,
                                details={"invite_id": rec.id, "role": role,
                                         "email_bound": email is not None,
                                         "expires_days": days, "by": _by(actor)})
        return IssuedInvite(code=code, record=rec)

    async def delete_invite(self, tenant_id: str, invite_id: str, *,
                            actor: Principal | None = None) -> bool:
        ok = bool(await self.db.delete_invite(tenant_id, invite_id))
        if ok:
            await self.audit.record("invite_deleted", tenant_id=tenant_id,
                                    user_id=actor.user_id if actor else None,
                                    details={"invite_id": invite_id, "by": _by(actor)})
        return ok

    async def set_api_key_tier(self, tenant_id: str, key_id: str, tier: str, *,
                               actor: Principal | None = None) -> ApiKeyRecord:
        """An administrator's action: a tenant administrator may set tiers up to the
        tenant's plan, a server administrator (or the CLI) any tier. This process
        forgets its cached lookups at once; callers announce the change to live
        MCP sessions (`pierre.mcp.bus`)."""
        if tier not in TIERS:
            raise InvalidArguments(f"tier must be one of {', '.join(TIERS)}", field="tier")
        rec = await self.db.get_api_key(tenant_id, key_id)
        if rec is None:
            raise NotFound("no such API key")
        if rec.revoked_at is not None:
            raise Conflict("this API key is revoked; create a new one")
        await self._within_plan(tenant_id, tier, actor)
        updated = await self.db.set_api_key_tier(tenant_id, key_id, tier)
        if updated is None:
            raise NotFound("no such API key")
        self._keys.clear()
        await self.audit.record("api_key_tier_set", tenant_id=tenant_id,
                                user_id=actor.user_id if actor else None,
                                details={"key_id": key_id, "tier": tier, "was": rec.tier,
                                         "owner": rec.user_id, "by": _by(actor)})
        return cast(ApiKeyRecord, updated)

    async def _within_plan(self, tenant_id: str, tier: str, actor: Principal | None) -> None:
        """Keys made or raised by anyone but a server administrator (or the CLI) stay within
        the tenant's plan, so a tenant cannot mint itself a bigger rate limit."""
        if actor is None or actor.is_admin:
            return
        tenant = await self.db.get_tenant(tenant_id)
        cap = plan_cap(tenant.settings if tenant else {})
        if TIERS.index(tier) > TIERS.index(cap):
            raise Forbidden(f"this tenant's plan allows keys up to {cap}; a server "
                            "administrator can grant more")

    async def create_api_key(self, tenant_id: str, user_id: str, *, tier: str = "starter",
                             name: str = "default", expires_days: int | None = None,
                             actor: Principal | None = None) -> IssuedKey:
        if tier not in TIERS:
            raise InvalidArguments(f"tier must be one of {', '.join(TIERS)}", field="tier")
        await self._within_plan(tenant_id, tier, actor)
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise InvalidArguments("name must be 1..100 characters", field="name")
        expires = None
        if expires_days is not None:
            if not 1 <= expires_days <= 3650:
                raise InvalidArguments("expires_days must be 1..3650", field="expires_days")
            expires = datetime.now(UTC) + timedelta(days=expires_days)
        key, prefix, key_hash = generate_api_key(tier)
        rec = await self.db.create_api_key(tenant_id, user_id, name=name, prefix=prefix,
                                           key_hash=key_hash, tier=tier, expires_at=expires)
        await self.audit.record("api_key_created", tenant_id=tenant_id,
                                user_id=actor.user_id if actor else user_id,
                                details={"key_id": rec.id, "prefix": prefix, "tier": tier,
                                         "owner": user_id, "by": _by(actor)})
        return IssuedKey(key=key, record=rec)

    async def revoke_api_key(self, tenant_id: str, key_id: str, *,
                             actor: Principal | None = None) -> bool:
        ok = bool(await self.db.revoke_api_key(tenant_id, key_id))
        self._keys.clear()  # this process stops accepting it at once
        if ok:
            await self.audit.record("api_key_revoked", tenant_id=tenant_id,
                                    user_id=actor.user_id if actor else None,
                                    details={"key_id": key_id, "by": _by(actor)})
        return ok


def _by(actor: Principal | None) -> str:
    return f"{actor.method}:{actor.user_id}" if actor else "cli"


def user_view(u: UserRecord) -> dict[str, Any]:
    return {"id": u.id, "tenant_id": u.tenant_id, "email": u.email, "role": u.role,
            "status": u.status, "display_name": u.display_name,
            "created_at": u.created_at.isoformat()}


def key_view(k: ApiKeyRecord) -> dict[str, Any]:
    """Listings show the prefix and metadata, never the secret or its hash."""
    iso = lambda d: d.isoformat() if d else None  # noqa: E731
    return {"id": k.id, "tenant_id": k.tenant_id, "user_id": k.user_id, "name": k.name,
            "prefix": k.prefix, "tier": k.tier, "created_at": iso(k.created_at),
            "expires_at": iso(k.expires_at), "revoked_at": iso(k.revoked_at),
            "last_used_at": iso(k.last_used_at)}


def invite_view(i: InviteRecord, now: datetime | None = None) -> dict[str, Any]:
    """Listings never show the code (only its hash is stored)."""
    when = now or datetime.now(UTC)
    status = "used" if i.used_at else ("expired" if i.expires_at <= when else "pending")
    return {"id": i.id, "tenant_id": i.tenant_id, "email": i.email, "role": i.role,
            "status": status, "created_by": i.created_by,
            "created_at": i.created_at.isoformat(), "expires_at": i.expires_at.isoformat(),
            "used_at": i.used_at.isoformat() if i.used_at else None, "used_by": i.used_by}


def build_authenticator(services: Any) -> IdentityService:
    """Wiring hook: the identity service doubles as the authenticator; sets `services.audit`."""
    if services.audit is None:
        services.audit = AuditLog(services.db)
    ident = IdentityService(services.config, services.db, services.crypto, services.audit,
                            services.ratelimiter, services)
    services.extras["identity"] = ident
    return ident


def identity(services: Any) -> IdentityService:
    ident = services.extras.get("identity")
    if ident is None:
        ident = build_authenticator(services)
        services.authenticator = ident
    return ident
