"""Who executes durable runs: the server itself (:class:`InProcessExecutor`) or arq workers (:class:`ArqExecutor`).

The engine (:mod:`core.workflows.durable`) keeps every run's state in the database and asks its
executor to "run or resume run X" (:meth:`~core.workflows.durable.Executor.submit`) once a run's
row is committed. Submitting is only a wake-up: the run's lease decides who executes it, so a
run submitted twice, or to two processes, still executes once at a time.

- Embedded default (``[redis] url`` empty): :class:`InProcessExecutor` runs submitted runs as
  asyncio tasks inside the server (at most ``workflows.max_concurrent_runs`` at once), looks for
  due runs every ``workflows.recovery_interval_seconds`` (new, lease expired, retry time
  reached), dispatches the events outbox when woken (and on the same interval), fires the
  plugins' scheduled jobs and prunes finished runs every hour.
- Production (``[redis] url`` set): :class:`ArqExecutor` enqueues arq jobs that ``erpcommerce
  worker`` processes (:mod:`core.worker`) execute; the workers do the recovery, dispatching,
  scheduling and pruning.

:func:`serving_engine` attaches the right one to the server's engine for the server's lifetime.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import health_check_key_suffix, in_progress_key_prefix, job_key_prefix, retry_key_prefix
from redis.exceptions import RedisError

from core.config import Settings
from core.events import DISPATCH_BATCH_SIZE, dispatch_pending_events
from core.jobs import JobSpec, collect_jobs
from core.scheduler import EmbeddedScheduler
from core.workflows.durable import Engine, set_engine

if TYPE_CHECKING:
    from arq.jobs import Job

__all__ = [
    "DISPATCH_EVENTS",
    "LOOP_STOP_SECONDS",
    "PRUNE_INTERVAL_SECONDS",
    "RUN_WORKFLOW",
    "ArqExecutor",
    "InProcessExecutor",
    "dispatch_all_pending_events",
    "serving_engine",
]

log = logging.getLogger(__name__)

# The arq functions a worker registers (core.worker) and the executor enqueues.
RUN_WORKFLOW = "run_workflow"
DISPATCH_EVENTS = "dispatch_events"
PRUNE_INTERVAL_SECONDS = 3600.0
# How long stopping waits for a background loop to finish its current pass before cancelling it.
LOOP_STOP_SECONDS = 5.0


async def dispatch_all_pending_events(engine: Engine) -> int:
    """Dispatch the events outbox until it is empty; return how many events were dispatched."""
    total = 0
    while True:
        taken = await dispatch_pending_events(engine)
        total += taken
        if taken < DISPATCH_BATCH_SIZE:
            return total


# -------------------------------------------------------------------------------------------------
# Embedded: asyncio tasks inside the server
# -------------------------------------------------------------------------------------------------


async def _wait(event: asyncio.Event, seconds: float) -> None:
    """Wait until ``event`` is set, for at most ``seconds``."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


