"""Scheduled jobs: what plugins declare (``register_jobs``), what the config makes of it, how one runs.

A plugin declares :class:`JobSpec` objects; :func:`collect_jobs` gathers them from every plugin and
applies ``[jobs.<name>]`` from ``config.toml`` (``schedule = "..."`` replaces the plugin's cron
expression, ``enabled = false`` drops the job). Schedules are standard five-field cron expressions
(or ``@hourly``, ``@daily``...), evaluated in UTC.

Every execution is a durable run of the ``scheduled-job`` workflow whose id is
``job:<name>:<scheduled time, YYYY-MM-DDTHH:MM>``: two processes firing the same tick start one run,
and the run (its state, attempts, error) is visible with ``erpcommerce runs``. Who fires the ticks
is :mod:`core.scheduler`'s concern (an in-process scheduler, or arq cron jobs in workers).
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pluggy
from croniter import croniter  # type: ignore[import-untyped]
from pydantic import BaseModel
from pydantic_core import PydanticSerializationError, to_jsonable_python

from core.config import Settings
from core.errors import ConfigError, PermanentError
from core.workflows.engine import RetryPolicy, StepContext, step, workflow

if TYPE_CHECKING:
    from core.models import WorkflowRunRecord
    from core.workflows.durable import Engine

__all__ = [
    "JOB_RUN_PREFIX",
    "SCHEDULED_JOB",
    "JobSpec",
    "ScheduledJobInput",
    "collect_jobs",
    "declared_jobs",
    "job_run_id",
    "scheduled_job",
    "start_job_run",
    "validate_schedule",
]

log = logging.getLogger(__name__)

SCHEDULED_JOB = "scheduled-job"
JOB_RUN_PREFIX = "job"
# Letters, digits, ``_``, ``-`` and ``.``: a TOML key, and no ``:`` (the run id's separator).
JOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
CRON_FIELDS = 5


@dataclass(frozen=True)
class JobSpec:
    """A job: a stable ``name``, a cron ``schedule`` (``"0 0 * * *"``) and a coroutine function.

    The coroutine receives keyword arguments ``scheduled_for`` (an aware datetime).
    """

    name: str
    schedule: str
    func: Callable[..., Awaitable[Any]]


# -------------------------------------------------------------------------------------------------
# Declarations and configuration
# -------------------------------------------------------------------------------------------------


def validate_schedule(expression: str, *, key: str) -> str:
    """Return ``expression`` (stripped) if it is a five-field cron expression or an ``@`` alias.

    :param key: the configuration key to name in the error (``jobs.<name>.schedule``).
    :raises ConfigError: naming ``key`` when the expression is not valid.
    """
    text = " ".join(expression.split())
    five_fields = text.startswith("@") or len(text.split(" ")) == CRON_FIELDS
    if not (five_fields and croniter.is_valid(text)):
        raise ConfigError(
            f"{key}: {expression!r} is not a valid cron expression "
            '(five fields: minute hour day-of-month month day-of-week, e.g. "0 0 * * *")',
            key=key,
        )
    return text


def _plugin_jobs(plugin_name: str, result: Any) -> list[JobSpec]:
    """Check what one ``register_jobs`` implementation returned."""
    if result is None:
        return []
    if inspect.isawaitable(result):
        if inspect.iscoroutine(result):
            result.close()
        raise ConfigError(f"plugin {plugin_name}: register_jobs must be a plain (not async) function")
    if not isinstance(result, list | tuple):
        raise ConfigError(f"plugin {plugin_name}: register_jobs must return a list of JobSpec")
    for job in result:
        if not isinstance(job, JobSpec):
            raise ConfigError(f"plugin {plugin_name}: register_jobs returned {job!r}, not a JobSpec")
        key = f"jobs.{job.name}"
        if not JOB_NAME.fullmatch(job.name):
            raise ConfigError(
                f"plugin {plugin_name}: job name {job.name!r} may only use letters, digits, '_', '-' and '.'",
                key=key,
            )
        if not inspect.iscoroutinefunction(job.func):
            raise ConfigError(f"plugin {plugin_name}: job {job.name}: func must be an async function", key=key)
    return list(result)


def declared_jobs(plugins: pluggy.PluginManager) -> list[JobSpec]:
    """Every job the plugins declare, in hook call order, schedules checked, before configuration.

    :raises ConfigError: a malformed declaration, an invalid cron expression or a duplicate name.
    """
    jobs: list[JobSpec] = []
    owners: dict[str, str] = {}
    # pluggy calls the last implementation first; keep that order.
    for impl in reversed(plugins.hook.register_jobs.get_hookimpls()):
        for job in _plugin_jobs(impl.plugin_name, impl.function()):
            if job.name in owners:
                raise ConfigError(
                    f"jobs.{job.name}: declared twice (by plugins {owners[job.name]} and {impl.plugin_name})",
                    key=f"jobs.{job.name}",
                )
            owners[job.name] = impl.plugin_name
            jobs.append(replace(job, schedule=validate_schedule(job.schedule, key=f"jobs.{job.name}.schedule")))
    return jobs


def collect_jobs(plugins: pluggy.PluginManager, settings: Settings) -> list[JobSpec]:
    """The jobs to schedule: the declared ones with ``[jobs.<name>]`` applied, disabled ones left out.

    :raises ConfigError: as :func:`declared_jobs`; also for a ``[jobs.<name>]`` section naming no
        declared job (``jobs.<name>``) or an invalid ``schedule`` there (``jobs.<name>.schedule``).
    """
    jobs = declared_jobs(plugins)
    known = {job.name for job in jobs}
    for name in settings.jobs:
        if name not in known:
            listing = ", ".join(sorted(known)) or "none"
            message = f"jobs.{name}: no plugin declares a job named {name!r} (declared: {listing})"
            raise ConfigError(message, key=f"jobs.{name}")
    scheduled = []
    for job in jobs:
        override = settings.jobs.get(job.name)
        if override is None:
            scheduled.append(job)
        elif override.enabled:
            schedule = job.schedule
            if override.schedule is not None:
                schedule = validate_schedule(override.schedule, key=f"jobs.{job.name}.schedule")
            scheduled.append(replace(job, schedule=schedule))
    return scheduled


# -------------------------------------------------------------------------------------------------
# The scheduled-job workflow
# -------------------------------------------------------------------------------------------------


class ScheduledJobInput(BaseModel):
    """One tick of one job."""

    name: str
    scheduled_for: datetime


def job_run_id(name: str, scheduled_for: datetime) -> str:
    """``job:<name>:<YYYY-MM-DDTHH:MM>`` (UTC): the same for every process firing this tick."""
    minute = scheduled_for.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
    return f"{JOB_RUN_PREFIX}:{name}:{minute}"


def _find_job(plugins: pluggy.PluginManager | None, name: str) -> JobSpec:
    if plugins is not None:
        for job in declared_jobs(plugins):
            if job.name == name:
                return job
    raise PermanentError(f"no plugin declares a job named {name!r} (any more)")


def _jsonable(value: Any, name: str) -> Any:
    try:
        return to_jsonable_python(value)
    except PydanticSerializationError:
        log.warning("job %s returned a value that is not JSON-able; it is not recorded", name)
        return None


@step("run-job", retry=RetryPolicy(max_retries=3, backoff_seconds=1.0, max_backoff_seconds=60.0))
async def run_job(input: ScheduledJobInput, ctx: StepContext) -> Any:
    """Call the job's coroutine with ``scheduled_for``; its (JSON-able) result is the run's output.

    :raises PermanentError: when no plugin declares the job any more.
    """
    job = _find_job(ctx.run.plugins, input.name)
    return _jsonable(await job.func(scheduled_for=input.scheduled_for), input.name)


@workflow(SCHEDULED_JOB, durable=True)
async def scheduled_job(input: ScheduledJobInput) -> Any:
    """Run one tick of a scheduled job (a retryable failure is retried with backoff)."""
    return await run_job(input)


async def start_job_run(engine: Engine, job: JobSpec, scheduled_for: datetime) -> WorkflowRunRecord:
    """Start (or find, when another process already did) the run of ``job`` for ``scheduled_for``."""
    scheduled_for = scheduled_for.astimezone(UTC).replace(second=0, microsecond=0)
    return await engine.start(
        scheduled_job,
        ScheduledJobInput(name=job.name, scheduled_for=scheduled_for),
        run_id=job_run_id(job.name, scheduled_for),
    )
