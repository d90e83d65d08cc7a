"""Hand-written bulk statements for product sync, with bound parameters, on SQLite and PostgreSQL.

A full sync writes every row of the ERP's range; building ORM objects and ORM queries for them
costs several times more than running the statements (issue 7: ~340k model objects for 100k
variants). Sync modules therefore write plain rows (tuples in a statement's column order) through
:func:`execute_many` (one prepared statement run for every row) and read keyed rows through
:func:`run_in` (an ``IN`` list per :data:`BATCH` keys). Values are bound the way the ORM stores
them: on SQLite datetimes as their text; JSON columns as JSON text (:func:`core.workflows.statements.dump_json`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

__all__ = [
    "BATCH",
    "dialect_sql",
    "execute_many",
    "run_in",
]

BATCH = 500
"""Keys per ``IN`` list (well below SQLite's 32k and PostgreSQL's 65k bound parameters)."""


@cache
def dialect_sql(template: str, dialect: str, marks: int = 0) -> str:
    """``template`` with ``marks`` placeholders in its ``{marks}`` slot, numbered ``$n`` on PostgreSQL."""
    sql = template.format(marks=", ".join(["?"] * marks)) if marks else template
    if dialect != "postgres":
        return sql
    parts = sql.split("?")
    return "".join(part + (f"${index}" if index < len(parts) else "") for index, part in enumerate(parts, 1))


async def run_in(connection: BaseDBAsyncClient, template: str, keys: Sequence[Any]) -> list[dict[str, Any]]:
    """Run ``template`` with ``keys`` as its ``IN`` list, one statement per :data:`BATCH` keys; its rows."""
    dialect = connection.capabilities.dialect
    rows: list[dict[str, Any]] = []
    for start in range(0, len(keys), BATCH):
        chunk = list(keys[start : start + BATCH])
        rows.extend(await connection.execute_query_dict(dialect_sql(template, dialect, len(chunk)), chunk))
    return rows


async def execute_many(connection: BaseDBAsyncClient, template: str, rows: Sequence[Sequence[Any]]) -> None:
    """Execute ``template`` once per row of values (one prepared statement), when there are rows.

    On SQLite, datetimes are bound as the text the ORM stores (each distinct one formatted once:
    a page's rows share their stamps, and formatting cost more than the insert).
    """
    if not rows:
        return
    dialect = connection.capabilities.dialect
    if dialect == "sqlite":
        texts: dict[datetime, str] = {}

        def bindable(value: Any) -> Any:
            if not isinstance(value, datetime):
                return value
            text = texts.get(value)
            if text is None:
                text = texts[value] = str(value)
            return text

        values = [[bindable(value) for value in row] for row in rows]
    else:
        values = [list(row) for row in rows]
    await connection.execute_many(dialect_sql(template, dialect), values)
