"""Push-notification webhooks: SSRF screening and delivery with retries.

`check_address` is pure; `resolve_and_check` resolves the host on the loop and
refuses the URL when any address is loopback, private, link-local, multicast,
reserved or unspecified (unless private webhooks are allowed, for tests and
closed networks). Delivery re-checks, since DNS can change between the two.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import orjson
import structlog

from pierre.a2a.errors import InvalidParams

log = structlog.get_logger("pierre.a2a.webhooks")

RETRY_DELAYS_S = (0.5, 1.0, 2.0)
TIMEOUT_S = 5.0


def check_url_shape(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidParams("push notification url must be an absolute http(s) URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InvalidParams("push notification url has an invalid port") from None
    return parts.hostname, port


def is_forbidden_ip(ip: str) -> bool:
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return (addr.is_private or addr.is_loopback or addr.is_link_local or addr.is_multicast
            or addr.is_reserved or addr.is_unspecified or not addr.is_global)


def check_address(host: str, addresses: list[str], allow_private: bool) -> None:
    if allow_private:
        return
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(
            ".localhost"):
        raise InvalidParams("push notification url must not point to a local or private address")
    for ip in addresses:
        if is_forbidden_ip(ip):
            raise InvalidParams(
                "push notification url must not point to a local or private address")


async def resolve_and_check(url: str, allow_private: bool) -> None:
    host, port = check_url_shape(url)
    if allow_private:
        return
    try:
        ipaddress.ip_address(host)
        addresses = [host]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM)
        except OSError:
            raise InvalidParams(f"push notification host {host!r} does not resolve") from None
        addresses = [str(info[4][0]) for info in infos]
    check_address(host, addresses, allow_private)


def headers_for(cfg: dict[str, Any]) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if cfg.get("token"):
        headers["X-A2A-Notification-Token"] = cfg["token"]
    auth = cfg.get("authentication") or {}
    if auth.get("credentials"):
        headers["Authorization"] = f"{auth.get('scheme') or 'Bearer'} {auth['credentials']}"
    return headers


async def deliver(session: Any, cfg: dict[str, Any], payload: dict[str, Any],
                  allow_private: bool) -> bool:
    """POST `payload` with retries on network errors and 5xx/429; never raises."""
    body = orjson.dumps(payload)
    for attempt, delay in enumerate((0.0, *RETRY_DELAYS_S)):
        if delay:
            await asyncio.sleep(delay)
        try:
            await resolve_and_check(cfg["url"], allow_private)
            async with session.post(cfg["url"], data=body, headers=headers_for(cfg),
                                    timeout=TIMEOUT_S, allow_redirects=False) as resp:
                if resp.status < 300:
                    return True
                if resp.status < 500 and resp.status != 429:
                    log.warning("a2a_push_rejected", status=resp.status, task=cfg.get("taskId"))
                    return False
        except InvalidParams as exc:
            log.warning("a2a_push_refused", reason=exc.message, task=cfg.get("taskId"))
            return False
        except (TimeoutError, OSError) as exc:
            log.info("a2a_push_retry", attempt=attempt, error=type(exc).__name__)
        except Exception as exc:  # aiohttp ClientError and friends
            log.info("a2a_push_retry", attempt=attempt, error=type(exc).__name__)
    log.warning("a2a_push_failed", task=cfg.get("taskId"))
    return False
