"""Scheduled jobs as the overview shows them: schedule, next tick, last execution."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pluggy

from core.config import Settings
from core.jobs import JOB_RUN_PREFIX, collect_jobs
from core.models import WorkflowRunRecord
from core.scheduler import next_fire_time
from core.workflows.leases import utcnow

__all__ = [
    "CronStatus",
    "cron_status",
]


@dataclass(frozen=True, slots=True)
class CronStatus:
    """One scheduled job: its effective schedule, its next tick (UTC) and its newest run, if any."""

    name: str
    schedule: str
    next_at: datetime
    last_run: WorkflowRunRecord | None


async def cron_status(plugins: pluggy.PluginManager, settings: Settings) -> list[CronStatus]:
    """Every enabled job with its next and last execution (one query per job; jobs are few)."""
    now = utcnow()
    statuses = []
    for job in collect_jobs(plugins, settings):
        last = await (
            WorkflowRunRecord.filter(id__startswith=f"{JOB_RUN_PREFIX}:{job.name}:").order_by("-created_at").first()
        )
        statuses.append(CronStatus(job.name, job.schedule, next_fire_time(job.schedule, now), last))
    return statuses