class InProcessExecutor:
    """Executes the engine's runs as asyncio tasks of this process, with the background loops.

    :meth:`start` starts the loops (recovery, event dispatch, pruning, the scheduled jobs);
    :meth:`stop` stops them and cancels the running runs, whose leases the engine then releases
    (so another process, or this one restarted, resumes them at once).

    :param engine: the engine whose runs this executes (``engine.executor`` is set to this).
    :param jobs: the scheduled jobs to fire (from :func:`core.jobs.collect_jobs`).
    :param dispatch_events: whether to deliver the events outbox (only one kind of process should).
    """

    def __init__(self, engine: Engine, *, jobs: Iterable[JobSpec] = (), dispatch_events: bool = True) -> None:
        settings = engine.settings.workflows
        self.engine = engine
        self.recovery_interval = settings.recovery_interval_seconds
        self.dispatch_events = dispatch_events
        self._slots = asyncio.Semaphore(settings.max_concurrent_runs)
        self.scheduler = EmbeddedScheduler(engine, list(jobs))
        self._runs: dict[str, asyncio.Task[None]] = {}
        self._executing: set[str] = set()
        self._loops: list[asyncio.Task[None]] = []
        self.max_concurrent_runs = settings.max_concurrent_runs
        self.started_at: float | None = None  # time.time() of the last start()
        self.runs_started = 0  # executions that got a slot since this object was created
        self.runs_finished = 0  # of those, the ones that ended (whatever the outcome)
        self._events_written = asyncio.Event()
        self._stopping = asyncio.Event()
        self._accepting = False

    @property
    def running_run_ids(self) -> list[str]:
        """The runs submitted to this process and not finished yet (waiting for a slot or running)."""
        return list(self._runs)

    @property
    def executing_run_ids(self) -> list[str]:
        """The runs executing in this process now (holding one of the ``max_concurrent_runs`` slots)."""
        return list(self._executing)

    def figures(self) -> dict[str, object]:
        """This runner's own figures, for the dashboard and ``/metrics`` (read-only, no I/O)."""
        return {
            "max_concurrent_runs": self.max_concurrent_runs,
            "running": len(self._executing),
            "waiting_for_slot": len(self._runs) - len(self._executing),
            "recovery_interval_seconds": self.recovery_interval,
            "accepting": self._accepting,
            "loops": {task.get_name(): not task.done() for task in self._loops},
            "scheduler_running": self.scheduler.running,
            "scheduled_jobs": len(self.scheduler.jobs),
            "started_at": self.started_at,
            "runs_started": self.runs_started,
            "runs_finished": self.runs_finished,
        }

    async def start(self) -> None:
        """Accept runs and start the background loops (each runs once at once, then periodically)."""
        self._stopping.clear()
        self._accepting = True
        self.started_at = time.time()
        self._loops = [
            asyncio.create_task(self._every(self.recovery_interval, self._recover), name="workflow-recovery"),
            asyncio.create_task(self._every(PRUNE_INTERVAL_SECONDS, self._prune), name="workflow-prune"),
        ]
        if self.dispatch_events:
            self._loops.append(asyncio.create_task(self._dispatch_loop(), name="event-dispatch"))
        await self.scheduler.start()

    async def stop(self, grace_seconds: float = 0.0) -> None:
        """Stop the loops; give running runs ``grace_seconds`` to finish, cancel the rest and wait.

        The loops finish what they are doing (a query cancelled while it opens the database
        connection would leak that connection), for at most :data:`LOOP_STOP_SECONDS`. A cancelled
        run's lease is released by the engine: it stays runnable and resumes from its last
        checkpoint in the next process that executes it.
        """
        self._accepting = False
        self._stopping.set()
        self._events_written.set()
        await self.scheduler.stop()
        if self._loops:
            _, late = await asyncio.wait(self._loops, timeout=LOOP_STOP_SECONDS)
            for task in late:
                task.cancel()
            await asyncio.gather(*self._loops, return_exceptions=True)
        self._loops = []
        runs = list(self._runs.values())
        if runs and grace_seconds > 0:
            await asyncio.wait(runs, timeout=grace_seconds)
        for task in runs:
            task.cancel()
        await asyncio.gather(*runs, return_exceptions=True)

    async def submit(self, run_id: str) -> None:
        """Execute ``run_id`` in a task of this process (no-op if it is already here or stopping)."""
        if not self._accepting or run_id in self._runs:
            return
        task = asyncio.create_task(self._execute(run_id), name=f"workflow-run:{run_id}")
        self._runs[run_id] = task
        task.add_done_callback(lambda done: self._forget(run_id, done))

    async def notify_events(self) -> None:
        """New events were written: wake the dispatcher."""
        self._events_written.set()

    def _forget(self, run_id: str, task: asyncio.Task[None]) -> None:
        if self._runs.get(run_id) is task:
            del self._runs[run_id]

    async def _execute(self, run_id: str) -> None:
        async with self._slots:
            self._executing.add(run_id)
            self.runs_started += 1
            try:
                await self.engine.execute(run_id)
            except Exception:
                # The engine records a run's own failures; this is an infrastructure error
                # (database down...). The run stays runnable and the recovery loop retries it.
                log.exception("workflow run %s could not be executed", run_id)
            finally:
                self._executing.discard(run_id)
                self.runs_finished += 1

    async def _every(self, seconds: float, work: Callable[[], Awaitable[object]]) -> None:
        while not self._stopping.is_set():
            try:
                await work()
            except Exception:
                log.exception("workflow background task %s failed; retrying in %.0fs", work.__name__, seconds)
            await _wait(self._stopping, seconds)

    async def _recover(self) -> None:
        for run_id in await self.engine.due_run_ids():
            await self.submit(run_id)

    async def _prune(self) -> None:
        pruned = await self.engine.prune()
        if pruned:
            log.info("finished workflow runs pruned", extra={"runs": pruned})

    async def _dispatch_loop(self) -> None:
        """Dispatch at start, whenever woken by :meth:`notify_events`, and every recovery interval."""
        while not self._stopping.is_set():
            self._events_written.clear()
            try:
                await dispatch_all_pending_events(self.engine)
            except Exception:
                log.exception("event dispatch failed; retrying in %.0fs", self.recovery_interval)
            await _wait(self._events_written, self.recovery_interval)  # stop() sets it too


# -------------------------------------------------------------------------------------------------
# Production: arq jobs for the workers
# -------------------------------------------------------------------------------------------------


