"""TOTP multi-factor authentication for people who sign in with a password.

State lives in user settings under the "mfa" namespace: the secret encrypted
with `services.crypto` (bound to tenant, user, "user_settings", "mfa"), whether
enrolment is confirmed, the last accepted time step, and recovery code hashes.
A step is spent once across instances through an atomic counter, on top of the
stored `last_step`.
"""

from __future__ import annotations

import base64
import time
from typing import TYPE_CHECKING, Any

from pierre.errors import AuthError, Conflict, InvalidArguments, ServiceUnavailable
from pierre.security import events as ev
from pierre.security import totp

if TYPE_CHECKING:
    from pierre.security.monitor import SecurityMonitor
    from pierre.services import Services

NAMESPACE = "mfa"
ISSUER = "Pierre"


class MfaRequired(AuthError):
    code = "mfa_required"


class MfaEnrolmentRequired(AuthError):
    code = "mfa_enrolment_required"


class MfaService:
    def __init__(self, services: Services, monitor: SecurityMonitor) -> None:
        self.services = services
        self.monitor = monitor
        self.clock = time.time

    # -- storage -----------------------------------------------------------------
    async def _state(self, tenant_id: str, user_id: str) -> dict[str, Any]:
        data: dict[str, Any] = await self.services.db.get_user_settings(
            tenant_id, user_id, NAMESPACE)
        return data

    async def _save(self, tenant_id: str, user_id: str, state: dict[str, Any]) -> None:
        await self.services.db.set_user_settings(tenant_id, user_id, NAMESPACE, state)

    def _seal(self, tenant_id: str, user_id: str, secret: str) -> str:
        crypto = self.services.crypto
        if crypto is None:
            raise ServiceUnavailable("MFA needs encryption, which is not configured")
        raw = crypto.encrypt(secret.encode(), tenant_id, user_id, "user_settings", "mfa")
        return base64.b64encode(raw).decode()

    def _open(self, tenant_id: str, user_id: str, sealed: str) -> str:
        crypto = self.services.crypto
        if crypto is None:
            raise ServiceUnavailable("MFA needs encryption, which is not configured")
        plain = crypto.decrypt(base64.b64decode(sealed), tenant_id, user_id, "user_settings",
                               "mfa")
        return plain.decode() if isinstance(plain, bytes | bytearray) else str(plain)

    async def enabled(self, tenant_id: str, user_id: str) -> bool:
        return bool((await self._state(tenant_id, user_id)).get("enabled"))

    # -- enrolment ---------------------------------------------------------------
    async def enroll(self, tenant_id: str, user_id: str, account: str) -> dict[str, Any]:
        """Start (or restart) enrolment: a new secret, not active until verified."""
        state = await self._state(tenant_id, user_id)
        if state.get("enabled"):
            raise Conflict("MFA is already enabled for this account")
        secret = totp.new_secret()
        await self._save(tenant_id, user_id, {"enabled": False,
                                              "secret_enc": self._seal(tenant_id, user_id, secret),
                                              "created_at": self.clock()})
        uri = totp.otpauth_uri(secret, account, ISSUER)
        return {"secret": secret, "otpauth_uri": uri, "qr_svg": totp.qr_svg(uri),
                "digits": totp.DIGITS, "period": totp.STEP_S, "algorithm": "SHA1"}

    async def verify(self, tenant_id: str, user_id: str, code: str, *,
                     ip: str | None = None) -> dict[str, Any]:
        """Confirm enrolment with a first code (returns the recovery codes, shown once),
        or check a code for an enabled account."""
        state = await self._state(tenant_id, user_id)
        if not state.get("secret_enc"):
            raise InvalidArguments("start with /api/auth/mfa/enroll", field="code")
        step = await self._check_totp(tenant_id, user_id, state, code)
        if step is None:
            await self.monitor.emit(ev.MFA_FAILED, tenant_id=tenant_id, user_id=user_id, ip=ip)
            raise AuthError("that code is not valid; use the current code from your app")
        state["last_step"] = step
        out: dict[str, Any] = {"enabled": True}
        if not state.get("enabled"):
            codes = totp.new_recovery_codes()
            state.update(enabled=True, recovery=[totp.hash_recovery_code(c) for c in codes],
                         enabled_at=self.clock())
            out["recovery_codes"] = codes
            await self.monitor.emit(ev.MFA_ENROLLED, tenant_id=tenant_id, user_id=user_id, ip=ip)
        await self._save(tenant_id, user_id, state)
        return out

    async def new_recovery_codes(self, tenant_id: str, user_id: str, code: str, *,
                                 ip: str | None = None) -> list[str]:
        """Replace every recovery code; needs a current TOTP code."""
        state = await self._state(tenant_id, user_id)
        if not state.get("enabled"):
            raise Conflict("MFA is not enabled for this account")
        step = await self._check_totp(tenant_id, user_id, state, code)
        if step is None:
            await self.monitor.emit(ev.MFA_FAILED, tenant_id=tenant_id, user_id=user_id, ip=ip)
            raise AuthError("that code is not valid; use the current code from your app")
        codes = totp.new_recovery_codes()
        state.update(last_step=step, recovery=[totp.hash_recovery_code(c) for c in codes])
        await self._save(tenant_id, user_id, state)
        return codes

    async def disable(self, tenant_id: str, user_id: str, *, by: str | None = None) -> None:
        """Admin recovery for a person who lost the device and the codes."""
        await self._save(tenant_id, user_id, {})
        await self.monitor.emit(ev.MFA_DISABLED, tenant_id=tenant_id, user_id=user_id,
                                details={"by": by} if by else None)

    # -- login -------------------------------------------------------------------
    async def check_login(self, tenant_id: str, user_id: str, role: str, code: str | None, *,
                          ip: str | None = None, account: str | None = None) -> bool:
        """Call after the password matched. True when a second factor was checked.

        Raises MfaRequired without a code, AuthError (and emits `mfa_failed`, which
        the brute-force rules count under `account`, the login's account key, like
        wrong passwords) with a wrong or reused one. Admins still to enrol
        can sign in (to enrol); :meth:`admin_ok` refuses them on admin routes.
        """
        state = await self._state(tenant_id, user_id)
        if not state.get("enabled"):
            return False
        if not code:
            raise MfaRequired("this account uses two-step sign-in: send the 6-digit code from "
                              "your authenticator app (or a recovery code) as `mfa_code`")
        step = await self._check_totp(tenant_id, user_id, state, code)
        if step is not None:
            state["last_step"] = step
            await self._save(tenant_id, user_id, state)
            return True
        remaining = totp.use_recovery_code(list(state.get("recovery") or []), code)
        if remaining is not None:
            state["recovery"] = remaining
            await self._save(tenant_id, user_id, state)
            await self.monitor.emit(ev.RECOVERY_CODE_USED, tenant_id=tenant_id,
                                    user_id=user_id, ip=ip, details={"left": len(remaining)})
            return True
        await self.monitor.emit(ev.MFA_FAILED, tenant_id=tenant_id, user_id=user_id, ip=ip,
                                details={"account": account} if account else None)
        raise AuthError("the two-step sign-in code is not valid (or was already used)")

    async def admin_ok(self, tenant_id: str, user_id: str, role: str) -> None:
        """Refuse an admin without MFA while `[security] require_admin_mfa` is on."""
        if role != "admin" or not self.services.config.security.require_admin_mfa:
            return
        if not await self.enabled(tenant_id, user_id):
            raise MfaEnrolmentRequired(
                "administrators must enable two-step sign-in first: POST /api/auth/mfa/enroll, "
                "then /api/auth/mfa/verify with a code")

    async def _check_totp(self, tenant_id: str, user_id: str, state: dict[str, Any],
                          code: str) -> int | None:
        secret = self._open(tenant_id, user_id, state["secret_enc"])
        step = totp.verify(secret, code, self.clock(), last_step=state.get("last_step"))
        if step is None:
            return None
        store = self.services.ratelimiter
        if store is not None and await store.incr_window(
                f"sec:totp:{user_id}:{step}", 3 * totp.STEP_S) != 1:
            return None  # spent on another instance a moment ago
        return step
