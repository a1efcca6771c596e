"""Rate limits on the REST API: X-RateLimit-* on answers, 429 + Retry-After on refusals.

How a REST handler uses it (after authenticating the caller)::

    from pierre.ratelimit.http import limit_request
    decision = await limit_request(request, principal)   # raises RateLimited -> 429
    ... build the response ...

`setup` (listed in pierre.http.app.ROUTE_MODULES) installs a response hook that
copies the request's decision into the headers of whatever answer goes out,
the 429 built by the error middleware included; handlers that build their own
response may call `apply_headers(response, decision)` directly instead. It
also serves `GET /api/ratelimit`: the caller's current budget (the call
counts, like any other).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from pierre.errors import AuthError, RateLimited, ServiceUnavailable
from pierre.plugins.ratelimit import Decision

if TYPE_CHECKING:
    from pierre.auth.principal import Principal
    from pierre.services import Services

# Typed request key where aiohttp has them (3.13+), a plain string before.
DECISION_KEY: Any = (
    web.RequestKey("ratelimit_decision", Decision) if hasattr(web, "RequestKey")
    else "pierre.ratelimit.decision"
)


def apply_headers(response: web.StreamResponse, decision: Decision) -> None:
    """Set X-RateLimit-Limit/Remaining/Reset (no-op when nothing was enforced)."""
    from pierre.ratelimit.service import RateLimitService

    for name, value in RateLimitService.headers(decision).items():
        response.headers[name] = value


def _services(request: web.Request) -> Services:
    from pierre.http.app import SERVICES

    return request.app[SERVICES]


async def limit_request(request: web.Request, principal: Principal, cost: int = 1) -> Decision:
    """Charge one REST call to `principal`; the decision rides on the request so the
    response hook can add headers. Raises RateLimited (mapped to 429 + Retry-After)."""
    limits = _services(request).limits
    if limits is None:
        return Decision(True, 0, 0, 0.0, 0.0, "unenforced")
    try:
        decision: Decision = await limits.check_call(principal, cost)
    except RateLimited as exc:
        if exc.limit is not None:
            request[DECISION_KEY] = Decision(False, exc.limit, 0, exc.retry_after,
                                             exc.retry_after, exc.scope)
        raise
    request[DECISION_KEY] = decision
    return decision


async def _on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    decision = request.get(DECISION_KEY)
    if decision is not None:
        apply_headers(response, decision)


async def _authenticate(request: web.Request) -> Principal:
    services = _services(request)
    if services.authenticator is None:
        raise ServiceUnavailable("authentication is not available on this server")
    auth = request.headers.get("Authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("send an API key or access token as 'Authorization: Bearer <token>'")
    return await services.authenticator.authenticate(
        token.strip(), transport="http", ip=request.remote,
        user_agent=request.headers.get("User-Agent"),
    )


async def ratelimit_status(request: web.Request) -> web.Response:
    principal = await _authenticate(request)
    decision = await limit_request(request, principal)
    return web.json_response({
        "tier": principal.tier,
        "scope": decision.scope,
        "limit": decision.limit,
        "remaining": decision.remaining,
        "reset_s": round(decision.reset_s, 3),
    })


def setup(app: web.Application, services: Services) -> None:
    app.on_response_prepare.append(_on_prepare)
    app.router.add_get("/api/ratelimit", ratelimit_status)
