"""Structured log lines (core.logs): format, level choice, and secrets never reaching the output."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from core.config import AuthSettings, DatabaseSettings, ErpSettings, Settings
from core.errors import ConfigError
from core.logs import LOG_LEVEL_ENV, REDACTED, configure_logging, configured_secrets

SECRET = "jwt-secret-value-that-is-long-enough-0123"


@pytest.fixture
def stream(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """Capture the root logger's output; restore pytest's handlers afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    library_levels = {name: logging.getLogger(name).level for name in ("tortoise", "aiosqlite", "asyncio")}
    monkeypatch.delenv(LOG_LEVEL_ENV, raising=False)
    output = io.StringIO()
    yield output
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for name, library_level in library_levels.items():
        logging.getLogger(name).setLevel(library_level)


def test_logfmt_line_has_level_logger_message_and_extra_fields(stream: io.StringIO) -> None:
    configure_logging("info", stream=stream)
    log = logging.getLogger("erpcommerce.test")
    log.info("cart %s updated", "cart_1", extra={"items": 3, "note": "two words"})
    line = stream.getvalue().strip()
    assert line.startswith("ts=")
    assert ' level=info logger=erpcommerce.test msg="cart cart_1 updated" items=3 note="two words"' in line


def test_json_format_gives_one_object_per_line(stream: io.StringIO) -> None:
    configure_logging("info", fmt="json", stream=stream)
    logging.getLogger("x").warning("careful", extra={"run_id": "run_1"})
    record = json.loads(stream.getvalue())
    assert record["level"] == "warning"
    assert record["msg"] == "careful"
    assert record["run_id"] == "run_1"


def test_level_comes_from_the_environment(stream: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOG_LEVEL_ENV, "warning")
    configure_logging(stream=stream)
    logging.getLogger("x").info("hidden")
    logging.getLogger("x").warning("shown")
    assert "hidden" not in stream.getvalue()
    assert "shown" in stream.getvalue()


def test_flag_wins_over_the_environment(stream: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOG_LEVEL_ENV, "error")
    configure_logging("debug", stream=stream)
    logging.getLogger("x").debug("shown")
    assert "shown" in stream.getvalue()


def test_unknown_level_is_a_config_error(stream: io.StringIO) -> None:
    with pytest.raises(ConfigError) as caught:
        configure_logging("loud", stream=stream)
    assert caught.value.key == "log_level"


def test_configured_secrets_are_masked_everywhere(stream: io.StringIO) -> None:
    configure_logging("info", secrets=[SECRET], stream=stream)
    log = logging.getLogger("x")
    log.info("signing with %s", SECRET, extra={"detail": f"key={SECRET}"})
    try:
        raise ValueError(SECRET)
    except ValueError:
        log.exception("failed")
    output = stream.getvalue()
    assert SECRET not in output
    assert output.count(REDACTED) >= 3


def test_sensitive_fields_query_values_and_password_hashes_are_masked(stream: io.StringIO) -> None:
    configure_logging("info", stream=stream)
    log = logging.getLogger("x")
    log.info("GET /erp/order-updates?token=abc123&x=1", extra={"password": "hunter22", "api_key": "k"})
    log.info("INSERT auth_identity: ['scrypt$16384$8$1$00ff$abcd']")
    output = stream.getvalue()
    for leaked in ("abc123", "hunter22", "scrypt$"):
        assert leaked not in output
    assert "x=1" in output
    assert f"password={REDACTED}" in output


def test_configured_secrets_include_url_passwords_and_plugin_secrets() -> None:
    settings = Settings(
        database=DatabaseSettings(url="postgres://shop:db-password-1@db/shop"),
        auth=AuthSettings(jwt_secret=SECRET),
        erp=ErpSettings(webhook_secret="webhook-secret-1"),
        plugins={"odoo": {"url": "http://odoo", "password": "odoo-password", "nested": {"api_key": "k-123"}}},
    )
    assert set(configured_secrets(settings)) == {
        SECRET,
        "webhook-secret-1",
        "db-password-1",
        "odoo-password",
        "k-123",
    }
