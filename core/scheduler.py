"""Firing scheduled jobs: in-process (:class:`EmbeddedScheduler`) or as arq cron jobs (:func:`arq_cron_for`).

Either way a tick only *starts* the job's durable run (:func:`core.jobs.start_job_run`, run id
``job:<name>:<minute>``); the engine's executor runs it. Several processes firing the same tick
therefore make one run. Schedules are evaluated in UTC (workers must run arq with ``timezone=UTC``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from arq.cron import CronJob, cron
from croniter import croniter  # type: ignore[import-untyped]

from core.jobs import JobSpec, start_job_run
from core.workflows.durable import Engine, get_engine


__all__ = [
    "ARQ_CRON_PREFIX",
    "ArqCronFields",
    "EmbeddedScheduler",
    "arq_cron_fields",
    "arq_cron_for",
    "next_fire_time",
]

log = logging.getLogger(__name__)

ARQ_CRON_PREFIX = "cron:job:"
# The longest single sleep: a wall-clock jump (suspend, NTP step) is noticed within this time.
MAX_SLEEP_SECONDS = 60.0

Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[Any]]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def next_fire_time(schedule: str, after: datetime) -> datetime:
    """The first time strictly after ``after`` that ``schedule`` matches (UTC)."""
    fire: datetime = croniter(schedule, after.astimezone(UTC)).get_next(datetime)
    return fire


# -------------------------------------------------------------------------------------------------
# Embedded: one asyncio task sleeping until the next tick
# -------------------------------------------------------------------------------------------------


class EmbeddedScheduler:
    """Start each job's run at its cron times, inside the server process (no Redis).

    One task sleeps until the earliest next fire time, starts the run of every job due, and
    computes their next times (ticks missed while the process was down or asleep are not replayed:
    a job fires once, late, then follows its schedule). Errors starting a run are logged; the
    scheduler keeps going.

    :param clock: the current UTC time (tests inject a fake one).
    :param sleep: how to wait a number of seconds (tests inject one that advances the fake clock).
    """

    def __init__(
        self, engine: Engine, jobs: list[JobSpec], *, clock: Clock = _utc_now, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.engine = engine
        self.jobs = list(jobs)
        self._clock = clock
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start the scheduling task (nothing to do without jobs)."""
        if self.jobs and not self.running:
            self._task = asyncio.create_task(self._run(), name="erpcommerce-scheduler")

    async def stop(self) -> None:
        """Cancel the scheduling task and wait for it; runs already started are the executor's."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run(self) -> None:
        now = self._clock()
        due = {job.name: next_fire_time(job.schedule, now) for job in self.jobs}
        while True:
            await self._sleep_until(min(due.values()))
            now = self._clock()
            for job in self.jobs:
                fire_at = due[job.name]
                if fire_at <= now:
                    await self._fire(job, fire_at)
                    due[job.name] = next_fire_time(job.schedule, max(fire_at, now))

    async def _sleep_until(self, moment: datetime) -> None:
        while (delay := (moment - self._clock()).total_seconds()) > 0:
            await self._sleep(min(delay, MAX_SLEEP_SECONDS))

    async def _fire(self, job: JobSpec, scheduled_for: datetime) -> None:
        try:
            run = await start_job_run(self.engine, job, scheduled_for)
        except Exception:
            log.exception("scheduled job %s: could not start its run for %s", job.name, scheduled_for.isoformat())
        else:
            log.info("scheduled job started", extra={"job": job.name, "run_id": run.id})


# -------------------------------------------------------------------------------------------------
# Workers: arq cron jobs
# -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ArqCronFields:
    """A cron expression as arq's ``cron()`` sets (None = any); weekday is Python's (0 = Monday).

    ``exact`` is False when arq cannot express the schedule (day-of-month *or* day-of-week, ``L``,
    ``#``): the sets then match a superset, and each tick is checked against the expression.
    """

    minute: set[int] | None
    hour: set[int] | None
    day: set[int] | None
    month: set[int] | None
    weekday: set[int] | None
    exact: bool


def _as_set(values: list[Any]) -> set[int] | None:
    """croniter's expanded field: ``['*']`` means any; ``'l'`` (last day) cannot be expressed."""
    if values == ["*"] or not all(isinstance(v, int) for v in values):
        return None
    return {int(v) for v in values}


def arq_cron_fields(schedule: str) -> ArqCronFields:
    """Convert a (valid) cron expression into arq's cron sets.

    Cron's day-of-week counts from Sunday (0 or 7); Python's ``weekday()``, which arq matches,
    from Monday: cron ``1-5`` (Monday to Friday) becomes ``{0, 1, 2, 3, 4}``. Cron fires when the
    day of month *or* the day of week matches if both are restricted, arq only when both do: such
    schedules are marked inexact (see :class:`ArqCronFields`).
    """
    (minutes, hours, days, months, weekdays), nth_weekday = croniter.expand(schedule)
    day = _as_set(days)
    weekday = _as_set(weekdays)
    exact = not nth_weekday and (day is not None or days == ["*"]) and (weekday is not None or weekdays == ["*"])
    if weekday is not None:
        weekday = {(cron_day - 1) % 7 for cron_day in weekday}
    if day is not None and weekday is not None:
        day = weekday = None
        exact = False
    if nth_weekday:
        weekday = None
    return ArqCronFields(_as_set(minutes), _as_set(hours), day, _as_set(months), weekday, exact)


def _scheduled_for(ctx: dict[str, Any]) -> datetime:
    """The tick a cron job was enqueued for: arq's unique job id ends with it (``<name>:<unix ms>``)."""
    _, _, millis = str(ctx.get("job_id") or "").rpartition(":")
    if millis.isdigit():
        moment = datetime.fromtimestamp(int(millis) / 1000, tz=UTC)
    else:
        enqueued = ctx.get("enqueue_time")
        moment = enqueued.astimezone(UTC) if isinstance(enqueued, datetime) else _utc_now()
    return moment.replace(second=0, microsecond=0)


def arq_cron_for(job: JobSpec, *, engine: Engine | None = None, queue_name: str | None = None) -> CronJob:
    """An arq cron job (``unique=True``) that starts ``job``'s ``scheduled-job`` run at each tick.

    :param engine: the engine to start runs with; by default the process's (:func:`get_engine`),
        looked up at each tick.
    :param queue_name: prefixes the cron job's name (``<queue>:cron:job:<name>``): arq's unique
        job ids are global to the Redis database, so deployments sharing one must differ.
    """
    fields = arq_cron_fields(job.schedule)

    async def start_scheduled_run(ctx: dict[str, Any]) -> str | None:
        scheduled_for = _scheduled_for(ctx)
        if not fields.exact and not croniter.match(job.schedule, scheduled_for):
            return None
        run = await start_job_run(engine or get_engine(), job, scheduled_for)
        return run.id

    start_scheduled_run.__qualname__ = f"start_scheduled_run[{job.name}]"
    return cron(
        start_scheduled_run,
        name=f"{queue_name}:{ARQ_CRON_PREFIX}{job.name}" if queue_name else f"{ARQ_CRON_PREFIX}{job.name}",
        minute=fields.minute,
        hour=fields.hour,
        day=fields.day,
        month=fields.month,
        weekday=fields.weekday,
        unique=True,
    )
