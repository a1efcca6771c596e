"""Alerts: their shape, the HMAC signature, and SSRF-safe webhook delivery with retries.

The signature is `X-Pierre-Signature: sha256=<hex HMAC-SHA256(secret, "<ts>.<body>")>`
with `X-Pierre-Timestamp: <ts>`; a receiver recomputes it and refuses old
timestamps, so a captured alert cannot be replayed later.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import socket
import time
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson
import structlog

from pierre.security.config import WebhookConfig

log = structlog.get_logger("pierre.security.alerts")

SIGNATURE_HEADER = "X-Pierre-Signature"
TIMESTAMP_HEADER = "X-Pierre-Timestamp"


@dataclass(frozen=True, slots=True)
class Alert:
    id: str
    rule: str
    severity: str
    subject: dict[str, str]
    evidence: dict[str, Any]
    actions: list[dict[str, Any]]
    created_at: float
    tenant_id: str | None = None
    acknowledged_by: str | None = None
    acknowledged_at: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("extra")
        return d


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, *,
           now: float | None = None, tolerance_s: float = 300.0) -> bool:
    """What a receiver does: constant-time compare and a freshness check."""
    try:
        ts = float(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def forbidden_ip(ip: str) -> bool:
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return not addr.is_global or addr.is_multicast or addr.is_reserved


class UnsafeTarget(Exception):
    pass


async def check_target(url: str, allow_private: bool) -> None:
    """Refuse non-http(s) URLs and hosts resolving to loopback/private/link-local space."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeTarget("webhook url must be an absolute http(s) URL")
    if allow_private:
        return
    host = parts.hostname
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, parts.port or 443, type=socket.SOCK_STREAM)
        except OSError:
            raise UnsafeTarget(f"webhook host {host!r} does not resolve") from None
        addresses = [str(info[4][0]) for info in infos]
    if host.lower() == "localhost" or any(forbidden_ip(a) for a in addresses):
        raise UnsafeTarget("webhook url points to a loopback or private address")


async def deliver(session: Any, cfg: WebhookConfig, payload: dict[str, Any],
                  sleep: Any = asyncio.sleep) -> bool:
    """POST the signed payload; retry network errors, 429 and 5xx with backoff. Never raises."""
    if not cfg.url:
        return False
    body = orjson.dumps(payload)
    for attempt in range(cfg.retries + 1):
        if attempt:
            await sleep(cfg.backoff_s * 2 ** (attempt - 1))
        try:
            await check_target(cfg.url, cfg.allow_private)
            ts = str(int(time.time()))
            headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: ts}
            if cfg.secret:
                headers[SIGNATURE_HEADER] = sign(cfg.secret, ts, body)
            async with session.post(cfg.url, data=body, headers=headers, timeout=cfg.timeout_s,
                                    allow_redirects=False) as resp:
                if resp.status < 300:
                    return True
                if resp.status < 500 and resp.status != 429:
                    log.warning("security_webhook_rejected", status=resp.status)
                    return False
                log.info("security_webhook_retry", attempt=attempt, status=resp.status)
        except UnsafeTarget as exc:
            log.warning("security_webhook_refused", reason=str(exc))
            return False
        except Exception as exc:  # aiohttp ClientError, timeouts, OSError
            log.info("security_webhook_retry", attempt=attempt, error=type(exc).__name__)
    log.warning("security_webhook_failed", attempts=cfg.retries + 1)
    return False
