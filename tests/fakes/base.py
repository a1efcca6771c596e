"""A real aiohttp server on 127.0.0.1, port 0, started and stopped by the test."""

from __future__ import annotations

from aiohttp import web


class FakeServer:
    def __init__(self) -> None:
        self.app = web.Application()
        self.runner: web.AppRunner | None = None
        self.port = 0
        self.calls: list[tuple[str, str]] = []

        @web.middleware
        async def record(request: web.Request, handler):  # type: ignore[no-untyped-def]
            self.calls.append((request.method, request.path))
            return await handler(request)

        self.app.middlewares.append(record)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FakeServer:
        self.runner = web.AppRunner(self.app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
