"""The security event vocabulary: what the rest of Pierre reports to the monitor."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

LOGIN_SUCCEEDED = "login_succeeded"
LOGIN_FAILED = "login_failed"
MFA_FAILED = "mfa_failed"
REFRESH_REUSE = "refresh_token_reuse"
API_KEY_USED = "api_key_used"  # counted; audited only from an address new to the key
API_KEY_NEW_ADDRESS = "api_key_new_address"
CROSS_TENANT_REFUSED = "cross_tenant_refused"
RATE_LIMITED = "rate_limited"  # audited at most once per key and minute
PROVIDER_TOKEN_REVOKED = "provider_token_revoked"
ADMIN_ACTION = "admin_action"
CONFIG_RELOADED = "config_reloaded"
TOOL_CALL = "tool_call"  # counted only, never audited
MFA_ENROLLED = "mfa_enrolled"
MFA_DISABLED = "mfa_disabled"
RECOVERY_CODE_USED = "mfa_recovery_code_used"
LOCKED_OUT = "locked_out_refused"



def account_key(login: str) -> str:
    """The account a login attempt names, as rules and locks key it: a short hash of
    the lower-cased login, so audit details and counters carry no email address.
    The dashboard's sign-in uses the same derivation."""
    return hashlib.sha256((login or "").strip().lower().encode()).hexdigest()[:16]


# Counted for the rules but too frequent to be audit records one by one.
NOT_AUDITED = frozenset({API_KEY_USED, TOOL_CALL})


@dataclass(frozen=True, slots=True)
class Event:
    name: str
    tenant_id: str | None = None
    user_id: str | None = None
    ip: str | None = None
    credential_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)

    def evidence(self) -> dict[str, Any]:
        out: dict[str, Any] = {"event": self.name, "at": round(self.at, 3)}
        for k in ("tenant_id", "user_id", "ip", "credential_id"):
            if (v := getattr(self, k)) is not None:
                out[k] = v
        if self.details:
            out["details"] = self.details
        return out
