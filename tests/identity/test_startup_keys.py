"""A wrong master key stops the real daemon with a clear message and changes nothing."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest


def test_wrong_master_key_stops_startup_and_keeps_data(daemon_factory: Any) -> None:
    d = daemon_factory()
    d.stop()
    key_file = Path(d.config["server"]["data_dir"]) / "master.key"
    db_file = Path(d.config["database"]["path"])
    original = key_file.read_text()
    key_file.write_text(base64.b64encode(os.urandom(32)).decode())
    before = db_file.read_bytes()
    with pytest.raises(RuntimeError) as err:
        d.start()
    assert "master key does not match" in str(err.value)
    assert "Traceback" not in str(err.value)
    assert db_file.read_bytes() == before
    key_file.write_text(original)
    d.start()  # the right key still opens everything
