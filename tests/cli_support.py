"""Fixtures and helpers for tests that run ``core.cli.main`` in the test process (import the
fixtures into the test module)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tortoise import Tortoise

from core.cli import main
from core.config import DatabaseSettings
from core.db import init_database
from tests.conftest import IS_POSTGRES, empty_postgres_tables

__all__ = [
    "cli_terminal",
    "emptied",
    "in_database",
    "run_cli",
    "write_erp_config",
]


@pytest.fixture
def cli_terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A wide terminal for rich's tables; pytest's logging handlers given back after the CLI replaced them."""
    monkeypatch.setenv("COLUMNS", "220")
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``erpcommerce <args>`` here: its exit code, stdout and stderr."""
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def in_database(database_url: str, work: Callable[[], Awaitable[Any]]) -> Any:
    """``await work()`` with the database open (migrated), from synchronous test code."""

    async def run() -> Any:
        await init_database(DatabaseSettings(url=database_url))
        try:
            return await work()
        finally:
            await Tortoise.close_connections()

    return asyncio.run(run())


async def _empty_tables() -> None:
    if IS_POSTGRES:  # SQLite test databases are new files
        await empty_postgres_tables()


def emptied(database_url: str) -> str:
    """``database_url`` with every table emptied (the CLI opens it itself)."""
    in_database(database_url, _empty_tables)
    return database_url


def write_erp_config(directory: Path, database_url: str) -> str:
    """A development config on ``database_url`` with fast ERP sync retries; its path."""
    path = directory / "config.toml"
    path.write_text(
        f'[server]\nenvironment = "development"\n[database]\nurl = "{database_url}"\n'
        '[auth]\njwt_secret = "test-secret-0123456789abcdef-0123456789"\n'
        "[plugins.erp]\nsync_page_size = 2\nsync_max_retries = 1\nsync_backoff_seconds = 0.001\n",
        encoding="utf-8",
    )
    return str(path)
