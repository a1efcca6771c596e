"""The few identity operations the dashboard needs, over the identity capability.

Kept in one place so the pages do not depend on how `pierre.auth` spells its
functions: password check, API key create/list/revoke.
"""

from __future__ import annotations

import importlib
import inspect
from typing import TYPE_CHECKING, Any

from pierre.errors import AuthError, ServiceUnavailable

if TYPE_CHECKING:
    from pierre.auth.principal import Principal
    from pierre.plugins.database import UserRecord
    from pierre.services import Services


def _find(module: str, *names: str) -> Any:
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError:
        return None
    for name in names:
        fn = getattr(mod, name, None)
        if fn is not None:
            return fn
    return None


async def _call(fn: Any, *args: Any, **kw: Any) -> Any:
    out = fn(*args, **kw)
    return await out if inspect.isawaitable(out) else out


async def check_password(services: Services, email: str, password: str) -> UserRecord:
    """The active user with this email and password; AuthError with one vague message."""
    vague = AuthError("Wrong email or password")
    user = await services.db.find_user_by_email(email.strip().lower())
    verify = _find("pierre.auth.passwords", "verify_password", "verify")
    if verify is None:
        raise ServiceUnavailable("password sign-in is not available on this server")
    if user is None or not user.password_hash:
        return _raise(vague)
    if not await _call(verify, password, user.password_hash):
        raise vague
    if user.status != "active":
        raise AuthError("This account is disabled")
    return user


def _raise(exc: Exception) -> Any:
    raise exc


async def create_api_key(services: Services, principal: Principal, name: str) -> tuple[str, Any]:
    """(the key in clear, its record); the clear key is shown once and never stored."""
    fn = _find("pierre.auth.api_keys", "create_api_key", "create_key", "create")
    if fn is None:
        raise ServiceUnavailable("API keys are not available on this server")
    out = await _call(fn, services, principal, name=name)
    if isinstance(out, tuple):
        return str(out[0]), out[1]
    if isinstance(out, dict):
        return str(out.get("key") or out.get("api_key")), out
    return str(getattr(out, "key", "")), getattr(out, "record", out)


async def revoke_api_key(services: Services, principal: Principal, key_id: str) -> bool:
    fn = _find("pierre.auth.api_keys", "revoke_api_key", "revoke_key", "revoke")
    if fn is None:
        return bool(await services.db.revoke_api_key(principal.tenant_id, key_id))
    return bool(await _call(fn, services, principal, key_id))
