"""Plugin registry: third-party distributions are found, listed, checked and selectable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pierre.errors import PluginError
from pierre.plugins.registry import PluginRegistry

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "plugin_fixtures" / "pierre-unlimited"
PIERRE = Path(sys.executable).parent / "pierre"


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Install the throwaway distribution into a private site folder (removed afterwards)."""
    site = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--target", str(site), str(FIXTURE)],
        check=True, capture_output=True, timeout=180,
    )
    return site


def run(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([str(PIERRE), *args], capture_output=True, text=True, env=env,
                          timeout=60)


def test_builtins_are_registered_through_entry_points() -> None:
    reg = PluginRegistry().discover()
    assert "sqlite" in reg.names("pierre.databases")
    assert "memory" in reg.names("pierre.ratelimiters")
    assert "memory" in reg.names("pierre.caches")
    assert {"synthetic", "localfiles"} <= set(reg.names("pierre.providers"))


def test_missing_backend_names_installed_ones_and_the_package() -> None:
    reg = PluginRegistry().discover()
    with pytest.raises(PluginError) as info:
        reg.get("pierre.ratelimiters", "redis-typo")
    assert "installed: " in info.value.message and "memory" in info.value.message
    if "postgres" not in reg.names("pierre.databases"):
        with pytest.raises(PluginError, match="install the 'pierre-postgres' package"):
            reg.get("pierre.databases", "postgres")


def test_third_party_plugin_listed_with_broken_and_incompatible_ones(plugin_site: Path) -> None:
    res = run(plugin_site, "plugins", "--json")
    assert res.returncode == 0, res.stderr
    rows = {(r["group"], r["name"]): r for r in json.loads(res.stdout)}
    ok = rows[("pierre.ratelimiters", "unlimited")]
    assert ok["status"] == "ok" and ok["distribution"] == "pierre-unlimited"
    assert ok["version"] == "0.0.1" and ok["api_version"] == "1.0"
    broken = rows[("pierre.ratelimiters", "broken")]
    assert broken["status"] == "error" and "ModuleNotFoundError" in broken["error"]
    ancient = rows[("pierre.ratelimiters", "ancient")]
    assert ancient["status"] == "incompatible" and "0.3" in ancient["error"]
    # The table form lists them too, and a broken plugin is not fatal.
    table = run(plugin_site, "plugins")
    assert table.returncode == 0 and "pierre-unlimited" in table.stdout


def test_third_party_plugin_selectable_from_toml(plugin_site: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "pierre.toml"
    cfg.write_text('[ratelimit]\nbackend = "unlimited"\n')
    res = run(plugin_site, "check-config", "--config", str(cfg))
    assert res.returncode == 0, res.stderr
    cfg.write_text('[ratelimit]\nbackend = "ancient"\n')
    res = run(plugin_site, "check-config", "--config", str(cfg))
    assert res.returncode == 1
    assert "ratelimit.backend" in res.stderr and "built for plugin API 0.3" in res.stderr


def test_check_config_lists_every_error_and_fails(tmp_path: Path) -> None:
    cfg = tmp_path / "broken.toml"
    cfg.write_text('[mcp]\nport = "x"\nwat = 1\n[database]\nmigrate_on_start = "yes"\n')
    res = subprocess.run([str(PIERRE), "check-config", "--config", str(cfg)],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 1
    assert "mcp.port: expected integer, got string" in res.stderr
    assert "mcp.wat: unknown key" in res.stderr
    assert "database.migrate_on_start: expected boolean, got string" in res.stderr
    assert "3 error(s)" in res.stderr


def test_every_command_has_help() -> None:
    for cmd in ([], ["serve"], ["check-config"], ["plugins"], ["migrate"], ["version"]):
        res = subprocess.run([str(PIERRE), *cmd, "--help"], capture_output=True, text=True,
                             timeout=60)
        assert res.returncode == 0 and "usage: pierre" in res.stdout
