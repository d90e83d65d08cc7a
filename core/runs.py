"""Durable workflow runs for operators: list them, show one with its steps and compensations.

The queries return the ORM records; the ``render_*`` functions turn them into rich renderables
(the CLI prints them; nothing here writes to a terminal itself).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from tortoise.functions import Count

from core.errors import NotFound
from core.models import WorkflowRunRecord, WorkflowStepRecord
from core.workflows.leases import FINISHED_STATES, RUNNABLE_STATES

__all__ = [
    "RUN_STATES",
    "RunDetail",
    "count_runs_by_state",
    "list_runs",
    "load_run_detail",
    "render_run_detail",
    "render_runs",
]

RUN_STATES = (*RUNNABLE_STATES, *FINISHED_STATES)
STATE_STYLES = {
    "done": "green",
    "reverted": "yellow",
    "failed": "bold red",
    "canceled": "dim",
    "compensating": "yellow",
    "compensation_failed": "bold red",
    "invoking": "cyan",
    "pending": "cyan",
}
ERROR_PREVIEW_CHARS = 80


# -------------------------------------------------------------------------------------------------
# Queries
# -------------------------------------------------------------------------------------------------


async def count_runs_by_state() -> dict[tuple[str, str], int]:
    """Runs by (workflow name, state), in one grouped query (the dashboard and ``/metrics``)."""
    rows = await (
        WorkflowRunRecord.annotate(count=Count("id"))
        .group_by("workflow_name", "state")
        .values_list("workflow_name", "state", "count")
    )
    return {(str(workflow), str(state)): int(count) for workflow, state, count in rows}


async def list_runs(
    *, state: str | tuple[str, ...] | None = None, workflow: str | None = None, limit: int = 50
) -> list[WorkflowRunRecord]:
    """The newest runs first, optionally only those in ``state`` and/or of ``workflow``."""
    query = WorkflowRunRecord.all()
    if isinstance(state, tuple):
        query = query.filter(state__in=state)
    elif state is not None:
        query = query.filter(state=state)
    if workflow is not None:
        query = query.filter(workflow_name=workflow)
    return list(await query.order_by("-created_at", "-id").limit(limit))


class RunDetail:
    """A run with its step rows (invocations and compensations, in ``seq`` order)."""

    __slots__ = ("run", "steps")

    def __init__(self, run: WorkflowRunRecord, steps: list[WorkflowStepRecord]) -> None:
        self.run = run
        self.steps = steps

    @property
    def invocations(self) -> list[WorkflowStepRecord]:
        return [s for s in self.steps if s.kind != "compensate"]

    @property
    def compensations(self) -> list[WorkflowStepRecord]:
        return [s for s in self.steps if s.kind == "compensate"]


async def load_run_detail(run_id: str) -> RunDetail:
    """The run ``run_id`` and its steps.

    :raises NotFound: when there is no such run.
    """
    run = await WorkflowRunRecord.get_or_none(id=run_id)
    if run is None:
        raise NotFound(f"Workflow run with id: {run_id} was not found")
    return RunDetail(run, list(await WorkflowStepRecord.filter(run_id=run_id).order_by("seq")))


# -------------------------------------------------------------------------------------------------
# Rendering
# -------------------------------------------------------------------------------------------------


def _state(state: str) -> Text:
    return Text(state, style=STATE_STYLES.get(state, ""))


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def _duration(started: datetime | None, finished: datetime | None) -> str:
    if started is None or finished is None:
        return "-"
    seconds = (finished - started).total_seconds()
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _preview(error: str | None) -> str:
    if not error:
        return ""
    line = error.strip().splitlines()[0] if error.strip() else ""
    return line if len(line) <= ERROR_PREVIEW_CHARS else line[: ERROR_PREVIEW_CHARS - 1] + "…"


def _json(value: Any) -> str:
    return "-" if value is None else json.dumps(value, indent=2, sort_keys=True, default=str)


def render_runs(runs: list[WorkflowRunRecord]) -> RenderableType:
    """A table of runs: id, workflow, state, attempts, created, finished, error (first line)."""
    if not runs:
        return Text("no workflow runs match")
    table = Table(title=f"Workflow runs ({len(runs)}, newest first)", title_justify="left")
    table.add_column("id", no_wrap=True, overflow="fold")
    table.add_column("workflow", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("attempts", justify="right")
    table.add_column("created (UTC)", no_wrap=True)
    table.add_column("finished (UTC)", no_wrap=True)
    table.add_column("error")
    for run in runs:
        table.add_row(
            run.id, run.workflow_name, _state(run.state), str(run.attempts),
            _when(run.created_at), _when(run.finished_at), _preview(run.error),
        )
    return table


def _fields_table(run: WorkflowRunRecord) -> Table:
    table = Table(title=f"Run {run.id}", title_justify="left", show_header=False)
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    rows: list[tuple[str, str | Text]] = [
        ("workflow", run.workflow_name),
        ("state", _state(run.state)),
        ("attempts", str(run.attempts)),
        ("owner", run.owner or "-"),
        ("lease until", _when(run.lease_until)),
        ("wake at", _when(run.wake_at)),
        ("created", _when(run.created_at)),
        ("updated", _when(run.updated_at)),
        ("finished", _when(run.finished_at)),
        ("duration", _duration(run.created_at, run.finished_at)),
        ("input", _json(run.input)),
        ("output", _json(run.output)),
        ("error", run.error or "-"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def _steps_table(title: str, steps: list[WorkflowStepRecord], *, compensation: bool) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("seq", justify="right")
    table.add_column("step", no_wrap=True)
    table.add_column("compensates" if compensation else "kind", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("attempts", justify="right")
    table.add_column("duration", justify="right", no_wrap=True)
    table.add_column("error", overflow="fold")
    for record in steps:
        third = f"#{record.compensates_seq}" if compensation and record.compensates_seq is not None else record.kind
        table.add_row(
            str(record.seq), record.name, third, _state(record.state), str(record.attempts),
            _duration(record.started_at, record.finished_at), record.error or "",
        )
    return table


def render_run_detail(detail: RunDetail, *, traceback: bool = True) -> RenderableType:
    """The run's fields, its steps, its compensations and (optionally) the error's traceback."""
    parts: list[RenderableType] = [_fields_table(detail.run)]
    if detail.invocations:
        parts.append(_steps_table("Steps", detail.invocations, compensation=False))
    else:
        parts.append(Text("no steps recorded"))
    if detail.compensations:
        parts.append(_steps_table("Compensations", detail.compensations, compensation=True))
    if traceback and detail.run.error_traceback:
        parts.append(Text("Traceback", style="bold"))
        parts.append(Text(detail.run.error_traceback.rstrip()))
    return Group(*parts)
