"""The server's shared services, built by the daemon in start order.

Passed down to tools and transports instead of globals, so tests can build a
set of services around real backends without a running daemon. Fields that a
capability has not wired yet stay None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pierre.auth.principal import Authenticator
    from pierre.config.schema import Config
    from pierre.plugins.cache import Cache
    from pierre.plugins.ratelimit import RateLimiter
    from pierre.plugins.registry import PluginRegistry
    from pierre.tools.base import ToolRegistry


@dataclass
class Services:
    config: Config
    plugins: PluginRegistry
    tools: ToolRegistry
    db: Any = None  # pierre.plugins.database.Database
    ratelimiter: RateLimiter | None = None
    cache: Cache | None = None
    authenticator: Authenticator | None = None
    crypto: Any = None  # pierre.crypto.Crypto
    providers: Any = None  # pierre.providers.manager.ProviderManager
    limits: Any = None  # pierre.ratelimit.service.RateLimitService
    audit: Any = None  # pierre.auth.audit.AuditLog
    metrics: Any = None  # pierre.ops.metrics.Metrics
    security: Any = None  # pierre.security.monitor.SecurityMonitor
    # Free-form per-capability state (e.g. "mcp_sessions"), keyed by capability.
    extras: dict[str, Any] = field(default_factory=dict)

    def public_http_url(self) -> str:
        """Base URL handed to clients: `[http] public_url` or the bound address."""
        if self.config.http.public_url:
            return self.config.http.public_url.rstrip("/")
        bound = self.extras.get("http_bound")
        scheme = "https" if self.config.http.tls_cert else "http"
        if bound:
            host, port = bound
            host = f"[{host}]" if ":" in host else host
            return f"{scheme}://{host}:{port}"
        return f"{scheme}://{self.config.http.host}:{self.config.http.port}"

    def public_mcp_url(self) -> str:
        scheme = "wss" if self.config.mcp.tls_cert else "ws"
        bound = self.extras.get("mcp_bound") or (self.config.mcp.host, self.config.mcp.port)
        host, port = bound
        if self.config.http.public_url:
            # Behind a proxy the WebSocket usually shares the public host.
            base = self.config.http.public_url.rstrip("/")
            ws = base.replace("https://", "wss://").replace("http://", "ws://")
            return f"{ws}{self.config.mcp.path}"
        host = f"[{host}]" if ":" in host else host
        return f"{scheme}://{host}:{port}{self.config.mcp.path}"
