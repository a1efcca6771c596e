"""The security audit log: logins, failures, keys, connections, admin actions, rotation."""

from __future__ import annotations

from typing import Any

import structlog

log = structlog.get_logger("pierre.audit")


class AuditLog:
    """`services.audit`: recording never fails the action it describes."""

    def __init__(self, db: Any) -> None:
        self.db = db

    async def record(self, action: str, *, tenant_id: str | None, user_id: str | None = None,
                     ip: str | None = None, user_agent: str | None = None,
                     details: dict[str, Any] | None = None) -> None:
        try:
            await self.db.add_audit(action, tenant_id=tenant_id, user_id=user_id, ip=ip,
                                    user_agent=user_agent, details=details)
        except Exception as exc:
            log.error("audit_write_failed", action=action, error=f"{type(exc).__name__}: {exc}")
