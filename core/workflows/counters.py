"""Named gapless counters (``order_display_id``), incremented inside the caller's transaction."""

from __future__ import annotations

from tortoise import connections

__all__ = [
    "ORDER_DISPLAY_ID",
    "next_counter_value",
]

ORDER_DISPLAY_ID = "order_display_id"

# One statement creates the row on first use or increments it, and returns the new value; the row
# stays locked (PostgreSQL) until the caller's transaction ends, so values never repeat or skip.
_UPSERT = (
    'INSERT INTO "counter" ("name", "value") VALUES ({name}, 1) '
    'ON CONFLICT ("name") DO UPDATE SET "value" = "counter"."value" + 1 RETURNING "value"'
)


async def next_counter_value(name: str) -> int:
    """Increment counter ``name`` and return its new value (1 the first time)."""
    connection = connections.get("default")
    placeholder = "$1" if connection.capabilities.dialect == "postgres" else "?"
    rows = await connection.execute_query_dict(_UPSERT.format(name=placeholder), [name])
    return int(rows[0]["value"])
