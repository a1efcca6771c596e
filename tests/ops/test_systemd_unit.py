"""The shipped systemd unit: hardening score and the directives the daemon relies on."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "pierre.service"


def unit() -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNIT)
    return parser


def test_unit_declares_what_the_daemon_speaks() -> None:
    svc = unit()["Service"]
    assert svc["Type"] == "notify" and svc["NotifyAccess"] == "main"
    assert "kill -HUP" in svc["ExecReload"]
    assert svc["Restart"] == "on-failure"
    assert int(svc["LimitNOFILE"]) >= 10_240
    # TimeoutStopSec must exceed the production drain grace (20 s) plus backend close.
    assert int(svc["TimeoutStopSec"].rstrip("s")) > 20
    assert svc["WatchdogSec"]
    text = UNIT.read_text()
    for cred in ("security.master_key", "database.dsn"):
        assert f"LoadCredential={cred}:" in text


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_security_exposure_is_at_most_2() -> None:
    res = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", str(UNIT)],
        capture_output=True, text=True, timeout=60,
    )
    found = re.search(r"Overall exposure level for pierre\.service: ([0-9.]+)", res.stdout)
    assert found, res.stdout[-2000:] + res.stderr[-2000:]
    assert float(found.group(1)) <= 2.0
