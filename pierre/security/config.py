"""`[security.monitoring]`: detection rules, their actions, and the alert webhook.

Each rule is a sub-table (`[security.monitoring.brute_force_account]`) whose
defaults sit on its own dataclass, so a partial table keeps the other values.
Thresholds count events in a fixed window; `action_s` is how long the action
lasts before it lifts by itself (an admin can lift it sooner).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Action = Literal["lock_account", "lock_address", "suspend_credential", "require_reauth",
                 "revoke_family", "throttle_tenant", "alert_only"]


@dataclass(frozen=True)
class RuleConfig:
    enabled: bool = True
    threshold: int = 10
    window_s: int = 300
    action_s: int = 900
    actions: list[Action] = field(default_factory=lambda: ["alert_only"])


@dataclass(frozen=True)
class BruteForceAccountRule(RuleConfig):
    # 10 wrong passwords or MFA codes for one account in 5 minutes: a person retries
    # 3-4 times then resets; lock 15 minutes (OWASP's usual range).
    actions: list[Action] = field(default_factory=lambda: ["lock_account"])


@dataclass(frozen=True)
class BruteForceAddressRule(RuleConfig):
    # 30 failures from one address in 5 minutes: allows a shared office NAT a few typos.
    threshold: int = 30
    actions: list[Action] = field(default_factory=lambda: ["lock_address"])


@dataclass(frozen=True)
class CredentialStuffingRule(RuleConfig):
    # Failures on 5 different accounts from one address in 10 minutes: people own one.
    threshold: int = 5
    window_s: int = 600
    action_s: int = 3600
    actions: list[Action] = field(default_factory=lambda: ["lock_address"])


@dataclass(frozen=True)
class ApiKeyAddressesRule(RuleConfig):
    # One API key from 10 addresses in 10 minutes: a leaked key, not a roaming laptop.
    window_s: int = 600
    action_s: int = 86_400
    actions: list[Action] = field(default_factory=lambda: ["suspend_credential"])


@dataclass(frozen=True)
class CrossTenantRule(RuleConfig):
    # 10 refused other-tenant ids in 5 minutes: enumeration, not a stale bookmark.
    actions: list[Action] = field(default_factory=lambda: ["lock_account"])


@dataclass(frozen=True)
class RefreshReuseRule(RuleConfig):
    # One reuse is already a stolen-token signal (RFC 6819 section 5.2.2.3).
    threshold: int = 1
    action_s: int = 86_400
    actions: list[Action] = field(default_factory=lambda: ["revoke_family", "require_reauth"])


@dataclass(frozen=True)
class ToolSpikeRule(RuleConfig):
    # Calls per tenant per window above both `threshold` and `factor` x the previous
    # window: the enterprise tier's steady rate is 3000/min, so 6000/min is abnormal.
    threshold: int = 6000
    window_s: int = 60
    action_s: int = 300
    factor: float = 5.0
    actions: list[Action] = field(default_factory=lambda: ["throttle_tenant"])


@dataclass(frozen=True)
class WebhookConfig:
    url: str | None = None
    # HMAC-SHA256 key for the X-Pierre-Signature header (`secret_file` works too).
    secret: str | None = None
    # Loopback/private targets are refused (SSRF) unless allowed: tests, closed networks.
    allow_private: bool = False
    timeout_s: float = 5.0
    # Attempts after the first, with exponential backoff from `backoff_s`.
    retries: int = 4
    backoff_s: float = 0.5


@dataclass(frozen=True)
class MonitoringConfig:
    enabled: bool = True
    brute_force_account: BruteForceAccountRule = field(default_factory=BruteForceAccountRule)
    brute_force_address: BruteForceAddressRule = field(default_factory=BruteForceAddressRule)
    credential_stuffing: CredentialStuffingRule = field(default_factory=CredentialStuffingRule)
    api_key_addresses: ApiKeyAddressesRule = field(default_factory=ApiKeyAddressesRule)
    cross_tenant: CrossTenantRule = field(default_factory=CrossTenantRule)
    refresh_reuse: RefreshReuseRule = field(default_factory=RefreshReuseRule)
    tool_spike: ToolSpikeRule = field(default_factory=ToolSpikeRule)
    webhook: WebhookConfig = field(default_factory=WebhookConfig)
    # Addresses never locked (monitoring hosts, the office); exact matches or CIDRs.
    trusted_addresses: list[str] = field(default_factory=list)
