"""The daemon: owns the event loop, start order, signals, reload and drain.

Start order: config → logging → plugins → database → crypto → cache →
rate limiter → identity → security monitor → providers → tools → HTTP
listener → MCP WebSocket listener → READY. Stop runs in reverse. The loop is a uvloop loop created
here (no ``asyncio.run``), so the daemon decides when it starts and stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import socket
import ssl
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import structlog
from aiohttp import web

from pierre import __version__
from pierre.config import Config, load_config
from pierre.errors import ConfigError, PierreError
from pierre.logs import configure_logging
from pierre.ops.metrics import Metrics
from pierre.ops.systemd import Notifier, listen_fds
from pierre.plugins.base import PluginContext
from pierre.plugins.registry import PluginRegistry
from pierre.services import Services
from pierre.tools.base import ToolRegistry

log = structlog.get_logger("pierre.daemon")


def make_ssl_context(cert: str, key: str) -> ssl.SSLContext:
    """TLS 1.2 minimum; OpenSSL prefers 1.3 when both sides speak it."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx


class Daemon:
    def __init__(self, config: Config, config_path: str | None = None) -> None:
        self.config = config
        self.config_path = config_path
        self.plugins = PluginRegistry()
        self.services = Services(config=config, plugins=self.plugins, tools=ToolRegistry())
        self.services.metrics = Metrics()
        self.services.metrics.info.labels(__version__).set(1)
        self.notifier = Notifier()
        self._stop = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._mcp: Any = None
        self._closers: list[Any] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._http_ssl: ssl.SSLContext | None = None
        self._mcp_ssl: ssl.SSLContext | None = None

    # -- start -----------------------------------------------------------------
    async def start(self) -> None:
        cfg = self.config
        self.plugins.discover()
        ctx = PluginContext(config=cfg, data_dir=cfg.resolve_path(cfg.server.data_dir))
        Path(ctx.data_dir).mkdir(parents=True, exist_ok=True)
        s = self.services
        from pierre import wiring

        await wiring.start_backends(s, ctx, self._closers)
        await self._start_http()
        await self._start_mcp()
        if cfg.server.demo:
            from pierre.bootstrap import print_banner

            print_banner(s)
        # Start-up objects (plugins, schemas, config) live as long as the process: keep them
        # out of the collector's generations so GC pauses stay short on the request path.
        gc.collect()
        gc.freeze()
        # Last: scripts and tests take the ports file as "everything is up".
        self._write_ports_file()
        self.notifier.notify("READY=1", self._status_line())
        if self.notifier.watchdog_s:
            self._spawn(self._watchdog(self.notifier.watchdog_s / 2))
        log.info(
            "daemon_ready",
            version=__version__,
            mcp_url=s.public_mcp_url(),
            http_url=s.public_http_url(),
            database=cfg.database.backend,
            ratelimit=cfg.ratelimit.backend,
        )

    async def _start_http(self) -> None:
        from pierre.http.app import build_app

        cfg = self.config
        app = build_app(self.services)
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=cfg.server.shutdown_grace_s
        )
        await self._runner.setup()
        if cfg.http.tls_cert and cfg.http.tls_key:
            self._http_ssl = make_ssl_context(
                cfg.resolve_path(cfg.http.tls_cert), cfg.resolve_path(cfg.http.tls_key)
            )
        inherited = self.services.extras.get("listen_fds", {})
        site: web.BaseSite
        if "http" in inherited:
            site = web.SockSite(self._runner, inherited["http"], ssl_context=self._http_ssl)
        else:
            site = web.TCPSite(
                self._runner, cfg.http.host, cfg.http.port, ssl_context=self._http_ssl,
                reuse_address=True,
            )
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            addr = sockets[0].getsockname()
            self.services.extras["http_bound"] = (addr[0], addr[1])
        log.info("http_listening", bound=self.services.extras.get("http_bound"))

    async def _start_mcp(self) -> None:
        from pierre.transports.websocket import McpWebSocketServer

        cfg = self.config
        if cfg.mcp.tls_cert and cfg.mcp.tls_key:
            self._mcp_ssl = make_ssl_context(
                cfg.resolve_path(cfg.mcp.tls_cert), cfg.resolve_path(cfg.mcp.tls_key)
            )
        inherited: dict[str, socket.socket] = self.services.extras.get("listen_fds", {})
        self._mcp = McpWebSocketServer(self.services, ssl_context=self._mcp_ssl)
        bound = await self._mcp.start(sock=inherited.get("mcp"))
        self.services.extras["mcp_bound"] = bound
        log.info("mcp_listening", bound=bound, path=cfg.mcp.path)

    def _write_ports_file(self) -> None:
        path = self.config.server.ports_file
        if not path:
            return
        target = Path(self.config.resolve_path(path))
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".tmp")
        mcp = self.services.extras.get("mcp_bound")
        http = self.services.extras.get("http_bound")
        tmp.write_bytes(orjson.dumps({"mcp": mcp[1] if mcp else None,
                                      "http": http[1] if http else None}))
        os.replace(tmp, target)  # atomic: readers never see a half-written file

    def _status_line(self) -> str:
        n = self._mcp.connection_count if self._mcp is not None else 0
        return f"STATUS=serving; {n} MCP WebSocket connections"

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _watchdog(self, every_s: float) -> None:
        # Sent from the loop itself, so a blocked loop misses the deadline and is restarted.
        while True:
            self.notifier.notify("WATCHDOG=1", self._status_line())
            await asyncio.sleep(every_s)

    # -- signals ---------------------------------------------------------------
    def install_signals(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.add_signal_handler(signal.SIGTERM, self._stop.set)
        loop.add_signal_handler(signal.SIGINT, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: self._spawn(self.reload()))

    async def reload(self) -> None:
        """Re-read and validate; apply what can change live; keep the old config on error."""
        self.notifier.notify("RELOADING=1", f"MONOTONIC_USEC={time.monotonic_ns() // 1000}")
        try:
            try:
                new = load_config(self.config_path)
            except ConfigError as exc:
                log.error("config_reload_rejected", problems=exc.problems)
                return
            old = self.config
            restart_needed = [
                f"{sec}.{key}"
                for sec in ("mcp", "http")
                for key in ("host", "port", "path")
                if getattr(getattr(old, sec), key, None) != getattr(getattr(new, sec), key, None)
            ]
            if new.database != old.database:
                restart_needed.append("database")
            if new.tracing != old.tracing:
                restart_needed.append("tracing")
            # Keep what cannot change live, take the rest.
            applied = replace(new, mcp=replace(new.mcp, host=old.mcp.host, port=old.mcp.port,
                                               path=old.mcp.path),
                              http=replace(new.http, host=old.http.host, port=old.http.port),
                              database=old.database, tracing=old.tracing)
            configure_logging(applied.logging.level, applied.logging.format)
            self._reload_tls(applied)
            self.config = applied
            self.services.config = applied
            from pierre import wiring

            await wiring.on_reload(self.services, old, applied)
            if self.services.security is not None:
                await self.services.security.emit(
                    "config_reloaded", details={"needs_restart": restart_needed})
            log.info("config_reloaded", level=applied.logging.level,
                     needs_restart=restart_needed or None)
        except Exception as exc:  # a reload must never take the daemon down
            log.error("config_reload_failed", error=f"{type(exc).__name__}: {exc}")
        finally:
            self.notifier.notify("READY=1", self._status_line())

    def _reload_tls(self, cfg: Config) -> None:
        # Reloading the chain into the live context affects new handshakes only.
        for ctx, sec in ((self._http_ssl, cfg.http), (self._mcp_ssl, cfg.mcp)):
            if ctx is not None and sec.tls_cert and sec.tls_key:
                ctx.load_cert_chain(cfg.resolve_path(sec.tls_cert), cfg.resolve_path(sec.tls_key))

    # -- stop ------------------------------------------------------------------
    async def wait(self) -> None:
        await self._stop.wait()

    def request_stop(self) -> None:
        self._stop.set()

    async def stop(self) -> None:
        self.notifier.notify("STOPPING=1")
        grace = self.config.server.shutdown_grace_s
        log.info("daemon_stopping", grace_s=grace)
        if self._mcp is not None:
            await self._mcp.close(grace)
        if self._runner is not None:
            await self._runner.cleanup()
        for task in list(self._tasks):
            task.cancel()
        for closer in reversed(self._closers):
            with contextlib.suppress(Exception):
                await closer()
        self.notifier.close()
        log.info("daemon_stopped")


async def _serve(daemon: Daemon) -> None:
    loop = asyncio.get_running_loop()
    daemon.services.extras["listen_fds"] = listen_fds()
    daemon.install_signals(loop)
    try:
        await daemon.start()
    except BaseException:
        await daemon.stop()
        raise
    await daemon.wait()
    await daemon.stop()


def serve(config_path: str | None) -> int:
    """Entry for `pierre serve`: build the uvloop loop and run until a signal."""
    import uvloop

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        configure_logging("info", "auto")
        for problem in exc.problems:
            print(f"config error: {problem}", flush=True, file=sys.stderr)
        return 2
    configure_logging(config.logging.level, config.logging.format)
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    daemon = Daemon(config, config_path)
    try:
        loop.run_until_complete(_serve(daemon))
    except PierreError as exc:
        log.error("startup_failed", error=exc.message)
        return 1
    finally:
        with contextlib.suppress(Exception):
            loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
    return 0
