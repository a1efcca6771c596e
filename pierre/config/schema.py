"""The typed configuration schema: one dataclass per TOML section.

Defaults live next to each field with the reason for the value. Paths are
resolved relative to the config file's folder by the loader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pierre.security.config import MonitoringConfig


@dataclass(frozen=True)
class ServerConfig:
    # Seconds in-flight calls get to finish on SIGTERM before connections close.
    shutdown_grace_s: float = 10.0
    # When set, {"mcp": N, "http": M} is written here once both listeners are bound.
    ports_file: str | None = None
    # Folder for generated state (dev master key, SQLite file, imports).
    data_dir: str = "var"
    # Create a demo tenant + user with the synthetic provider on an empty database.
    demo: bool = False


@dataclass(frozen=True)
class McpConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    path: str = "/mcp"
    tls_cert: str | None = None
    tls_key: str | None = None
    # 1 MiB: a tools/call argument set is tiny; large frames are an attack.
    max_message_bytes: int = 1_048_576
    max_connections: int = 10_000
    # The official SDK 1.x WebSocket client cannot set headers; allow ?token=.
    allow_query_token: bool = True
    # Keepalive: a dead peer is noticed within ping_interval + ping_timeout.
    ping_interval_s: float = 20.0
    ping_timeout_s: float = 20.0
    # permessage-deflate costs ~64 KiB per connection; off for 10k-connection memory.
    compression: bool = False
    # Allowed Origin values for browser clients of Streamable HTTP; empty = same host only.
    allowed_origins: list[str] = field(default_factory=list)
    # Streamable HTTP session lifetime without activity.
    session_ttl_s: int = 3600
    # Tools disabled for everyone (per-tenant switches live in the database).
    disabled_tools: list[str] = field(default_factory=list)
    # Connection-level limits (0 = unlimited).
    max_connections_per_ip: int = 0
    max_connections_per_key: int = 0
    handshakes_per_ip_per_minute: int = 0


@dataclass(frozen=True)
class HttpConfig:
    host: str = "127.0.0.1"
    port: int = 8081
    tls_cert: str | None = None
    tls_key: str | None = None
    # Base URL clients use to reach us (behind a proxy); else derived from the bound address.
    public_url: str | None = None
    client_max_size: int = 4_194_304


@dataclass(frozen=True)
class DatabaseConfig:
    """`backend` picks a `pierre.databases` plugin; other keys are its options."""

    __extra_keys__: ClassVar[bool] = True
    backend: str = "sqlite"
    migrate_on_start: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TierConfig:
    # Token bucket: burst size and steady refill.
    capacity: int = 60
    refill_per_s: float = 1.0
    # Calls per calendar month (UTC); 0 = unlimited.
    monthly_quota: int = 0


def _default_tiers() -> dict[str, TierConfig]:
    return {
        "trial": TierConfig(capacity=20, refill_per_s=0.2, monthly_quota=1_000),
        "starter": TierConfig(capacity=60, refill_per_s=1.0, monthly_quota=10_000),
        "professional": TierConfig(capacity=200, refill_per_s=5.0, monthly_quota=100_000),
        "enterprise": TierConfig(capacity=1_000, refill_per_s=50.0, monthly_quota=0),
    }


@dataclass(frozen=True)
class RateLimitConfig:
    __extra_keys__: ClassVar[bool] = True
    backend: str = "memory"
    url: str | None = None
    on_backend_error: Literal["fail_open", "fail_closed"] = "fail_open"
    tiers: dict[str, TierConfig] = field(default_factory=_default_tiers)
    # Per-user and per-tenant buckets on top of the per-key one.
    user: TierConfig = field(default_factory=lambda: TierConfig(capacity=300, refill_per_s=10))
    tenant: TierConfig = field(
        default_factory=lambda: TierConfig(capacity=3_000, refill_per_s=100)
    )
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CacheConfig:
    __extra_keys__: ClassVar[bool] = True
    backend: str = "memory"
    url: str | None = None
    # Per data kind TTLs in seconds: profile data changes rarely, lists often.
    ttl_athlete_s: int = 3600
    ttl_activity_list_s: int = 300
    ttl_activity_s: int = 86_400
    ttl_stats_s: int = 900
    max_entries: int = 100_000
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SecurityConfig:
    master_key: str | None = None
    master_key_file: str | None = None
    # Development convenience: create a master key under data_dir when none is given.
    generate_master_key: bool = False
    jwt_issuer: str = "pierre"
    jwt_audience: str = "pierre"
    jwt_algorithm: Literal["EdDSA", "RS256"] = "EdDSA"
    access_token_ttl_s: int = 900
    refresh_token_ttl_s: int = 30 * 86_400
    registration: Literal["open", "invite", "closed"] = "closed"
    password_min_length: int = 10
    default_tenant: str = "default"
    require_admin_mfa: bool = False
    # Detection rules, automated actions and alerts (pierre.security.config).
    monitoring: MonitoringConfig = field(default_factory=MonitoringConfig)


@dataclass(frozen=True)
class ProviderConfig:
    """`[providers.<name>]`; keys beyond these go to the provider plugin as options."""

    __extra_keys__: ClassVar[bool] = True
    enabled: bool = True
    client_id: str | None = None
    client_secret: str | None = None
    client_secret_file: str | None = None
    api_base_url: str | None = None
    auth_url: str | None = None
    token_url: str | None = None
    scopes: list[str] | None = None
    timeout_s: float = 15.0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LoggingConfig:
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["json", "console", "auto"] = "auto"


@dataclass(frozen=True)
class A2AConfig:
    enabled: bool = True
    conformance_mode: bool = False
    allow_private_webhooks: bool = False
    client_token_ttl_s: int = 3600


@dataclass(frozen=True)
class MetricsConfig:
    enabled: bool = True
    # Empty = open; else only these client addresses may scrape.
    allow_from: list[str] = field(default_factory=list)
    token: str | None = None
    token_file: str | None = None


@dataclass(frozen=True)
class TracingConfig:
    """OpenTelemetry spans exported by OTLP/HTTP; needs the `otel` extra when enabled."""

    # Off by default: the disabled path never imports opentelemetry and costs ~nothing.
    enabled: bool = False
    # OTLP/HTTP traces URL; None = the exporter's default (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
    # or http://localhost:4318/v1/traces).
    otlp_endpoint: str | None = None
    service_name: str = "pierre"
    # Share of new traces kept (0..1); an incoming traceparent's sampled flag wins.
    sample_ratio: float = 1.0
    # Sent with each export (collector auth); values are secrets and never logged.
    headers: dict[str, str] = field(default_factory=dict)
    # A file of `Name: value` lines merged into `headers` (e.g. a systemd credential).
    headers_file: str | None = None


@dataclass(frozen=True)
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    mcp: McpConfig = field(default_factory=McpConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    ratelimit: RateLimitConfig = field(default_factory=RateLimitConfig)
    cache: CacheConfig = field(default_factory=CacheConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    providers: dict[str, ProviderConfig] = field(default_factory=dict)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    a2a: A2AConfig = field(default_factory=A2AConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    tracing: TracingConfig = field(default_factory=TracingConfig)
    # Folder of the config file; relative paths are resolved against it.
    base_dir: str = "."

    def resolve_path(self, path: str) -> str:
        import os

        return path if os.path.isabs(path) else os.path.normpath(os.path.join(self.base_dir, path))
