"""Database wiring: the Tortoise config for a URL, start-up and shutdown, and migrations.

The schema is owned by Tortoise's built-in migrations in :mod:`core.migrations`; nothing outside
tests calls ``generate_schemas``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.connection import get_connection
from tortoise.migrations.api.migrate import migrate
from tortoise.migrations.executor import MigrationExecutor

from core.config import DatabaseSettings
from core.models import MODEL_MODULES

__all__ = [
    "APP_LABEL",
    "close_database",
    "init_database",
    "pending_migrations",
    "run_migrations",
    "tortoise_config",
]

APP_LABEL = "commerce"


def _connection(settings: DatabaseSettings) -> str | dict[str, Any]:
    url = settings.url
    if settings.is_sqlite:
        path = url.removeprefix("sqlite://")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # busy_timeout lets CLI commands share the file with a running server.
        return {
            "engine": "tortoise.backends.sqlite",
            "credentials": {"file_path": path, "busy_timeout": 5000, "synchronous": "NORMAL"},
        }
    config: dict[str, Any] = expand_db_url(url.replace("postgresql://", "postgres://", 1))
    config["credentials"].setdefault("maxsize", settings.pool_max_size)
    config["credentials"]["reset"] = _reset_connection
    return config


async def _reset_connection(connection: asyncpg.Connection) -> None:
    """Make a released connection reusable with at most one statement.

    asyncpg's default reset runs ``RESET ALL``, ``UNLISTEN *``, ``CLOSE ALL`` and an advisory-lock
    release on every release: one extra round trip per ORM query (measured 0.35 ms vs 0.13 ms per
    query). Nothing here sets session state, listens or takes advisory locks, so an aborted
    transaction is the only thing left to clean.
    """
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


def tortoise_config(settings: DatabaseSettings) -> dict[str, Any]:
    """The Tortoise config dict for ``settings.url`` (SQLite file or PostgreSQL)."""
    return {
        "connections": {"default": _connection(settings)},
        "apps": {
            APP_LABEL: {
                "models": list(MODEL_MODULES),
                "migrations": "core.migrations",
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def init_database(settings: DatabaseSettings) -> None:
    """Open the connections; the schema must already be migrated."""
    await Tortoise.init(config=tortoise_config(settings))


async def close_database() -> None:
    await Tortoise.close_connections()


async def run_migrations(settings: DatabaseSettings) -> list[str]:
    """Apply every pending migration (idempotent); return the ones applied (``commerce.0001_initial``)."""
    applied: list[str] = []

    def record(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(f"{app_label}.{name}")

    await migrate(config=tortoise_config(settings), progress=record)
    await Tortoise.close_connections()
    return applied


async def pending_migrations(settings: DatabaseSettings) -> list[str]:
    """The migrations not applied yet (``commerce.0002_workflows``); empty when the schema is current.

    Opens and closes its own connection; processes that need a migrated database check this first.
    """
    config = tortoise_config(settings)
    await Tortoise.init(config=config, init_connections=False)
    try:
        plan = await MigrationExecutor(get_connection("default"), config["apps"]).plan()
    finally:
        await Tortoise.close_connections()
    return [f"{step.migration.app_label}.{step.migration.name}" for step in plan if not step.backward]
