"""arq workers for real: ``erpcommerce worker`` subprocesses on the real Redis, sharing the test database.

The server side (an engine with :class:`ArqExecutor`) enqueues; workers execute, recover,
dispatch events and shut down gracefully.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pluggy
import pytest
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix

from core.app import create_app
from core.config import RedisSettings, Settings
from core.events import event_run_id
from core.hookspecs import hookimpl
from core.jobs import JobSpec
from core.keys import ENGINE
from core.models import Event, WorkflowRunRecord
from core.scheduler import ARQ_CRON_PREFIX
from core.worker import worker_settings
from core.workflows.executors import ArqExecutor

from . import crash_workflows
from .arq_support import ArqTestbed, open_testbed, wait_for, wait_for_state
from .crash_workflows import Job, effect_count, handled_events, release_file, three_steps, wait_for_release

CONSOLE_SCRIPT = Path(sys.executable).with_name("erpcommerce")


@pytest.fixture
async def testbed(
    settings: Settings, plugins: pluggy.PluginManager, db: None, tmp_path: Path
) -> AsyncIterator[ArqTestbed]:
    bed = await open_testbed(settings, plugins, tmp_path)
    yield bed
    await bed.close()


def run_command(testbed: ArqTestbed, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CONSOLE_SCRIPT), *args],
        cwd=testbed.directory,
        env=testbed.environment(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


async def _file_exists(path: Path) -> bool:
    return path.exists()


# -------------------------------------------------------------------------------------------------
# The command
# -------------------------------------------------------------------------------------------------


async def test_worker_command_refuses_an_empty_redis_url(testbed: ArqTestbed) -> None:
    result = run_command(testbed, "worker", ERPCOMMERCE_REDIS__URL="")
    assert result.returncode == 2
    assert "configuration error: redis.url" in result.stderr
    assert "ERPCOMMERCE_REDIS__URL" in result.stderr


async def test_worker_command_refuses_an_unmigrated_database(testbed: ArqTestbed) -> None:
    empty = testbed.directory / "empty.db"
    result = run_command(testbed, "worker", ERPCOMMERCE_DATABASE__URL=f"sqlite://{empty}")
    assert result.returncode == 1
    assert "the database is not migrated (commerce.0001_initial" in result.stderr
    assert "run `erpcommerce migrate` first" in result.stderr


async def test_worker_command_says_when_redis_cannot_be_reached(testbed: ArqTestbed) -> None:
    result = run_command(testbed, "worker", ERPCOMMERCE_REDIS__URL="redis://127.0.0.1:1")
    assert result.returncode == 1
    assert "cannot use Redis ([redis] url)" in result.stderr
    assert "Traceback" not in result.stderr


async def test_worker_command_runs_with_a_health_check_until_sigterm(testbed: ArqTestbed) -> None:
    worker = await testbed.start_worker(command=[str(CONSOLE_SCRIPT), "worker"])
    health_keys = f"{testbed.queue_name}:health-check:*"

    async def healthy() -> bool:
        return bool([key async for key in testbed.redis.scan_iter(match=health_keys)])

    await wait_for(healthy, 10, "the health check key")
    (key,) = [key async for key in testbed.redis.scan_iter(match=health_keys)]
    assert key.decode().endswith(f":{socket.gethostname()}:{worker.pid}")
    worker.terminate()
    assert await worker.wait_exit() == 0
    assert not await testbed.redis.exists(key)
    assert 'msg="worker stopped"' in worker.log()


# -------------------------------------------------------------------------------------------------
# Executing, recovering, dispatching
# -------------------------------------------------------------------------------------------------


async def test_worker_executes_the_runs_the_engine_enqueues(testbed: ArqTestbed) -> None:
    worker = await testbed.start_worker()
    run_ids = [f"run-{number}" for number in range(10)]
    for run_id in run_ids:
        record = await testbed.engine.start(three_steps, Job(label=run_id), run_id=run_id)
        assert record.state == "pending"
    for run_id in run_ids:
        record = await wait_for_state(run_id, ("done",))
        assert record.output == f"erp-{run_id}:call-erp"
        assert record.attempts == 1
        assert await effect_count(run_id, "write-shipment") == 1
    assert {pid for _, pid, _ in testbed.external.calls()} == {worker.pid}


async def test_server_with_redis_enqueues_and_a_worker_runs(
    testbed: ArqTestbed, plugins: pluggy.PluginManager, aiohttp_client: Any
) -> None:
    app = create_app(testbed.settings, plugins, manage_database=False)
    await aiohttp_client(app)
    engine = app[ENGINE]
    assert isinstance(engine.executor, ArqExecutor)

    await engine.start(three_steps, Job(label="from-server"), run_id="from-server")
    assert await testbed.redis.exists(f"arq:job:{testbed.executor.job_id('from-server')}")
    assert (await WorkflowRunRecord.get(id="from-server")).state == "pending"  # the server does not run it

    await testbed.start_worker()
    record = await wait_for_state("from-server", ("done",))
    assert record.output == "erp-from-server:call-erp"


async def test_workers_recovering_at_the_same_time_run_each_lost_run_once(testbed: ArqTestbed) -> None:
    """Every worker runs its own recovery loop; runs without a job are enqueued and executed once."""
    testbed.engine.executor = None  # insert the runs only: no arq job
    run_ids = [f"lost-{number}" for number in range(20)]
    for run_id in run_ids:
        await testbed.engine.start(three_steps, Job(label=run_id), run_id=run_id)
    workers = [await testbed.start_worker(wait=False) for _ in range(2)]
    for worker in workers:
        await worker.wait_started()
    for run_id in run_ids:
        record = await wait_for_state(run_id, ("done",))
        assert record.attempts == 1, run_id  # claimed once: a second job found it leased or done
        assert await effect_count(run_id, "write-order") == 1
    calls = testbed.external.calls()
    assert Counter(key for key, _, _ in calls) == Counter(f"{run_id}:call-erp" for run_id in run_ids)


async def test_worker_dispatches_events_when_notified(testbed: ArqTestbed) -> None:
    await testbed.start_worker(ERPCOMMERCE_WORKFLOWS__RECOVERY_INTERVAL_SECONDS="3600")
    event = await Event.create(name="order.placed", payload={"id": "order_1"})
    started = time.monotonic()
    await testbed.executor.notify_events()

    async def delivered() -> bool:
        return bool(handled_events(testbed.directory))

    await wait_for(delivered, 10, "the event to be delivered")
    assert time.monotonic() - started < 5  # woken by the notification, not by a recovery tick
    assert handled_events(testbed.directory)[0][:2] == ("order.placed", "order_1")
    await event.refresh_from_db()
    assert event.dispatched_at is not None
    subscriber = crash_workflows.__name__
    await wait_for_state(event_run_id(event.id, subscriber), ("done",))


# -------------------------------------------------------------------------------------------------
# Graceful shutdown
# -------------------------------------------------------------------------------------------------


async def test_sigterm_lets_a_running_run_finish_within_the_grace_period(testbed: ArqTestbed) -> None:
    worker = await testbed.start_worker(ERPCOMMERCE_WORKFLOWS__SHUTDOWN_GRACE_SECONDS="20")
    await testbed.engine.start(wait_for_release, Job(label="finish"), run_id="finish")
    await wait_for(lambda: _file_exists(testbed.directory / f"waiting-finish-{worker.pid}"), 20, "the step")
    worker.terminate()
    await asyncio.sleep(0.5)
    assert worker.process.poll() is None  # still finishing its run
    release_file(testbed.directory, "finish").touch()

    assert await worker.wait_exit() == 0
    record = await WorkflowRunRecord.get(id="finish")
    assert record.state == "done"
    assert record.output == f"released by {worker.pid}"


async def test_sigterm_cancels_a_run_after_the_grace_period_and_releases_its_lease(testbed: ArqTestbed) -> None:
    slow = {"ERPCOMMERCE_WORKFLOWS__SHUTDOWN_GRACE_SECONDS": "0.5", "ERPCOMMERCE_WORKFLOWS__LEASE_SECONDS": "120"}
    first = await testbed.start_worker(**slow)
    await testbed.engine.start(wait_for_release, Job(label="cancel"), run_id="cancel")
    await wait_for(lambda: _file_exists(testbed.directory / f"waiting-cancel-{first.pid}"), 20, "the step")
    first.terminate()
    assert await first.wait_exit(10) == 0

    record = await WorkflowRunRecord.get(id="cancel")
    assert (record.state, record.owner, record.lease_until) == ("invoking", None, None)
    # arq put the cancelled job back on the queue: the next worker resumes the run at once,
    # long before the 120 s lease would have expired.
    release_file(testbed.directory, "cancel").touch()
    second = await testbed.start_worker(**slow)
    record = await wait_for_state("cancel", ("done",), timeout=15)
    assert record.output == f"released by {second.pid}"
    assert await effect_count("cancel", "after-release") == 1


# -------------------------------------------------------------------------------------------------
# ArqExecutor and the worker settings
# -------------------------------------------------------------------------------------------------


async def test_submitting_a_run_twice_enqueues_one_job(testbed: ArqTestbed) -> None:
    await testbed.executor.submit("run-1")
    await testbed.executor.submit("run-1")
    assert await testbed.redis.zrange(testbed.queue_name, 0, -1) == [testbed.executor.job_id("run-1").encode()]


async def test_resubmitting_leaves_a_queued_job_alone(testbed: ArqTestbed) -> None:
    await testbed.executor.submit("run-1")
    assert not await testbed.executor.resubmit("run-1")
    assert await testbed.redis.zcard(testbed.queue_name) == 1


async def test_resubmitting_a_run_whose_job_a_dead_worker_holds_replaces_that_job(testbed: ArqTestbed) -> None:
    await testbed.executor.submit("run-1")
    job_id = testbed.executor.job_id("run-1")
    await testbed.redis.set(in_progress_key_prefix + job_id, b"1")  # as a killed worker leaves it
    assert await testbed.executor.resubmit("run-1")
    assert not await testbed.executor.resubmit("run-1")  # queued now, not started: left alone
    # The orphan left the queue: one job for the run, not marked in progress.
    assert await testbed.redis.zrange(testbed.queue_name, 0, -1) == [job_id.encode()]
    assert not await testbed.redis.exists(in_progress_key_prefix + job_id)


async def test_resubmitting_a_run_without_a_job_enqueues_it(testbed: ArqTestbed) -> None:
    assert await testbed.executor.resubmit("run-1")
    assert await testbed.redis.zcard(testbed.queue_name) == 1


async def test_event_notifications_are_coalesced_into_one_job(testbed: ArqTestbed) -> None:
    await testbed.executor.notify_events()
    await testbed.executor.notify_events()
    assert await testbed.redis.zrange(testbed.queue_name, 0, -1) == [f"{testbed.queue_name}:dispatch_events".encode()]


class NightlyJob:
    @hookimpl
    def register_jobs(self) -> list[JobSpec]:
        return [JobSpec("nightly", "0 3 * * *", self.run)]

    async def run(self, scheduled_for: Any) -> None:
        return None


def test_worker_settings_follow_the_configuration(settings: Settings, plugins: pluggy.PluginManager) -> None:
    plugins.register(NightlyJob())
    configured = settings.model_copy(
        update={"redis": RedisSettings(url="redis://127.0.0.1:6379/3", queue_name="shop-a")}
    )
    options = worker_settings(configured, plugins)
    assert options["queue_name"] == "shop-a"
    assert options["keep_result"] == 0
    assert options["health_check_key"] == f"shop-a:health-check:{socket.gethostname()}:{os.getpid()}"
    assert options["redis_settings"].database == 3
    assert options["poll_delay"] == settings.workflows.worker_poll_delay_seconds
    assert options["max_jobs"] == settings.workflows.max_concurrent_runs
    assert options["job_completion_wait"] == settings.workflows.shutdown_grace_seconds
    assert [function.name for function in options["functions"]] == ["run_workflow", "dispatch_events"]
    crons = {cron.name: cron for cron in options["cron_jobs"]}
    # cron job ids are global to the Redis database: every name carries the queue. Recovery is
    # no cron job: a loop in each worker, which no queued job can hold up.
    assert set(crons) == {"shop-a:prune-runs", f"shop-a:{ARQ_CRON_PREFIX}nightly"}
    assert all(cron.unique for cron in crons.values())
    assert (crons["shop-a:prune-runs"].minute, crons["shop-a:prune-runs"].second) == (0, 0)  # hourly


async def test_enqueue_failures_are_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    """Submitting is a wake-up: with Redis unreachable the run stays in the database for recovery."""
    unreachable = ArqRedis(host="127.0.0.1", port=1)
    executor = ArqExecutor(unreachable, "nowhere")
    with caplog.at_level(logging.WARNING, logger="core.workflows.executors"):
        await executor.submit("run-1")
        await executor.notify_events()
    await unreachable.aclose()
    assert [record.getMessage().split(" (")[0] for record in caplog.records] == [
        "workflow run run-1 not enqueued",
        "event dispatch not enqueued",
    ]
