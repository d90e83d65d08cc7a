"""A run's steps laid out on a time axis: where each bar starts and how wide it is, in percent of the run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.models import WorkflowRunRecord, WorkflowStepRecord
from core.workflows.leases import utcnow

__all__ = [
    "TimelineBar",
    "timeline",
]

MIN_WIDTH_PERCENT = 0.6


@dataclass(frozen=True, slots=True)
class TimelineBar:
    """One step row on the axis (``seconds`` is None while the step is still running)."""

    step: WorkflowStepRecord
    offset_percent: float
    width_percent: float
    seconds: float | None


def timeline(run: WorkflowRunRecord, steps: list[WorkflowStepRecord]) -> list[TimelineBar]:
    """Bars for ``steps`` (in ``seq`` order) over the run's span: created → finished (or now)."""
    start = run.created_at
    end: datetime = run.finished_at or utcnow()
    for step in steps:
        end = max(end, step.finished_at or step.started_at)
    span = max((end - start).total_seconds(), 1e-6)
    bars = []
    for step in steps:
        began = max((step.started_at - start).total_seconds(), 0.0)
        finished = step.finished_at or (utcnow() if step.state == "invoking" else step.started_at)
        seconds = (step.finished_at - step.started_at).total_seconds() if step.finished_at else None
        width = max((finished - step.started_at).total_seconds() / span * 100, MIN_WIDTH_PERCENT)
        offset = min(began / span * 100, 100 - MIN_WIDTH_PERCENT)
        bars.append(TimelineBar(step, round(offset, 2), round(min(width, 100 - offset), 2), seconds))
    return bars
