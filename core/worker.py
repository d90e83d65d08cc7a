"""The arq worker (``erpcommerce worker``): executes durable runs, delivers events, fires scheduled jobs.

arq is only the transport: a job says "run or resume run X" (``run_workflow(run_id)``) and the
run's state lives in the database (:mod:`core.workflows.durable`); the run's lease, not arq,
guarantees that one process executes it at a time. Jobs keep no result (``keep_result=0``), so a
run's job id is free for the next submission as soon as its job ended.

Recovery is a loop in every worker, not an arq job: at start-up and every
``workflows.recovery_interval_seconds`` it dispatches the events outbox and re-submits every due
run (new, lease expired, retry time reached), dropping from the queue the jobs a dead worker
still holds (:meth:`ArqExecutor.resubmit`). As a queued job it could wait forever behind such
orphans: a worker reads the head of the queue only, and skips jobs marked in progress. Recovery
never relies on Redis keeping its data; several workers recovering at once enqueue each run once.

Cron jobs, each ``unique`` (one execution per tick whatever the number of workers):

- ``<queue>:prune-runs`` hourly: deletes finished runs older than ``workflows.retention_days``.
- one per plugin job (:func:`core.scheduler.arq_cron_for`): starts the job's durable run.

Shutdown (SIGTERM or SIGINT): the worker takes no new job, lets running ones finish for
``workflows.shutdown_grace_seconds``, then cancels them; the engine releases a cancelled run's
lease and arq puts its job back on the queue, so another worker resumes it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from datetime import UTC
from typing import Any

import pluggy
from arq.connections import RedisSettings
from arq.constants import health_check_key_suffix
from arq.cron import CronJob, cron
from arq.worker import Worker, func

from core.config import Settings
from core.db import close_database, init_database
from core.jobs import collect_jobs
from core.plugins import build_plugin_manager, call_all
from core.scheduler import arq_cron_for
from core.worker_metrics import serving_worker_metrics
from core.workflows.durable import Engine, set_engine
from core.workflows.executors import (
    DISPATCH_EVENTS,
    LOOP_STOP_SECONDS,
    PRUNE_INTERVAL_SECONDS,
    RUN_WORKFLOW,
    ArqExecutor,
    dispatch_all_pending_events,
)

__all__ = [
    "RUN_JOB_TIMEOUT_SECONDS",
    "recover_runs",
    "resubmit_due_runs",
    "run_worker",
    "worker_health_check_key",
    "worker_settings",
]

log = logging.getLogger(__name__)

# arq cancels a job running longer than this; a run's steps have their own timeouts, so this
# only bounds a run stuck outside them (it is then resumed by recovery).
RUN_JOB_TIMEOUT_SECONDS = 6 * 3600
# Results of the unique cron jobs are kept this long: while a tick's result exists, a late
# worker cannot enqueue that tick again.
CRON_RESULT_SECONDS = 120

# Keys of the arq job context (``ctx``).
SETTINGS_KEY = "erpcommerce_settings"
PLUGINS_KEY = "erpcommerce_plugins"
ENGINE_KEY = "erpcommerce_engine"
STARTED_KEY = "erpcommerce_started"
RECOVERY_KEY = "erpcommerce_recovery"


def _engine(ctx: dict[str, Any]) -> Engine:
    engine: Engine = ctx[ENGINE_KEY]
    return engine


# -------------------------------------------------------------------------------------------------
# Jobs
# -------------------------------------------------------------------------------------------------


async def run_workflow(ctx: dict[str, Any], run_id: str) -> str | None:
    """Execute (or resume) run ``run_id``; its final state, or None when another process has it."""
    return await _engine(ctx).execute(run_id)


async def dispatch_events(ctx: dict[str, Any]) -> int:
    """Turn the events outbox into delivery runs (enqueued at once); return how many events."""
    return await dispatch_all_pending_events(_engine(ctx))


async def resubmit_due_runs(engine: Engine, executor: ArqExecutor) -> int:
    """Enqueue every due run again (see :meth:`ArqExecutor.resubmit`); return how many were enqueued."""
    enqueued = 0
    for run_id in await engine.due_run_ids():
        enqueued += await executor.resubmit(run_id)
    return enqueued


async def recover_runs(ctx: dict[str, Any]) -> dict[str, int]:
    """The recovery tick: dispatch pending events, re-submit due runs; return the counts."""
    engine = _engine(ctx)
    executor = engine.executor
    assert isinstance(executor, ArqExecutor)
    events = await dispatch_all_pending_events(engine)
    resubmitted = await resubmit_due_runs(engine, executor)
    level = logging.INFO if events or resubmitted else logging.DEBUG
    counts = {"events": events, "resubmitted": resubmitted}
    log.log(level, "workflow recovery tick", extra={"owner": engine.owner, **counts})
    return counts


async def _recover_every(ctx: dict[str, Any], seconds: float, stop: asyncio.Event) -> None:
    """:func:`recover_runs` at once, then every ``seconds``, until ``stop`` is set (errors logged)."""
    while not stop.is_set():
        try:
            await recover_runs(ctx)
        except Exception:
            log.exception("workflow recovery tick failed; retrying in %.0fs", seconds)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)


async def _stop_recovery(ctx: dict[str, Any]) -> None:
    """Let the recovery loop finish its tick (at most :data:`LOOP_STOP_SECONDS`), then cancel it."""
    recovery = ctx.pop(RECOVERY_KEY, None)
    if recovery is None:
        return
    stop, task = recovery
    stop.set()
    _, late = await asyncio.wait({task}, timeout=LOOP_STOP_SECONDS)
    for pending in late:
        pending.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def prune_runs(ctx: dict[str, Any]) -> int:
    """Delete the finished runs older than the retention; return how many."""
    pruned = await _engine(ctx).prune()
    if pruned:
        log.info("finished workflow runs pruned", extra={"runs": pruned})
    return pruned


# -------------------------------------------------------------------------------------------------
# Life cycle
# -------------------------------------------------------------------------------------------------


async def _startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx[SETTINGS_KEY]
    plugins: pluggy.PluginManager = ctx[PLUGINS_KEY]
    engine = Engine(settings=settings, plugins=plugins)  # owner: <host>:<pid>:<random>
    engine.executor = ArqExecutor(ctx["redis"], settings.redis.queue_name)
    ctx[ENGINE_KEY] = engine
    set_engine(engine)
    await call_all(plugins.hook.startup)
    ctx[STARTED_KEY] = True
    stop = asyncio.Event()
    interval = settings.workflows.recovery_interval_seconds
    ctx[RECOVERY_KEY] = (stop, asyncio.create_task(_recover_every(ctx, interval, stop), name="workflow-recovery"))
    log.info("worker started", extra={"owner": engine.owner, "queue": settings.redis.queue_name})


async def _shutdown(ctx: dict[str, Any]) -> None:
    await _stop_recovery(ctx)
    if ctx.pop(STARTED_KEY, False):
        await call_all(ctx[PLUGINS_KEY].hook.shutdown)
    set_engine(None)
    log.info("worker stopped")


def _every(seconds: float) -> dict[str, Any]:
    """arq cron fields firing about every ``seconds`` (at whole seconds, minutes or hours)."""
    if seconds < 60:
        step = max(1, round(seconds))
        return {"second": set(range(0, 60, step))}
    if seconds < 3600:
        return {"minute": set(range(0, 60, max(1, round(seconds / 60)))), "second": 0}
    return {"hour": set(range(0, 24, max(1, round(seconds / 3600)))), "minute": 0, "second": 0}


def _cron_jobs(settings: Settings, plugins: pluggy.PluginManager) -> list[CronJob]:
    queue = settings.redis.queue_name
    prune = cron(
        prune_runs,
        name=f"{queue}:prune-runs",
        unique=True,
        keep_result=CRON_RESULT_SECONDS,
        **_every(PRUNE_INTERVAL_SECONDS),
    )
    jobs = collect_jobs(plugins, settings)
    return [prune, *(arq_cron_for(job, queue_name=queue) for job in jobs)]


def worker_health_check_key(queue: str) -> str:
    """This worker process's arq health-check key: ``<queue>:health-check:<host>:<pid>``."""
    return f"{queue}{health_check_key_suffix}:{socket.gethostname()}:{os.getpid()}"


