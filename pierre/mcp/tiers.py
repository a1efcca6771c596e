"""A live session's current tier, re-read when an admin may have changed it.

A session's principal is fixed when it authenticates, but the tier it carries can
move while it stays connected: a JWT or OAuth session's tier is its tenant's plan
(`settings.tier`, which the token copied when it was issued), an API key's is the
key's own `tier` column. The engine asks here after a tenant change event and on
its periodic sweep; answers are memoized per call site (`memo`), so re-evaluating
many sessions of one tenant costs one read per tenant and per key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
import structlog

if TYPE_CHECKING:
    from pierre.auth.principal import Principal
    from pierre.services import Services

log = structlog.get_logger("pierre.mcp")

# Credentials whose tier is their tenant's plan (API keys carry their own).
PLAN_TIERED = frozenset({"jwt", "oauth", "a2a_client"})


def settings_of(tenant: Any) -> dict[str, Any]:
    settings = tenant.get("settings") if isinstance(tenant, dict) else getattr(
        tenant, "settings", None)
    if isinstance(settings, str | bytes):
        try:
            settings = orjson.loads(settings)
        except orjson.JSONDecodeError:
            return {}
    return settings if isinstance(settings, dict) else {}


def plan_of(settings: dict[str, Any]) -> str | None:
    value = settings.get("tier") or settings.get("plan")
    return value if isinstance(value, str) and value else None


def forget_tenant(services: Services, tenant_id: str) -> None:
    """Drop this instance's short cache of the tenant's tool switches (read again next)."""
    cached = services.extras.get("tenant_disabled_tools")
    if isinstance(cached, dict):
        cached.pop(tenant_id, None)


async def current_tier(services: Services, principal: Principal, memo: dict[str, str | None],
                       *, keys: bool = True) -> str:
    """The credential's tier now; the session's own when it cannot be read (DB hiccup).

    `keys=False` skips API-key lookups (the periodic sweep: one read per key would
    not scale, and key tiers change only through events)."""
    db = services.db
    if db is None:
        return principal.tier
    try:
        if principal.method in PLAN_TIERED:
            mk = "t:" + principal.tenant_id
            if mk not in memo:
                tenant = await db.get_tenant(principal.tenant_id) if hasattr(
                    db, "get_tenant") else None
                memo[mk] = plan_of(settings_of(tenant)) if tenant is not None else None
            # A tenant without a plan is on the default tier, as token issuance assumes.
            return memo[mk] or "starter"
        if keys and principal.method == "api_key" and principal.credential_id and hasattr(
                db, "get_api_key"):
            mk = "k:" + principal.credential_id
            if mk not in memo:
                rec = await db.get_api_key(principal.tenant_id, principal.credential_id)
                memo[mk] = getattr(rec, "tier", None) if rec is not None else None
            return memo[mk] or principal.tier
    except Exception as exc:
        log.warning("mcp_tier_unreadable", tenant=principal.tenant_id,
                    error=type(exc).__name__)
    return principal.tier
