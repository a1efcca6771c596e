"""Typed configuration loaded from TOML, environment and secret files."""

from pierre.config.loader import config_path_from, load_config
from pierre.config.schema import Config

__all__ = ["Config", "config_path_from", "load_config"]
