"""The engine's hot-path SQL: hand-written statements with bound parameters, for SQLite and PostgreSQL.

Hand-written because building a query through the ORM costs more than executing it, and a durable
step must stay cheap (two statements per step). Templates use ``?`` placeholders and a ``{lock}``
slot; :func:`fetch` turns them into ``$n`` placeholders and ``FOR SHARE`` on PostgreSQL.

Every statement ends in ``RETURNING``: Tortoise's asyncpg ``execute_query`` reads an INSERT's row
count from the OID field of its status (``INSERT 0 1`` -> 0), while returned rows count right.
Steps are fenced in the statement itself: the write happens only if the run is still leased by
its writer (``owner`` and fencing token ``attempts``); on PostgreSQL the ``FOR SHARE`` lock makes a
concurrent takeover wait until the write commits, and then see it.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from typing import Any

from tortoise import connections

__all__ = [
    "CLAIM_RUN",
    "FINISH_RUN",
    "INSERT_RUN",
    "STEP_DONE",
    "STEP_RETRIED",
    "STEP_STARTED",
    "dump_json",
    "fetch",
]

_FENCE = "EXISTS (SELECT 1 FROM workflow_run WHERE id = ? AND owner = ? AND attempts = ?{lock})"

INSERT_RUN = (
    "INSERT INTO workflow_run (id, workflow_name, state, input, attempts, wake_at, created_at, updated_at) "
    "VALUES (?, ?, 'pending', ?, 0, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING id"
)
"""Values: id, workflow_name, input (JSON text), wake_at, created_at, updated_at; no row: it existed."""

CLAIM_RUN = (
    "UPDATE workflow_run SET owner = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?, "
    "state = CASE WHEN state = 'pending' THEN 'invoking' ELSE state END "
    "WHERE id = ? AND state IN ('pending', 'invoking', 'compensating') "
    "AND (lease_until IS NULL OR lease_until < ?) AND (wake_at IS NULL OR wake_at <= ?) "
    "RETURNING id, workflow_name, state, input, attempts, error"
)
"""Values: owner, lease_until, updated_at, id, now, now; one row when claimed (``attempts`` = the token)."""

FINISH_RUN = (
    "UPDATE workflow_run SET owner = NULL, lease_until = NULL, state = ?, output = ?, "
    "error = COALESCE(?, error), error_traceback = COALESCE(?, error_traceback), finished_at = ?, updated_at = ? "
    "WHERE id = ? AND owner = ? AND attempts = ? RETURNING id"
)
"""Values: state, output (JSON text), error, traceback (None: keep), finished_at, updated_at, the lease."""

STEP_STARTED = (
    "INSERT INTO workflow_step (run_id, seq, name, kind, state, attempts, started_at) "
    "SELECT id, ?, ?, 'invoke', 'invoking', ?, ? FROM workflow_run "
    "WHERE id = ? AND owner = ? AND attempts = ?{lock} RETURNING seq"
)
"""Values: seq, name, attempts, started_at, then the fence (run id, owner, token)."""

STEP_RETRIED = (
    "UPDATE workflow_step SET state = 'invoking', attempts = ?, error = ? "
    "WHERE run_id = ? AND seq = ? AND " + _FENCE + " RETURNING seq"
)
"""Values: attempts, last error, run id, seq, then the fence."""

STEP_DONE = (
    "UPDATE workflow_step SET state = 'done', attempts = ?, output = ?, compensate_input = ?, "
    "compensations = ?, error = NULL, finished_at = ? "
    "WHERE run_id = ? AND seq = ? AND " + _FENCE + " RETURNING seq"
)
"""Values: attempts, output, compensate input, compensations (JSON texts), finished_at, run id, seq, fence."""


def dump_json(value: Any) -> str | None:
    """A JSON-able value as the text stored in a JSON column (None stays SQL NULL).

    Write JSON columns with this text through :func:`fetch` or a queryset ``update()``: Tortoise
    treats a ``str`` given to a JSONField as JSON already (``"12"`` would come back as 12), and
    ``Model.create`` cannot store a bare string at all.
    """
    return None if value is None else json.dumps(value, separators=(",", ":"))


@cache
def _dialect_sql(template: str, dialect: str) -> str:
    if dialect != "postgres":
        return template.format(lock="")
    parts = template.format(lock=" FOR SHARE").split("?")
    return "".join(part + (f"${index}" if index < len(parts) else "") for index, part in enumerate(parts, 1))


async def fetch(template: str, values: list[Any]) -> list[dict[str, Any]]:
    """Execute ``template`` with ``values`` on the current connection (or transaction); return its rows."""
    connection = connections.get("default")
    dialect = connection.capabilities.dialect
    if dialect == "sqlite":  # datetimes as text, the way the ORM stores them
        values = [str(value) if isinstance(value, datetime) else value for value in values]
    rows: list[dict[str, Any]] = await connection.execute_query_dict(_dialect_sql(template, dialect), values)
    return rows
