"""Crashes: a worker killed with SIGKILL mid-step, another worker resuming; two workers racing.

The workflow (``exec-three-steps``) writes to our database, calls a fake external service, and
writes again (see :mod:`crash_workflows`). After every scenario each database effect committed
exactly once, and the external service saw only the one idempotency key of its step, called
again only when the crash fell between the call and its checkpoint.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pluggy
import pytest
from arq.constants import in_progress_key_prefix

from core.config import Settings
from core.models import WorkflowRunRecord, WorkflowStepRecord

from .arq_support import ArqTestbed, open_testbed, wait_for, wait_for_state
from .crash_workflows import CRASH_AT_ENV, Job, effect_count, three_steps

LEASE_SECONDS = "2"
STEPS = ("write-order", "call-erp", "write-shipment")
DATABASE_STEPS = ("write-order", "write-shipment")


@pytest.fixture
async def testbed(
    settings: Settings, plugins: pluggy.PluginManager, db: None, tmp_path: Path
) -> AsyncIterator[ArqTestbed]:
    bed = await open_testbed(settings, plugins, tmp_path)
    yield bed
    await bed.close()


async def _file_exists(path: Path) -> bool:
    return path.exists()


@pytest.mark.parametrize("crash_step", STEPS)
async def test_run_of_a_killed_worker_resumes_on_another_with_every_effect_once(
    testbed: ArqTestbed, crash_step: str
) -> None:
    lease = {"ERPCOMMERCE_WORKFLOWS__LEASE_SECONDS": LEASE_SECONDS}
    first = await testbed.start_worker(**lease, **{CRASH_AT_ENV: crash_step})
    run_id = f"crash-{crash_step}"
    await testbed.engine.start(three_steps, Job(label="order-1"), run_id=run_id)

    marker = testbed.directory / f"blocked-{crash_step}-{first.pid}"
    await wait_for(lambda: _file_exists(marker), 30, f"the first worker to be in the middle of {crash_step}")
    first.kill()
    held = await WorkflowRunRecord.get(id=run_id)
    assert held.state == "invoking"
    assert held.owner is not None and f":{first.pid}:" in held.owner
    assert held.lease_until is not None

    second = await testbed.start_worker(**lease)
    record = await wait_for_state(run_id, ("done",))

    assert record.output == f"erp-{run_id}:call-erp"
    assert record.attempts == 2  # one claim by each worker
    assert record.owner is None and record.lease_until is None
    steps = await WorkflowStepRecord.filter(run_id=run_id).order_by("seq")
    assert [(step.name, step.state) for step in steps] == [(name, "done") for name in STEPS]
    # The second worker took the run over only once the dead worker's lease had expired.
    resumed = next(step for step in steps if step.name == crash_step)
    assert resumed.finished_at is not None and resumed.finished_at >= held.lease_until
    # The dead worker's arq job was still "in progress": recovery replaced it, and the second
    # worker ran the run's job (the same id) again.
    assert f"{testbed.executor.job_id(run_id)}:run_workflow" in second.log()

    # Database steps: exactly once, even the one killed inside its transaction.
    for name in DATABASE_STEPS:
        assert await effect_count(run_id, name) == 1, name
    # External step: one idempotency key; called twice only if killed between call and checkpoint.
    calls = testbed.external.calls()
    assert {key for key, _, _ in calls} == {f"{run_id}:call-erp"}
    if crash_step == "call-erp":
        assert [pid for _, pid, _ in calls] == [first.pid, second.pid]
        assert calls[1][2] >= held.lease_until.timestamp()
    else:
        assert len(calls) == 1


async def test_two_workers_never_execute_the_same_run_at_once(testbed: ArqTestbed) -> None:
    concurrency = {"ERPCOMMERCE_WORKFLOWS__MAX_CONCURRENT_RUNS": "4"}
    workers = [await testbed.start_worker(wait=False, **concurrency) for _ in range(2)]
    for worker in workers:
        await worker.wait_started()
    run_ids = [f"race-{number}" for number in range(40)]
    for run_id in run_ids:
        await testbed.engine.start(three_steps, Job(label=run_id), run_id=run_id)
        # A second job for the same run: both workers get one and race for the run's lease.
        await testbed.redis.enqueue_job(
            "run_workflow", run_id, _job_id=f"{testbed.executor.job_id(run_id)}#race", _queue_name=testbed.queue_name
        )
    for run_id in run_ids:
        record = await wait_for_state(run_id, ("done",))
        assert record.attempts == 1, run_id  # the losing job found the run leased or finished

    for run_id in run_ids:
        for name in DATABASE_STEPS:
            assert await effect_count(run_id, name) == 1, (run_id, name)
    calls = testbed.external.calls()
    assert Counter(key for key, _, _ in calls) == Counter(f"{run_id}:call-erp" for run_id in run_ids)
    assert {pid for _, pid, _ in calls} == {worker.pid for worker in workers}


async def test_run_without_any_arq_job_is_found_and_run_by_recovery(testbed: ArqTestbed) -> None:
    """Redis lost the job (or the server died before enqueueing): the recovery cron finds the run."""
    testbed.engine.executor = None  # insert the run only
    await testbed.engine.start(three_steps, Job(label="lost"), run_id="lost-job")
    started = time.monotonic()
    await testbed.start_worker()
    record = await wait_for_state("lost-job", ("done",))
    assert record.attempts == 1
    assert time.monotonic() - started < 15
    assert await effect_count("lost-job", "write-order") == 1


async def test_jobs_orphaned_by_killed_workers_never_stall_the_queue(testbed: ArqTestbed) -> None:
    """More orphans than a worker reads from the head of the queue (arq: max(5 x max_jobs, 100)).

    Killed workers leave their jobs in the queue marked in progress for hours; a worker that reads
    only orphans starts nothing, and recovery must not be a queued job waiting behind them.
    """
    testbed.engine.executor = None  # insert the runs only
    run_ids = [f"orphan-{number:03d}" for number in range(120)]
    for run_id in run_ids:
        await testbed.engine.start(three_steps, Job(label=run_id), run_id=run_id)
        job_id = testbed.executor.job_id(run_id)
        await testbed.redis.enqueue_job("run_workflow", run_id, _job_id=job_id, _queue_name=testbed.queue_name)
        await testbed.redis.psetex(in_progress_key_prefix + job_id, 6 * 3600 * 1000, b"1")  # as a SIGKILL leaves it
    # A new run queued behind the orphans, as the server submits it.
    await testbed.engine.start(three_steps, Job(label="fresh"), run_id="fresh")
    await testbed.executor.submit("fresh")

    await testbed.start_worker(ERPCOMMERCE_WORKFLOWS__MAX_CONCURRENT_RUNS="4")  # reads 100 ids at a time

    for run_id in ["fresh", *run_ids]:
        await wait_for_state(run_id, ("done",), timeout=60)
    assert await testbed.redis.zcard(testbed.queue_name) == 0
    for run_id in run_ids[:5]:
        assert await effect_count(run_id, "write-order") == 1
