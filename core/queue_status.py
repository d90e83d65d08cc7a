"""What the engine's executor is doing right now: queue depth, jobs in progress, worker health.

One read-only snapshot (:func:`read_queue_status`) shared by the dashboard and ``GET /metrics``.

- **arq** (``[redis] url`` set): read from Redis, per queue. The queue is arq's sorted set
  ``<queue>`` (member = job id, score = when the job is due, in ms); a job stays in it while it
  runs, marked by an ``arq:in-progress:<job id>`` key, and leaves it when it ends. So ``queued``
  counts members due now that are not in progress, ``deferred`` members due later, and
  ``in_progress`` the in-progress keys whose job is still a member of this queue (arq keeps a cron
  job's key for a minute after the job ended: those are not counted). The workers' health check
  (``<queue>:health-check``, written by each worker every ``health_check_interval``; the workers
  of one queue share the key, so it holds the latest report) is parsed into figures.
- **embedded** (the in-process runner): read from the database and the runner itself. ``queued``
  counts the runs due now (runnable, lease free or expired, ``wake_at`` reached) that are not
  executing here, ``deferred`` the runnable runs waiting for their retry time, ``in_progress``
  the runs executing in this process.

Reading never raises for an unreachable Redis or database: the snapshot then carries ``error``
and zero counts, and the page (or the scrape) says why.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix
from redis.exceptions import RedisError
from tortoise.expressions import Q

from core.models import WorkflowRunRecord
from core.workflows.durable import Engine
from core.workflows.executors import ArqExecutor, InProcessExecutor
from core.workflows.leases import RUNNABLE_STATES, due_filter, utcnow

__all__ = [
    "QueueStatus",
    "WorkerHealth",
    "parse_health_check",
    "read_queue_status",
]

log = logging.getLogger(__name__)

# arq's health check value: "Nov-28 20:00:01 j_complete=3 j_failed=0 j_retried=0 j_ongoing=1 queued=2".
_FIGURE = re.compile(r"\b(j_complete|j_failed|j_retried|j_ongoing|queued)=(\d+)\b")
# Keys asked of Redis per round trip when scanning in-progress keys or checking queue membership.
_SCAN_BATCH = 1000


@dataclass(frozen=True, slots=True)
class WorkerHealth:
    """One arq health-check report.

    :param key: the Redis key it was read from.
    :param text: the raw value arq wrote.
    :param figures: its ``j_complete``, ``j_failed``, ``j_retried``, ``j_ongoing`` and ``queued``.
    :param expires_in_seconds: TTL left on the key (None: no TTL). arq sets it to the health check
        interval plus a second, so a key about to expire means its worker stopped reporting.
    """

    key: str
    text: str
    figures: dict[str, int]
    expires_in_seconds: float | None


@dataclass(frozen=True, slots=True)
class QueueStatus:
    """A snapshot of the executor's queue (see the module doc for what each count means per mode).

    :param runner: embedded only: the in-process runner's own figures
        (:meth:`~core.workflows.executors.InProcessExecutor.figures`).
    :param error: why the counts could not be read (they are then 0), else None.
    :param queue_name: arq only: the queue read.
    :param read_at: when the snapshot was taken (``time.time()``).
    """

    mode: Literal["embedded", "arq"]
    queued: int
    deferred: int
    in_progress: int
    workers: list[WorkerHealth]
    runner: dict[str, Any] | None
    error: str | None
    queue_name: str | None = None
    read_at: float = field(default_factory=time.time)


def parse_health_check(text: str) -> dict[str, int]:
    """The figures of an arq health-check value (the ones found; unknown parts are ignored)."""
    return {name: int(value) for name, value in _FIGURE.findall(text)}


async def read_queue_status(engine: Engine) -> QueueStatus:
    """A snapshot of ``engine``'s executor queue; never raises for Redis or database failures.

    An engine with no executor (not serving) reads as embedded with no runner figures.
    """
    executor = engine.executor
    if isinstance(executor, ArqExecutor):
        return await _read_arq(executor)
    runner = executor if isinstance(executor, InProcessExecutor) else None
    return await _read_embedded(runner)


# -------------------------------------------------------------------------------------------------
# arq
# -------------------------------------------------------------------------------------------------


async def _read_arq(executor: ArqExecutor) -> QueueStatus:
    queue = executor.queue_name
    try:
        now_ms = int(time.time() * 1000)
        redis = executor.redis
        due = int(await redis.zcount(queue, "-inf", now_ms))
        deferred = int(await redis.zcount(queue, f"({now_ms}", "+inf"))
        in_progress = await _in_progress(redis, queue)
        workers = await _health(redis, executor.health_check_keys)
    except (RedisError, OSError) as exc:
        log.warning("queue status of %s not read: %s", queue, exc)
        error = f"Redis unreachable: {type(exc).__name__}: {exc}"
        return QueueStatus("arq", 0, 0, 0, [], None, error, queue_name=queue)
    # In-progress jobs were due when they started (a retried job is re-scored, not in progress).
    return QueueStatus("arq", max(0, due - in_progress), deferred, in_progress, workers, None, None, queue_name=queue)


async def _in_progress(redis: ArqRedis, queue: str) -> int:
    """How many ``arq:in-progress:*`` keys belong to a job still in ``queue``."""
    prefix = in_progress_key_prefix.encode()
    job_ids: list[bytes] = []
    async for key in redis.scan_iter(match=in_progress_key_prefix + "*", count=_SCAN_BATCH):
        job_ids.append(key[len(prefix) :] if isinstance(key, bytes) else key.encode()[len(prefix) :])
    count = 0
    for start in range(0, len(job_ids), _SCAN_BATCH):
        scores = await redis.zmscore(queue, job_ids[start : start + _SCAN_BATCH])
        count += sum(score is not None for score in scores)
    return count


async def _health(redis: ArqRedis, pattern: str) -> list[WorkerHealth]:
    """Every worker's health-check report that has not expired (one key per worker), by key."""
    keys = sorted({key async for key in redis.scan_iter(match=pattern, count=_SCAN_BATCH)})
    reports = []
    for key in keys:
        raw = await redis.get(key)
        if raw is None:  # expired since the scan
            continue
        ttl_ms = int(await redis.pttl(key))
        name = key.decode() if isinstance(key, bytes) else str(key)
        text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
        expires = ttl_ms / 1000 if ttl_ms >= 0 else None
        reports.append(WorkerHealth(key=name, text=text, figures=parse_health_check(text), expires_in_seconds=expires))
    return reports


# -------------------------------------------------------------------------------------------------
# embedded
# -------------------------------------------------------------------------------------------------


async def _read_embedded(runner: InProcessExecutor | None) -> QueueStatus:
    figures = runner.figures() if runner is not None else None
    executing = runner.executing_run_ids if runner is not None else []
    now = utcnow()
    try:
        due = WorkflowRunRecord.filter(due_filter(now))
        queued = await (due.exclude(id__in=executing) if executing else due).count()
        deferred = await (
            WorkflowRunRecord.filter(state__in=RUNNABLE_STATES, wake_at__gt=now)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .count()
        )
    except Exception as exc:  # any database driver's error: the page shows it instead of failing
        log.warning("queue status not read from the database: %s", exc)
        error = f"database unreachable: {type(exc).__name__}: {exc}"
        return QueueStatus("embedded", 0, 0, len(executing), [], figures, error)
    return QueueStatus("embedded", queued, deferred, len(executing), [], figures, None)
