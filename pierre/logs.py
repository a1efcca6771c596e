"""structlog pipeline: context, level, UTC time, secret redaction, then a renderer."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import orjson
import structlog

_SECRET_KEY = re.compile(
    r"(pass(word)?|secret|token|api_?key|authorization|master_?key|dsn|cookie|code_verifier)",
    re.I,
)
# Values that look like credentials even under an innocent key.
_SECRET_VALUE = re.compile(
    r"(pk_(live|trial)_[A-Za-z0-9_\-]+|eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-.]+)"
)
_ALLOWED = frozenset({"token_type", "tokens", "token_url", "key_prefix", "password_min_length"})

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR}


def redact_secrets(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Drop secret-looking keys and mask credential-shaped values anywhere in the event."""
    for key in list(event):
        value = event[key]
        if key not in _ALLOWED and _SECRET_KEY.search(key) and value is not None:
            event[key] = "[redacted]"
        elif isinstance(value, str) and _SECRET_VALUE.search(value):
            event[key] = _SECRET_VALUE.sub("[redacted]", value)
    return event


def configure_logging(level: str = "info", fmt: str = "auto") -> None:
    """Configure once at start; a later call (SIGHUP) changes the level in place."""
    if fmt == "auto":
        fmt = "console" if sys.stderr.isatty() else "json"
    renderer: Any
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer(serializer=orjson.dumps)
        factory: Any = structlog.BytesLoggerFactory(sys.stderr.buffer)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
        factory = structlog.PrintLoggerFactory(sys.stderr)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS.get(level, logging.INFO)),
        logger_factory=factory,
        cache_logger_on_first_use=False,
    )
