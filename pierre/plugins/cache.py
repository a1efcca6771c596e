"""The `pierre.caches` contract: a TTL cache and the shared session store.

The same backend serves provider-response caching and the session store
(Streamable HTTP MCP sessions, OAuth `state` values), so that any instance of
a multi-instance deployment can serve any request.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

API_VERSION = "1.0"


@runtime_checkable
class Cache(Protocol):
    """Keys are namespaced by the caller (`t:{tenant}:u:{user}:…`). Values are bytes."""

    API_VERSION: str

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def health(self) -> None: ...

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl_s: float) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def delete_prefix(self, prefix: str) -> int:
        """Drop every key starting with `prefix` (provider disconnect); return how many."""
        ...

    async def pop(self, key: str) -> bytes | None:
        """Get and delete atomically: single-use values such as OAuth `state`."""
        ...

    async def touch(self, key: str, ttl_s: float) -> bool:
        """Extend a key's expiry; False when it is gone (expired session)."""
        ...

    async def publish(self, channel: str, message: bytes) -> None:
        """Fan a message out to every instance subscribed to `channel`."""
        ...

    def subscribe(self, channel: str) -> Subscription: ...


class Subscription(Protocol):
    """Messages published after the subscription is ready arrive in order."""

    async def ready(self) -> None:
        """Wait until the backend confirmed the subscription (publishes after this
        are seen); `get` waits for it too."""
        ...

    async def get(self, timeout: float | None = None) -> bytes | None:
        """The next message, or None after `timeout` seconds (or once closed)."""
        ...

    async def close(self) -> None: ...
