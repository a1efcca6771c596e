"""The identity operations the dashboard uses, over the shared identity service.

Sign-in goes through `IdentityService.check_login` (the REST login's throttling,
password check and audit), then the second factor when the user enrolled one;
API keys are created and revoked by the same functions as `/api/keys`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pierre.auth.api_keys import TIERS
from pierre.auth.service import IdentityService, identity
from pierre.errors import NotFound
from pierre.security.events import account_key

if TYPE_CHECKING:
    from pierre.auth.principal import Principal
    from pierre.plugins.database import UserRecord
    from pierre.services import Services

# Key tiers a user may pick for themself; higher ones need a tenant admin (as in REST).
SELF_SERVICE_TIERS = ("trial", "starter")


def _ident(services: Services) -> IdentityService:
    return identity(services)


async def check_password(services: Services, email: str, password: str, *,
                         ip: str | None = None, user_agent: str | None = None) -> UserRecord:
    """The active user with this email and password; AuthError or RateLimited otherwise."""
    return await _ident(services).check_login(email, password, ip=ip, user_agent=user_agent)


async def mfa_enabled(services: Services, user: UserRecord) -> bool:
    mfa = getattr(services.security, "mfa", None)
    return bool(mfa is not None and await mfa.enabled(user.tenant_id, user.id))


async def check_second_factor(services: Services, user: UserRecord, code: str | None, *,
                              ip: str | None = None) -> None:
    """Raise MfaRequired without a code, AuthError with a wrong one; no-op without MFA.

    Failures are reported under the login's account key, so wrong codes count toward
    the same brute-force rule as wrong passwords (here and on the REST login).
    """
    mfa = getattr(services.security, "mfa", None)
    if mfa is not None:
        await mfa.check_login(user.tenant_id, user.id, user.role, code, ip=ip,
                              account=account_key(user.email))


def key_tier(principal: Principal) -> str:
    """The plan a dashboard-made key carries: the tenant's, within what the user may grant."""
    if principal.tier in TIERS and (principal.tier in SELF_SERVICE_TIERS
                                    or principal.is_tenant_admin):
        return principal.tier
    return "starter"


async def create_api_key(services: Services, principal: Principal, name: str) -> tuple[str, Any]:
    """(the key in clear, its record); the clear key is shown once and never stored."""
    issued = await _ident(services).create_api_key(
        principal.tenant_id, principal.user_id, tier=key_tier(principal), name=name,
        actor=principal)
    return issued.key, issued.record


async def revoke_api_key(services: Services, principal: Principal, key_id: str) -> bool:
    """Revoke one of the caller's keys (any key of the tenant for a tenant admin)."""
    ident = _ident(services)
    rec = await ident.db.get_api_key(principal.tenant_id, key_id)
    if rec is None or (rec.user_id != principal.user_id and not principal.is_tenant_admin):
        raise NotFound("no such API key")
    return await ident.revoke_api_key(principal.tenant_id, rec.id, actor=principal)
