"""The dashboard's reads of workflow runs: counts by state, recent failures, filtered pages of runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from tortoise.expressions import Q

from core.models import WorkflowRunRecord
from core.runs import RUN_STATES, count_runs_by_state
from core.workflows.leases import utcnow

__all__ = [
    "FAILED_STATES",
    "PAGE_SIZE",
    "RunFilters",
    "RunsPage",
    "StateCounts",
    "page_of_runs",
    "recent_failures",
    "state_counts",
    "workflow_names",
]

PAGE_SIZE = 50
FAILED_STATES = ("failed", "reverted")
RunState = Literal["pending", "invoking", "compensating", "done", "reverted", "failed", "canceled"]


@dataclass(frozen=True, slots=True)
class StateCounts:
    """Runs by state overall (``totals``) and by workflow (``by_workflow[name][state]``)."""

    totals: dict[str, int]
    by_workflow: dict[str, dict[str, int]]


async def state_counts() -> StateCounts:
    """Count the runs by workflow and state (one grouped query)."""
    totals = dict.fromkeys(RUN_STATES, 0)
    by_workflow: dict[str, dict[str, int]] = {}
    for (workflow, state), count in (await count_runs_by_state()).items():
        totals[state] = totals.get(state, 0) + count
        by_workflow.setdefault(workflow, dict.fromkeys(RUN_STATES, 0))[state] = count
    return StateCounts(totals, dict(sorted(by_workflow.items())))


async def recent_failures(hours: float = 24, limit: int = 10) -> tuple[int, list[WorkflowRunRecord]]:
    """Runs that ended failed or reverted in the last ``hours``: how many, and the newest ``limit``."""
    since = utcnow() - timedelta(hours=hours)
    query = WorkflowRunRecord.filter(state__in=FAILED_STATES, finished_at__gte=since)
    return await query.count(), list(await query.order_by("-finished_at").limit(limit))


async def workflow_names() -> list[str]:
    """Every workflow that has runs, sorted (for the filter menu)."""
    names = await WorkflowRunRecord.all().distinct().values_list("workflow_name", flat=True)
    return sorted(str(name) for name in names)


class RunFilters(BaseModel):
    """The runs list's query string: all optional; ``before`` is the paging cursor."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    workflow: str | None = Field(default=None, max_length=255)
    state: RunState | None = None
    id_prefix: str | None = Field(default=None, max_length=255)
    since: datetime | None = None
    until: datetime | None = None
    before: str | None = Field(default=None, max_length=600)

    @field_validator("workflow", "state", "id_prefix", "since", "until", "before", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("since", "until")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        # <input type="datetime-local"> sends no zone: the dashboard shows and takes UTC.
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=utcnow().tzinfo)
        return value

    @field_validator("before")
    @classmethod
    def _cursor(cls, value: str | None) -> str | None:
        if value is not None:
            _parse_cursor(value)
        return value


@dataclass(frozen=True, slots=True)
class RunsPage:
    """One page of runs (newest first) and the cursor of the next (older) page, if any."""

    runs: list[WorkflowRunRecord]
    next_cursor: str | None


def _cursor_of(run: WorkflowRunRecord) -> str:
    return f"{run.created_at.isoformat()}|{run.id}"


def _parse_cursor(cursor: str) -> tuple[datetime, str]:
    stamp, separator, run_id = cursor.partition("|")
    if not separator or not run_id:
        raise ValueError("not a runs page cursor")
    return datetime.fromisoformat(stamp), run_id


async def page_of_runs(filters: RunFilters, limit: int = PAGE_SIZE) -> RunsPage:
    """The runs matching ``filters``, newest first, ``limit`` per page (keyset paging)."""
    query = WorkflowRunRecord.all()
    if filters.workflow:
        query = query.filter(workflow_name=filters.workflow)
    if filters.state:
        query = query.filter(state=filters.state)
    if filters.id_prefix:
        query = query.filter(id__startswith=filters.id_prefix)
    if filters.since:
        query = query.filter(created_at__gte=filters.since)
    if filters.until:
        query = query.filter(created_at__lt=filters.until)
    if filters.before:
        stamp, run_id = _parse_cursor(filters.before)
        query = query.filter(Q(created_at__lt=stamp) | Q(created_at=stamp, id__lt=run_id))
    rows = list(await query.order_by("-created_at", "-id").limit(limit + 1))
    more = len(rows) > limit
    runs = rows[:limit]
    return RunsPage(runs, _cursor_of(runs[-1]) if more and runs else None)
