"""Structured logging to stderr: one ``key=value`` (logfmt) or JSON line per record.

:func:`configure_logging` is called once per process (the CLI does it). The level comes from the
``--log-level`` flag, else ``ERPCOMMERCE_LOG_LEVEL``, else ``info``; the format from
``ERPCOMMERCE_LOG_FORMAT`` (``logfmt`` or ``json``). Secrets never reach the output: fields whose
name looks sensitive (``password``, ``token``...) are masked, and so is every occurrence of the
configured secrets and of ``token=``/``password=``/``secret=`` values in URLs and messages.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import urlsplit

from core.config import Settings
from core.errors import ConfigError

__all__ = [
    "LOG_FORMAT_ENV",
    "LOG_LEVEL_ENV",
    "REDACTED",
    "StructuredFormatter",
    "configure_logging",
    "configured_secrets",
]

LOG_LEVEL_ENV = "ERPCOMMERCE_LOG_LEVEL"
LOG_FORMAT_ENV = "ERPCOMMERCE_LOG_FORMAT"
LEVELS = ("debug", "info", "warning", "error", "critical")
FORMATS = ("logfmt", "json")
REDACTED = "[redacted]"
# Secrets shorter than this are not searched for in text (they would mask ordinary words).
MIN_SECRET_LENGTH = 8

# Fields passed with ``extra=`` whose name matches are masked whatever their value.
_SENSITIVE_NAME = re.compile(r"password|passwd|secret|token|authorization|api_?key|cookie", re.IGNORECASE)
# ``token=...`` in a URL's query or a message; the value ends at whitespace, & or a quote.
_SENSITIVE_PAIR = re.compile(
    r"(?P<key>\b[\w-]*(?:password|secret|token|api[_-]?key)[\w-]*=)(?P<value>[^\s&\"']+)", re.IGNORECASE
)
# Password hashes (they show up in SQL parameters at debug level).
_PASSWORD_HASH = re.compile(r"scrypt\$[^\s'\",)\]]+")
# Libraries that say too much at info level; they speak at debug level only.
_CHATTY_LOGGERS = ("tortoise", "aiosqlite", "asyncio")
# Attributes every LogRecord has; anything else was passed through ``extra=``.
_RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
_BARE_VALUE = re.compile(r"^[\w.:/@+\-\[\]]+$")


class StructuredFormatter(logging.Formatter):
    """Formats a record as logfmt or JSON, masking secrets.

    :param secrets: values to mask wherever they appear (the JWT secret, the webhook secret).
    :param fmt_name: ``logfmt`` or ``json``.
    """

    def __init__(self, secrets: Iterable[str] = (), fmt_name: str = "logfmt") -> None:
        super().__init__()
        long_enough = {secret for secret in secrets if len(secret) >= MIN_SECRET_LENGTH}
        self._secrets = tuple(sorted(long_enough, key=len, reverse=True))
        self._json = fmt_name == "json"

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": self._mask(record.getMessage()),
        }
        for name, value in record.__dict__.items():
            if name not in _RECORD_ATTRIBUTES and not name.startswith("_"):
                fields[name] = REDACTED if _SENSITIVE_NAME.search(name) else self._mask_value(value)
        if record.exc_info:
            fields["exc"] = self._mask(self.formatException(record.exc_info))
        if self._json:
            return json.dumps(fields, default=str)
        return " ".join(f"{name}={_logfmt_value(value)}" for name, value in fields.items())

    def _mask_value(self, value: Any) -> Any:
        if isinstance(value, (bool, int, float)) or value is None:
            return value
        return self._mask(str(value))

    def _mask(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        text = _PASSWORD_HASH.sub(REDACTED, text)
        return _SENSITIVE_PAIR.sub(lambda match: f"{match.group('key')}{REDACTED}", text)


def _logfmt_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if _BARE_VALUE.match(text):
        return text
    return json.dumps(text)


def _url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def _sensitive_values(section: dict[str, Any]) -> Iterator[str]:
    for name, value in section.items():
        if isinstance(value, dict):
            yield from _sensitive_values(value)
        elif isinstance(value, str) and _SENSITIVE_NAME.search(name):
            yield value


def configured_secrets(settings: Settings) -> list[str]:
    """Every secret in the configuration: JWT and webhook secrets, URL passwords, plugins' secrets."""
    found = [settings.auth.jwt_secret, settings.erp.webhook_secret]
    found += [_url_password(settings.database.url) or "", _url_password(settings.redis.url) or ""]
    for section in settings.plugins.values():
        found += _sensitive_values(section)
    return [secret for secret in found if secret]


def _choose(value: str | None, env_name: str, default: str, allowed: tuple[str, ...], what: str) -> str:
    chosen = (value or os.environ.get(env_name) or default).strip().lower()
    if chosen not in allowed:
        choices = ", ".join(allowed)
        raise ConfigError(f"{what}: unknown value {chosen!r} (one of {choices}; env {env_name})", key=what)
    return chosen


def configure_logging(
    level: str | None = None,
    *,
    fmt: str | None = None,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> None:
    """Send every log record to ``stream`` (stderr) as one structured line.

    :param level: ``debug`` ... ``critical``; None reads ``ERPCOMMERCE_LOG_LEVEL`` (default info).
    :param fmt: ``logfmt`` or ``json``; None reads ``ERPCOMMERCE_LOG_FORMAT`` (default logfmt).
    :param secrets: values masked wherever they would appear.
    :raises ConfigError: for an unknown level or format.
    """
    level_name = _choose(level, LOG_LEVEL_ENV, "info", LEVELS, "log_level")
    format_name = _choose(fmt, LOG_FORMAT_ENV, "logfmt", FORMATS, "log_format")
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(StructuredFormatter(secrets, format_name))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level_name.upper())
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if level_name == "debug" else logging.WARNING)