def worker_settings(settings: Settings, plugins: pluggy.PluginManager) -> dict[str, Any]:
    """The arq worker's settings (``Worker(**worker_settings(...))``) for this configuration.

    :raises core.errors.ConfigError: when a plugin's scheduled job is misconfigured.
    """
    workflows = settings.workflows
    queue = settings.redis.queue_name
    return {
        "functions": [
            func(run_workflow, name=RUN_WORKFLOW, timeout=RUN_JOB_TIMEOUT_SECONDS),
            func(dispatch_events, name=DISPATCH_EVENTS),
        ],
        "cron_jobs": _cron_jobs(settings, plugins),
        "queue_name": queue,
        "redis_settings": RedisSettings.from_dsn(settings.redis.url),
        "on_startup": _startup,
        "on_shutdown": _shutdown,
        "ctx": {SETTINGS_KEY: settings, PLUGINS_KEY: plugins},
        "keep_result": 0,
        "max_jobs": workflows.max_concurrent_runs,
        "poll_delay": workflows.worker_poll_delay_seconds,
        # One key per worker (<queue>:health-check:<host>:<pid>): the dashboard shows each.
        "health_check_key": worker_health_check_key(queue),
        "health_check_interval": max(1.0, workflows.recovery_interval_seconds),
        "job_completion_wait": workflows.shutdown_grace_seconds,
        "timezone": UTC,
    }


async def run_worker(settings: Settings, plugins: pluggy.PluginManager | None = None) -> None:
    """Run a worker until SIGTERM or SIGINT, then shut down gracefully (see the module docstring).

    The database must already be migrated.

    :param plugins: the plugin manager; by default one with the installed plugins.
    """
    plugins = plugins if plugins is not None else build_plugin_manager(settings)
    worker = Worker(**worker_settings(settings, plugins))
    # Opened here, not in on_startup: Tortoise's connections belong to the task (context) that
    # opened them, and arq runs on_startup in its main task but on_shutdown in this one.
    await init_database(settings.database)
    try:
        async with serving_worker_metrics(settings):  # [workflows] metrics_port; 0 = none
            await worker.async_run()
    except asyncio.CancelledError:
        # The signal handler cancels the worker's main task: a normal stop. Re-raise only when
        # this task itself is being cancelled.
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
    finally:
        try:
            await worker.close()
        finally:
            await close_database()
