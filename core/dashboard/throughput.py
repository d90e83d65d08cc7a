"""Runs finished per hour over the last day, by outcome, with their mean duration: the overview's chart.

Counted in the database by one grouped query (SQLite's ``strftime`` / PostgreSQL's ``date_trunc``),
so the chart costs the same for ten runs an hour as for ten thousand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise import connections

from core.workflows.leases import utcnow
from core.workflows.statements import fetch

__all__ = [
    "HourFigures",
    "hourly_throughput",
]

HOURS = 24
SUCCEEDED = "done"
UNSUCCESSFUL = ("failed", "reverted")

_SQLITE = (
    "SELECT strftime('%Y-%m-%dT%H', finished_at) AS hour, state, COUNT(*) AS runs, "
    "AVG((julianday(finished_at) - julianday(created_at)) * 86400.0) AS mean_seconds "
    "FROM workflow_run WHERE finished_at >= ? GROUP BY hour, state"
)
_POSTGRES = (
    "SELECT to_char(date_trunc('hour', finished_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD\"T\"HH24') AS hour, state, "
    "COUNT(*) AS runs, AVG(EXTRACT(EPOCH FROM finished_at - created_at)) AS mean_seconds "
    "FROM workflow_run WHERE finished_at >= ? GROUP BY 1, 2"
)


@dataclass(slots=True)
class HourFigures:
    """One hour (UTC): runs that ended done, ended failed or reverted, and their mean duration."""

    hour: datetime
    done: int = 0
    failed: int = 0
    mean_seconds: float | None = None
    height_percent: float = 0.0
    failed_percent: float = 0.0


async def hourly_throughput(now: datetime | None = None) -> list[HourFigures]:
    """The last 24 hours, oldest first, each with its bar heights relative to the busiest hour."""
    end = (now or utcnow()).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(hours=HOURS - 1)
    hours = {start + timedelta(hours=n): HourFigures(start + timedelta(hours=n)) for n in range(HOURS)}
    dialect = connections.get("default").capabilities.dialect
    rows = await fetch(_POSTGRES if dialect == "postgres" else _SQLITE, [start])
    weighted: dict[datetime, float] = {}
    for row in rows:
        hour = datetime.strptime(str(row["hour"]), "%Y-%m-%dT%H").replace(tzinfo=end.tzinfo)
        figures = hours.get(hour)
        if figures is None or (row["state"] != SUCCEEDED and row["state"] not in UNSUCCESSFUL):
            continue
        count = int(row["runs"])
        if row["state"] == SUCCEEDED:
            figures.done += count
        else:
            figures.failed += count
        weighted[hour] = weighted.get(hour, 0.0) + float(row["mean_seconds"] or 0.0) * count
    busiest = max((figures.done + figures.failed for figures in hours.values()), default=0) or 1
    for hour, figures in hours.items():
        total = figures.done + figures.failed
        if total:
            figures.mean_seconds = weighted.get(hour, 0.0) / total
            figures.height_percent = round(total / busiest * 100, 1)
            figures.failed_percent = round(figures.failed / total * 100, 1)
    return list(hours.values())