class ArqExecutor:
    """Hands runs to ``erpcommerce worker`` processes as arq jobs on ``queue_name``.

    A run's job is ``run_workflow(run_id)`` with the job id ``<queue>:<run id>``: arq ignores a
    job whose id is already queued or running, so submitting twice enqueues once (the workers
    keep no results, so the id is free again once the job ended). The queue name prefixes the
    id because arq's job ids are global to the Redis database, not per queue.

    :meth:`submit` and :meth:`notify_events` are wake-ups and never fail their caller: when Redis
    cannot be reached they log a warning, and the workers' recovery tick finds the run (or the
    events) in the database later.

    :param redis: an arq pool (the server's, or the worker's own ``ctx["redis"]``).
    :param queue_name: ``[redis] queue_name``.
    """

    def __init__(self, redis: ArqRedis, queue_name: str) -> None:
        self.redis = redis
        self.queue_name = queue_name

    @property
    def health_check_keys(self) -> str:
        """The pattern of the keys the queue's workers write their arq health checks to.

        ``<queue>:health-check:<host>:<pid>``, one per worker (:func:`core.worker.worker_health_check_key`).
        """
        return f"{self.queue_name}{health_check_key_suffix}:*"

    def job_id(self, run_id: str) -> str:
        """The arq job id of ``run_id``'s job."""
        return f"{self.queue_name}:{run_id}"

    async def submit(self, run_id: str) -> None:
        """Enqueue ``run_workflow(run_id)`` unless a job for it is already queued or running."""
        try:
            await self._enqueue(self.job_id(run_id), run_id)
        except (RedisError, OSError) as exc:
            log.warning("workflow run %s not enqueued (%s); the recovery tick will submit it", run_id, exc)

    async def resubmit(self, run_id: str) -> bool:
        """Submit a due run again, even when a dead worker still holds its arq job.

        A worker killed mid-job leaves its jobs in the queue, marked in progress until arq's job
        timeout (hours), so the plain job id stays taken. A due run has no live lease holder, so
        such a job is orphaned: it is removed from the queue (:meth:`drop_orphaned_job`) and the
        run enqueued again under its plain id. Left in place, orphans pile up at the head of the
        queue, and a worker reading a page of job ids that are all orphans starts nothing at all.

        :return: whether a job was enqueued.
        """
        job_id = self.job_id(run_id)
        if await self._enqueue(job_id, run_id) is not None:
            return True
        if not await self.redis.exists(in_progress_key_prefix + job_id):
            return False  # queued, not started: a worker will take it
        await self.drop_orphaned_job(job_id)
        return await self._enqueue(job_id, run_id) is not None

    async def drop_orphaned_job(self, job_id: str) -> None:
        """Remove job ``job_id`` from the queue with its arq keys (in progress, definition, retries).

        Only for the job of a due run: if a live worker had just taken it, that worker still runs
        it (and finds the run leased, or runs it), so nothing is lost either way.
        """
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.queue_name, job_id)
            pipe.delete(in_progress_key_prefix + job_id, job_key_prefix + job_id, retry_key_prefix + job_id)
            await pipe.execute()

    async def notify_events(self) -> None:
        """Enqueue one ``dispatch_events`` job (coalesced with one already queued)."""
        try:
            await self.redis.enqueue_job(
                DISPATCH_EVENTS, _job_id=f"{self.queue_name}:{DISPATCH_EVENTS}", _queue_name=self.queue_name
            )
        except (RedisError, OSError) as exc:
            log.warning("event dispatch not enqueued (%s); the recovery tick will dispatch", exc)

    async def _enqueue(self, job_id: str, run_id: str) -> Job | None:
        return await self.redis.enqueue_job(RUN_WORKFLOW, run_id, _job_id=job_id, _queue_name=self.queue_name)


# -------------------------------------------------------------------------------------------------
# The server's engine
# -------------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def serving_engine(engine: Engine) -> AsyncIterator[Engine]:
    """Run ``engine`` for a server's lifetime and make it the process's engine (:func:`get_engine`).

    Without ``[redis] url`` the server executes the runs itself (:class:`InProcessExecutor`, with
    the scheduled jobs); with it, it only enqueues them for the workers (:class:`ArqExecutor`).
    On exit the executor stops gracefully (running runs cancelled, their leases released).
    """
    settings: Settings = engine.settings
    if settings.redis.url:
        redis = await create_pool(RedisSettings.from_dsn(settings.redis.url))
        engine.executor = ArqExecutor(redis, settings.redis.queue_name)
        set_engine(engine)
        try:
            yield engine
        finally:
            set_engine(None)
            engine.executor = None
            await redis.aclose()
        return
    executor = InProcessExecutor(engine, jobs=collect_jobs(engine.plugins, settings))
    engine.executor = executor
    set_engine(engine)
    await executor.start()
    try:
        yield engine
    finally:
        await executor.stop()
        set_engine(None)
        engine.executor = None
