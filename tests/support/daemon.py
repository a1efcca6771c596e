"""Run the real daemon as a subprocess on port 0, in its own temporary folder.

Tests talk to it only through its sockets and its CLI, like a user would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.support import toml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent / "pierre"


def deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def base_config(tmp: Path) -> dict[str, Any]:
    return {
        "server": {"data_dir": str(tmp / "var"), "ports_file": str(tmp / "ports.json"),
                   "shutdown_grace_s": 5.0, "demo": False},
        "mcp": {"host": "127.0.0.1", "port": 0},
        "http": {"host": "127.0.0.1", "port": 0},
        "database": {"backend": "sqlite", "path": str(tmp / "var" / "pierre.db")},
        "ratelimit": {"backend": "memory"},
        "cache": {"backend": "memory"},
        "security": {"generate_master_key": True, "registration": "open"},
        "providers": {"synthetic": {"enabled": True, "seed": 7}},
        "logging": {"level": "debug", "format": "json"},
    }


class DaemonProcess:
    def __init__(self, tmp: Path, overrides: Mapping[str, Any] | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.tmp = tmp
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.config = deep_merge(base_config(tmp), overrides or {})
        self.config_path = tmp / "pierre.toml"
        self.log_path = tmp / "daemon.log"
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.mcp_port = 0
        self.http_port = 0

    def write_config(self, config: Mapping[str, Any] | None = None) -> None:
        if config is not None:
            self.config = dict(config)
        self.config_path.write_text(toml.dumps(self.config))

    @property
    def ports_file(self) -> Path:
        return Path(self.config["server"]["ports_file"])

    def start(self, timeout: float = 30.0) -> DaemonProcess:
        self.write_config()
        self.ports_file.unlink(missing_ok=True)
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [str(BIN), "serve", "--config", str(self.config_path)],
            stdout=self._log, stderr=subprocess.STDOUT, env=self.env, cwd=self.tmp,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited with {self.proc.returncode}:\n{self.logs()}")
            if self.ports_file.exists():
                ports = json.loads(self.ports_file.read_text())
                self.mcp_port, self.http_port = ports["mcp"], ports["http"]
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"daemon did not start within {timeout}s:\n{self.logs()}")

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.mcp_port}{self.config['mcp'].get('path', '/mcp')}"

    def logs(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_events(self) -> list[dict[str, Any]]:
        out = []
        for line in self.logs().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def cli(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run `pierre ARGS --config <this daemon's config>`."""
        res = subprocess.run(
            [str(BIN), *args, "--config", str(self.config_path)], capture_output=True,
            text=True, input=input, env=self.env, cwd=self.tmp, timeout=60,
        )
        if check and res.returncode != 0:
            raise RuntimeError(f"pierre {' '.join(args)} failed ({res.returncode}): {res.stderr}")
        return res

    def cli_json(self, *args: str) -> Any:
        return json.loads(self.cli(*args, "--json").stdout)

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode
