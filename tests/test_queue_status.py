"""The queue-status snapshot shared by the dashboard and ``/metrics``, in both executor modes.

Embedded: counts come from the database and the in-process runner. arq: counts come from the
real Redis (``TEST_REDIS_URL``), on a private queue, with jobs enqueued as the server does; an
unreachable Redis gives an ``error`` and zero counts, never an exception.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pluggy
import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import in_progress_key_prefix
from pydantic import BaseModel
from redis.exceptions import RedisError

from core.config import Settings, WorkflowSettings
from core.models import WorkflowRunRecord
from core.queue_status import parse_health_check, read_queue_status
from core.workflows.durable import Engine
from core.workflows.engine import step, workflow
from core.workflows.executors import ArqExecutor, InProcessExecutor
from core.workflows.leases import utcnow

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")

_gates: dict[str, asyncio.Event] = {}


class Gate(BaseModel):
    name: str


@step("queue-status-wait-for-gate")
async def wait_for_gate(gate: Gate) -> str:
    await _gates[gate.name].wait()
    return gate.name


@workflow("queue-status-gated", durable=True)
async def gated(gate: Gate) -> str:
    return await wait_for_gate(gate)


async def _run(run_id: str, *, state: str = "pending", wake_in: float | None = None, leased: bool = False) -> None:
    now = utcnow()
    await WorkflowRunRecord.create(
        id=run_id,
        workflow_name="queue-status-gated",
        state=state,
        input={"name": run_id},
        wake_at=now + timedelta(seconds=wake_in) if wake_in is not None else None,
        owner="elsewhere" if leased else None,
        lease_until=now + timedelta(seconds=60) if leased else None,
    )


# -------------------------------------------------------------------------------------------------
# embedded
# -------------------------------------------------------------------------------------------------


async def test_embedded_status_counts_due_deferred_and_executing_runs(
    settings: Settings, plugins: pluggy.PluginManager, db: None
) -> None:
    configured = settings.model_copy(update={"workflows": WorkflowSettings(max_concurrent_runs=1)})
    engine = Engine(settings=configured, plugins=plugins)
    executor = InProcessExecutor(engine)
    engine.executor = executor
    for run_id in ("due-1", "due-2", "due-3"):
        _gates[run_id] = asyncio.Event()
        await _run(run_id)
    await _run("retry-later", wake_in=600)
    await _run("leased-elsewhere", leased=True)
    await _run("finished", state="done")
    await executor.start()  # the recovery pass submits the three due runs; one gets the only slot
    try:
        async with asyncio.timeout(10):  # one run executing, two waiting for the only slot
            while not _slots_taken(executor):
                await asyncio.sleep(0.02)

        status = await read_queue_status(engine)

        assert (status.mode, status.error) == ("embedded", None)
        assert (status.queued, status.deferred, status.in_progress) == (2, 1, 1)
        assert status.workers == []
        runner = status.runner
        assert runner is not None
        assert (runner["max_concurrent_runs"], runner["running"], runner["waiting_for_slot"]) == (1, 1, 2)
        assert runner["recovery_interval_seconds"] == configured.workflows.recovery_interval_seconds
        assert runner["loops"] and all(runner["loops"].values())
        assert runner["runs_started"] == 1 and runner["runs_finished"] == 0
    finally:
        for gate in _gates.values():
            gate.set()
        _gates.clear()
        await executor.stop(grace_seconds=10)
    assert executor.figures()["loops"] == {}


def _slots_taken(executor: InProcessExecutor) -> bool:
    figures = executor.figures()
    return figures["running"] == 1 and figures["waiting_for_slot"] == 2


async def test_embedded_status_of_an_idle_runner_counts_database_runs_only(
    settings: Settings, plugins: pluggy.PluginManager, db: None
) -> None:
    engine = Engine(settings=settings, plugins=plugins)
    engine.executor = InProcessExecutor(engine)  # not started: executes nothing
    await _run("due-1")
    await _run("due-2")
    await _run("retry-later", wake_in=600)
    await _run("leased-elsewhere", leased=True)
    await _run("failed", state="failed")

    status = await read_queue_status(engine)

    assert (status.mode, status.queued, status.deferred, status.in_progress) == ("embedded", 2, 1, 0)
    assert status.runner is not None and status.runner["running"] == 0
    assert status.runner["loops"] == {}


async def test_embedded_status_reports_an_unreachable_database_without_raising(
    settings: Settings, plugins: pluggy.PluginManager
) -> None:
    engine = Engine(settings=settings, plugins=plugins)  # no database opened in this test
    engine.executor = InProcessExecutor(engine)

    status = await read_queue_status(engine)

    assert status.error is not None and status.error.startswith("database unreachable")
    assert (status.queued, status.deferred, status.in_progress) == (0, 0, 0)


# -------------------------------------------------------------------------------------------------
# arq
# -------------------------------------------------------------------------------------------------


@pytest.fixture
async def redis() -> AsyncIterator[ArqRedis]:
    try:
        pool = await create_pool(replace(RedisSettings.from_dsn(REDIS_URL), conn_retries=0))
    except (OSError, RedisError) as exc:
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    yield pool
    await pool.aclose()


@pytest.fixture
async def arq_engine(
    settings: Settings, plugins: pluggy.PluginManager, redis: ArqRedis
) -> AsyncIterator[Engine]:
    queue = f"test-status-{uuid.uuid4().hex[:10]}"
    engine = Engine(settings=settings, plugins=plugins)
    engine.executor = ArqExecutor(redis, queue)
    yield engine
    keys = [key async for key in redis.scan_iter(match=f"*{queue}*")]
    if keys:
        await redis.delete(*keys)


async def test_arq_status_counts_queued_deferred_and_in_progress_jobs(arq_engine: Engine, redis: ArqRedis) -> None:
    executor = arq_engine.executor
    assert isinstance(executor, ArqExecutor)
    for run_id in ("run-1", "run-2", "run-3"):
        await executor.submit(run_id)
    await redis.enqueue_job("run_workflow", "later", _job_id=executor.job_id("later"), _queue_name=executor.queue_name,
                            _defer_by=600)
    # A worker took run-1: arq marks it in progress and leaves it in the queue until it ends.
    await redis.psetex(in_progress_key_prefix + executor.job_id("run-1"), 60_000, b"1")
    # A cron job that ended a moment ago keeps its in-progress key but left the queue.
    await redis.psetex(in_progress_key_prefix + f"cron:{executor.queue_name}:recover-runs:1", 60_000, b"1")

    status = await read_queue_status(arq_engine)

    assert status.error is None
    assert (status.mode, status.queue_name) == ("arq", executor.queue_name)
    assert (status.queued, status.deferred, status.in_progress) == (2, 1, 1)
    assert status.workers == []
    assert status.runner is None


async def test_arq_status_reads_the_workers_health_check(arq_engine: Engine, redis: ArqRedis) -> None:
    executor = arq_engine.executor
    assert isinstance(executor, ArqExecutor)
    text = "Nov-28 20:00:01 j_complete=12 j_failed=1 j_retried=2 j_ongoing=3 queued=4"
    await redis.psetex(f"{executor.queue_name}:health-check:host-a:11", 11_000, text.encode())
    await redis.psetex(f"{executor.queue_name}:health-check:host-b:12", 11_000, b"Nov-28 20:00:02 j_complete=1")

    status = await read_queue_status(arq_engine)

    health, other = status.workers
    assert (health.key, other.key) == (f"{executor.queue_name}:health-check:host-a:11",
                                      f"{executor.queue_name}:health-check:host-b:12")
    assert other.figures == {"j_complete": 1}
    assert health.text == text
    assert health.figures == {"j_complete": 12, "j_failed": 1, "j_retried": 2, "j_ongoing": 3, "queued": 4}
    assert health.expires_in_seconds is not None and 0 < health.expires_in_seconds <= 11


async def test_arq_status_reports_an_unreachable_redis_without_raising(
    settings: Settings, plugins: pluggy.PluginManager
) -> None:
    engine = Engine(settings=settings, plugins=plugins)
    unreachable = ArqRedis(host="127.0.0.1", port=1, socket_connect_timeout=1)
    engine.executor = ArqExecutor(unreachable, "test-status-down")
    started = time.monotonic()
    try:
        status = await read_queue_status(engine)
    finally:
        await unreachable.aclose()

    assert status.mode == "arq"
    assert status.error is not None and "Redis unreachable" in status.error
    assert (status.queued, status.deferred, status.in_progress, status.workers) == (0, 0, 0, [])
    assert time.monotonic() - started < 30


def test_health_check_figures_are_parsed_from_arqs_text() -> None:
    figures = parse_health_check("Nov-28 20:00:01 j_complete=3 j_failed=0 j_retried=5 j_ongoing=1 queued=27")

    assert figures == {"j_complete": 3, "j_failed": 0, "j_retried": 5, "j_ongoing": 1, "queued": 27}
