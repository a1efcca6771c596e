"""Talking to provider APIs safely: timeouts, retries on 5xx/network only, a circuit breaker.

`CircuitBreaker` is pure (time is passed in) so it is tested without sockets.
`HttpApi` is the thin aiohttp adapter every remote provider plugin uses: it maps
HTTP outcomes onto Pierre's error vocabulary in one place. A 429 is never
retried in the same call: the caller is told when the provider's window resets.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
import structlog

from pierre.errors import NotFound, ProviderError, RateLimited, ServiceUnavailable
from pierre.ops.tracing import CLIENT, LiveSpan, NullSpan, tracer

log = structlog.get_logger("pierre.providers")


class TokenRejected(ProviderError):
    """The provider refused the access token (401): refresh once, then reconnect."""

    http_status = 401
    code = "provider_token_rejected"


class CircuitOpen(ServiceUnavailable):
    code = "provider_unavailable"


@dataclass(slots=True)
class CircuitBreaker:
    """Opens after `threshold` consecutive failures; after `cooldown_s` one trial call
    goes through (half-open): success closes it, failure opens it again."""

    threshold: int = 5
    cooldown_s: float = 30.0
    failures: int = 0
    opened_at: float | None = None
    _trial_in_flight: bool = False

    def allow(self, now: float) -> bool:
        if self.opened_at is None:
            return True
        if now - self.opened_at >= self.cooldown_s and not self._trial_in_flight:
            self._trial_in_flight = True
            return True
        return False

    def retry_in(self, now: float) -> float:
        if self.opened_at is None:
            return 0.0
        return max(0.0, self.cooldown_s - (now - self.opened_at))

    def success(self) -> None:
        self.failures = 0
        self.opened_at = None
        self._trial_in_flight = False

    def failure(self, now: float) -> None:
        self.failures += 1
        self._trial_in_flight = False
        if self.failures >= self.threshold:
            self.opened_at = now

    @property
    def state(self) -> str:
        return "closed" if self.opened_at is None else "open"


def backoff_s(attempt: int, base: float, cap: float = 5.0) -> float:
    """Full-jitter exponential backoff (AWS architecture blog): spreads retries out."""
    return random.uniform(0, min(cap, base * (2 ** attempt)))


@dataclass(slots=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes
    data: Any = field(default=None)


# (status, headers, parsed body) -> seconds until the provider's window resets
ResetFn = Callable[[int, Mapping[str, str], Any], float]
# (status, parsed body) -> a person-readable reason taken from the provider's error body
MessageFn = Callable[[int, Any], str | None]


def default_reset(status: int, headers: Mapping[str, str], data: Any) -> float:
    try:
        return float(headers.get("Retry-After", "60"))
    except ValueError:
        return 60.0


class HttpApi:
    """One provider's HTTP client: shared session, breaker and error mapping."""

    def __init__(self, provider: str, display: str, *, timeout_s: float = 15.0,
                 retries: int = 2, backoff_base_s: float = 0.2,
                 reset: ResetFn = default_reset, message: MessageFn | None = None,
                 breaker: CircuitBreaker | None = None) -> None:
        self.provider = provider
        self.display = display
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.retries = retries
        self.backoff_base_s = backoff_base_s
        self.reset = reset
        self.message = message or (lambda status, data: None)
        self.breaker = breaker or CircuitBreaker()
        self._session: aiohttp.ClientSession | None = None
        # Last response headers, for upstream quota tracking by the manager.
        self.last_headers: Mapping[str, str] = {}
        self.on_headers: Callable[[Mapping[str, str]], None] | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout,
                                                  headers={"User-Agent": "pierre"})
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(self, method: str, url: str, *, token: str | None = None,
                      params: Mapping[str, Any] | None = None,
                      data: Mapping[str, Any] | None = None,
                      headers: Mapping[str, str] | None = None,
                      ok: tuple[int, ...] = (200, 201, 202, 204),
                      retry: bool = True) -> Response:
        """Send; retry 5xx/network with backoff; map failures to Pierre errors."""
        # One CLIENT span per call (retries included); no URL: paths carry user ids.
        with tracer.span(f"{self.provider} {method}", {
                "pierre.provider": self.provider, "http.request.method": method}, CLIENT
                ) as span:
            return await self._request(span, method, url, token=token, params=params,
                                       data=data, headers=headers, ok=ok, retry=retry)

    async def _request(self, span: NullSpan | LiveSpan, method: str, url: str, *,
                       token: str | None, params: Mapping[str, Any] | None,
                       data: Mapping[str, Any] | None, headers: Mapping[str, str] | None,
                       ok: tuple[int, ...], retry: bool) -> Response:
        now = time.monotonic()
        if not self.breaker.allow(now):
            raise CircuitOpen(
                f"{self.display} is failing; calls are paused for "
                f"{self.breaker.retry_in(now):.0f} s", details={"provider": self.provider})
        hdrs = dict(headers or {})
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        attempts = 1 + (self.retries if retry else 0)
        last_error = ""
        for attempt in range(attempts):
            if attempt:
                span.set("pierre.provider.retries", attempt)
                await asyncio.sleep(backoff_s(attempt - 1, self.backoff_base_s))
            try:
                async with self.session.request(method, url, params=params, data=data,
                                                headers=hdrs) as resp:
                    body = await resp.read()
                    status = resp.status
                    rheaders = resp.headers
            except (aiohttp.ClientError, TimeoutError) as exc:
                last_error = f"network error: {type(exc).__name__}"
                log.warning("provider_network_error", provider=self.provider,
                            attempt=attempt + 1, error=type(exc).__name__)
                continue
            span.set("http.response.status_code", status)
            self.last_headers = rheaders
            if self.on_headers is not None:
                self.on_headers(rheaders)
            parsed = _parse(body)
            if status >= 500:
                last_error = f"HTTP {status}"
                log.warning("provider_server_error", provider=self.provider, status=status,
                            attempt=attempt + 1)
                continue
            self.breaker.success()
            if status in ok:
                return Response(status, rheaders, body, parsed)
            self._raise(status, rheaders, parsed)
        self.breaker.failure(time.monotonic())
        raise ProviderError(f"{self.display} is not answering ({last_error}); try again later",
                            provider=self.provider, status=502)

    def _raise(self, status: int, headers: Mapping[str, str], data: Any) -> None:
        reason = self.message(status, data)
        if status == 429:
            wait = max(1.0, self.reset(status, headers, data))
            raise RateLimited(
                f"{self.display} rate limit reached; its window resets in {wait:.0f} s",
                retry_after=wait, scope=f"provider:{self.provider}",
                details={"provider": self.provider})
        if status == 401:
            raise TokenRejected(f"{self.display} rejected the access token"
                                + (f": {reason}" if reason else ""),
                                provider=self.provider, status=status)
        if status == 404:
            raise NotFound(f"{self.display}: not found" + (f" ({reason})" if reason else ""))
        raise ProviderError(f"{self.display} refused the request (HTTP {status})"
                            + (f": {reason}" if reason else ""),
                            provider=self.provider, status=status)


def _parse(body: bytes) -> Any:
    if not body:
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
