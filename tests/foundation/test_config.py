"""Configuration: typed validation reporting every error with its key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from pierre.config import load_config
from pierre.config.loader import apply_env
from pierre.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "pierre.toml"
    p.write_text(text)
    return p


def test_shipped_configs_are_valid() -> None:
    cfg = load_config(ROOT / "config" / "pierre.toml", environ={})
    assert cfg.database.backend == "sqlite"
    assert cfg.mcp.port == 8080 and cfg.http.port == 8081
    # Relative paths resolve against the config file's folder, not the cwd.
    assert cfg.resolve_path(cfg.database.extra["path"]) == str(ROOT / "var" / "pierre.db")
    prod = load_config(ROOT / "config" / "pierre.production.toml",
                       environ={"PIERRE_SECURITY__MASTER_KEY": "x" * 44})
    assert prod.database.backend == "postgres"


def test_every_error_is_reported_with_its_key_path(tmp_path: Path) -> None:
    path = write(tmp_path, """
[server]
shutdown_grace_s = "soon"
[mcp]
port = 70000
prot = 1
[http]
port = "8081"
[ratelimit]
on_backend_error = "explode"
[ratelimit.tiers.gold]
capacity = -1
[logging]
level = 3
[nonsense]
x = 1
""")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    problems = info.value.problems
    expected = [
        "server.shutdown_grace_s: expected number, got string",
        "mcp.prot: unknown key",
        "http.port: expected integer, got string",
        "ratelimit.on_backend_error: expected one of 'fail_open', 'fail_closed', got 'explode'",
        "logging.level: expected one of 'debug', 'info', 'warning', 'error', got 3",
        "nonsense: unknown key",
        "mcp.port: expected 0..65535, got 70000",
        "ratelimit.tiers.gold.capacity: must be positive",
    ]
    for line in expected:
        assert line in problems, (line, problems)
    assert len(problems) == len(expected)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[server\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert str(path) in info.value.problems[0] and "not valid TOML" in info.value.problems[0]


def test_environment_overrides_and_types() -> None:
    data: dict = {"mcp": {"port": 1}}
    apply_env(data, {
        "PIERRE_MCP__PORT": "9000",
        "PIERRE_DATABASE__DSN": "postgresql://u@h/db",
        "PIERRE_PROVIDERS__STRAVA__CLIENT_ID": "123",
        "PIERRE_MCP__ALLOW_QUERY_TOKEN": "false",
        "PIERRE_CONFIG": "/ignored",
        "OTHER": "x",
    })
    assert data["mcp"] == {"port": 9000, "allow_query_token": False}
    assert data["database"] == {"dsn": "postgresql://u@h/db"}
    assert data["providers"] == {"strava": {"client_id": 123}}


def test_secret_files_and_systemd_credentials(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("s3cr3t\n")
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "security.master_key").write_text("from-credentials\n")
    path = write(tmp_path, """
[providers.strava]
client_id = "1"
client_secret_file = "secret.txt"
""")
    cfg = load_config(path, environ={"CREDENTIALS_DIRECTORY": str(creds)})
    assert cfg.providers["strava"].client_secret == "s3cr3t"
    assert cfg.security.master_key == "from-credentials"


def test_missing_secret_file_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, '[security]\nmaster_key_file = "nope.key"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert info.value.problems[0].startswith("security.master_key_file: cannot read")


def test_plugin_options_are_kept_for_the_plugin(tmp_path: Path) -> None:
    path = write(tmp_path, '[database]\nbackend = "postgres"\ndsn = "postgresql:///x"\n'
                           'max_size = 20\n')
    cfg = load_config(path, environ={})
    assert cfg.database.extra == {"dsn": "postgresql:///x", "max_size": 20}
