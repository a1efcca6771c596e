"""Demo mode: on an empty database, a ready-to-use tenant, user and API key.

The key exists in this process's memory only until the banner is printed
once to stdout (never through the logger), after the listeners are bound so
the URLs in it are the real ones.
"""

from __future__ import annotations

import sys
from typing import Any

import structlog

log = structlog.get_logger("pierre.bootstrap")

DEMO_TENANT = "demo"
DEMO_EMAIL = "demo@pierre.local"
_PENDING = "demo_api_key"


async def ensure_demo(services: Any) -> None:
    from pierre.auth.principal import Principal
    from pierre.auth.service import identity

    db = services.db
    if await db.count_users() > 0:
        return
    ident = identity(services)
    tenant = await db.get_tenant_by_name(DEMO_TENANT) or await ident.create_tenant(DEMO_TENANT)
    user = await ident.create_user(tenant.id, DEMO_EMAIL, role="tenant_admin")
    issued = await ident.create_api_key(tenant.id, user.id, tier="professional", name="demo")
    principal = Principal(tenant_id=tenant.id, user_id=user.id, role="tenant_admin",
                          tier="professional", method="api_key",
                          credential_id=issued.record.id, email=user.email)
    providers = services.providers
    if providers is not None and hasattr(providers, "connect"):
        try:
            await providers.connect(principal, "synthetic")
        except Exception as exc:
            log.warning("demo_synthetic_connect_failed", error=f"{type(exc).__name__}: {exc}")
    services.extras[_PENDING] = issued.key
    log.info("demo_created", tenant_id=tenant.id, user_id=user.id, key_id=issued.record.id)


def banner(services: Any, key: str) -> str:
    ws = services.public_mcp_url()
    http = services.public_http_url()
    return "\n".join([
        "",
        "=" * 72,
        " Pierre demo ready: tenant 'demo', user " + DEMO_EMAIL,
        " API key (shown once; store it now):",
        f"   {key}",
        "",
        f" MCP WebSocket:       {ws}",
        f"   (header 'Authorization: Bearer <key>' or {ws}?token={key})",
        f" MCP Streamable HTTP: {http}/mcp",
        f" REST API:            {http}/api  (docs: {http}/api/docs)",
        "",
        " stdio clients (Claude Desktop, ...) run the bridge:",
        f"   echo '{key}' > pierre.key && pierre bridge --url {ws} --token-file pierre.key",
        "",
        ' Claude Desktop: {"mcpServers": {"pierre": {"command": "pierre", "args": ["bridge",',
        f'   "--url", "{ws}", "--token-file", "/path/to/pierre.key"]}}}}',
        "=" * 72,
        "",
    ])


def print_banner(services: Any) -> None:
    """Print the demo banner once (then forget the key); no-op when nothing is pending."""
    key = services.extras.pop(_PENDING, None)
    if key:
        sys.stdout.write(banner(services, key))
        sys.stdout.flush()
