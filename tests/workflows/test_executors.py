"""The embedded runner: the server executes durable runs itself when no Redis is configured.

The app's cleanup context attaches an :class:`InProcessExecutor` to its engine: submitted runs
become tasks of the server (bounded), a recovery loop finds due runs, the event dispatcher wakes
on notifications, finished runs are pruned, and stopping the app releases the running runs' leases.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pluggy
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from core.app import create_app
from core.config import Settings, WorkflowSettings
from core.events import event_run_id, notify_events_written
from core.hookspecs import hookimpl
from core.jobs import JobSpec
from core.keys import ENGINE
from core.models import Event, WorkflowRunRecord
from core.workflows.durable import Engine, get_engine
from core.workflows.executors import InProcessExecutor
from core.workflows.leases import utcnow

from . import crash_workflows
from .arq_support import wait_for, wait_for_state
from .crash_workflows import (
    CRASH_TEST_DIR_ENV,
    ExternalCalls,
    Job,
    effect_count,
    handled_events,
    release_file,
    three_steps,
    wait_for_release,
)

StartApp = Callable[..., Awaitable[tuple[web.Application, TestClient]]]


@pytest.fixture(autouse=True)
def test_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the test workflows keep their files."""
    monkeypatch.setenv(CRASH_TEST_DIR_ENV, str(tmp_path))
    return tmp_path


@pytest.fixture
def start_app(settings: Settings, plugins: pluggy.PluginManager, aiohttp_client: Any) -> StartApp:
    """Start a server app (no Redis: the embedded runner) with ``workflows`` settings overridden."""

    async def start(**workflows: Any) -> tuple[web.Application, TestClient]:
        configured = settings.model_copy(update={"workflows": WorkflowSettings(**workflows)})
        app = create_app(configured, plugins, manage_database=False)
        client = await aiohttp_client(app)
        return app, client

    return start


async def _marker(path: Path) -> bool:
    return path.exists()


async def _waiting(directory: Path) -> list[Path]:
    return sorted(directory.glob("waiting-*"))


async def test_durable_run_started_through_the_app_runs_to_done(start_app: StartApp, test_directory: Path) -> None:
    app, _ = await start_app()
    engine = app[ENGINE]
    assert isinstance(engine.executor, InProcessExecutor)
    assert get_engine() is engine

    record = await engine.start(three_steps, Job(label="a"), run_id="in-process-1")
    assert record.state == "pending"
    record = await wait_for_state("in-process-1", ("done",), timeout=10)
    assert record.output == "erp-in-process-1:call-erp"
    assert record.attempts == 1
    assert await effect_count("in-process-1", "write-order") == 1
    assert ExternalCalls(test_directory).calls()[0][:2] == ("in-process-1:call-erp", os.getpid())


async def test_the_app_is_the_process_engine_only_while_it_runs(start_app: StartApp) -> None:
    _, client = await start_app()
    engine = get_engine()
    await client.close()
    assert engine.executor is None
    with pytest.raises(RuntimeError, match="no durable workflow engine"):
        get_engine()


async def test_recovery_loop_resumes_a_run_once_its_lease_has_expired(
    start_app: StartApp, settings: Settings, plugins: pluggy.PluginManager
) -> None:
    app = create_app(settings, plugins, manage_database=False)  # not started: no executor, nothing runs
    await app[ENGINE].start(three_steps, Job(label="orphan"), run_id="orphan")
    # Held by a process that died: its lease runs out in 1.5 s.
    lease_until = utcnow() + timedelta(seconds=1.5)
    await WorkflowRunRecord.filter(id="orphan").update(
        state="invoking", owner="dead-host:1:0", lease_until=lease_until, attempts=1
    )
    await start_app(recovery_interval_seconds=0.2)

    await asyncio.sleep(1.0)
    assert (await WorkflowRunRecord.get(id="orphan")).state == "invoking"  # still leased
    record = await wait_for_state("orphan", ("done",), timeout=10)
    assert record.attempts == 2
    assert record.updated_at >= lease_until


async def test_stopping_the_app_releases_the_leases_of_running_runs(
    start_app: StartApp, test_directory: Path
) -> None:
    app, client = await start_app(lease_seconds=120)
    await app[ENGINE].start(wait_for_release, Job(label="held"), run_id="held")
    await wait_for(lambda: _marker(test_directory / f"waiting-held-{os.getpid()}"), 10, "the step to start")
    assert (await WorkflowRunRecord.get(id="held")).owner == app[ENGINE].owner

    await client.close()
    record = await WorkflowRunRecord.get(id="held")
    assert (record.state, record.owner, record.lease_until) == ("invoking", None, None)

    # Free at once (not after the 120 s lease): the next server resumes it.
    release_file(test_directory, "held").touch()
    await start_app(lease_seconds=120)
    record = await wait_for_state("held", ("done",), timeout=10)
    assert record.attempts == 2
    assert await effect_count("held", "after-release") == 1


async def test_at_most_max_concurrent_runs_execute_at_once(start_app: StartApp, test_directory: Path) -> None:
    app, _ = await start_app(max_concurrent_runs=2)
    labels = [f"slot-{number}" for number in range(5)]
    for label in labels:
        await app[ENGINE].start(wait_for_release, Job(label=label), run_id=label)

    async def two_waiting() -> bool:
        return len(await _waiting(test_directory)) == 2

    await wait_for(two_waiting, 10, "two runs in their step")
    await asyncio.sleep(0.3)
    assert len(await _waiting(test_directory)) == 2
    executor = app[ENGINE].executor
    assert isinstance(executor, InProcessExecutor)
    assert sorted(executor.running_run_ids) == labels

    for label in labels:
        release_file(test_directory, label).touch()
    for label in labels:
        await wait_for_state(label, ("done",), timeout=10)
    assert len(await _waiting(test_directory)) == 5
    assert executor.running_run_ids == []


async def test_submitting_the_same_run_twice_executes_it_once(start_app: StartApp) -> None:
    app, _ = await start_app()
    engine = app[ENGINE]
    await engine.start(three_steps, Job(label="twice"), run_id="twice")
    await engine.submit("twice")
    await engine.submit("twice")
    record = await wait_for_state("twice", ("done",), timeout=10)
    assert record.attempts == 1
    assert await effect_count("twice", "write-shipment") == 1


async def test_notified_events_are_delivered_without_waiting_for_the_interval(
    settings: Settings, plugins: pluggy.PluginManager, aiohttp_client: Any, test_directory: Path
) -> None:
    plugins.register(crash_workflows)
    configured = settings.model_copy(update={"workflows": WorkflowSettings(recovery_interval_seconds=3600)})
    app = create_app(configured, plugins, manage_database=False)
    await aiohttp_client(app)
    await asyncio.sleep(0.1)  # the dispatcher's first pass found nothing and sleeps for an hour
    event = await Event.create(name="order.placed", payload={"id": "order_1"})
    await notify_events_written(app[ENGINE])

    async def delivered() -> bool:
        return bool(handled_events(test_directory))

    await wait_for(delivered, 3, "the event to be delivered")
    assert handled_events(test_directory) == [("order.placed", "order_1", os.getpid())]
    await wait_for_state(event_run_id(event.id, crash_workflows.__name__), ("done",), timeout=5)


async def test_finished_runs_past_the_retention_are_pruned_when_the_app_starts(
    start_app: StartApp, settings: Settings, plugins: pluggy.PluginManager
) -> None:
    app = create_app(settings, plugins, manage_database=False)
    for run_id in ("old", "recent"):
        await app[ENGINE].start(three_steps, Job(label=run_id), run_id=run_id)
    await WorkflowRunRecord.filter(id="old").update(state="done", finished_at=utcnow() - timedelta(days=8))
    await WorkflowRunRecord.filter(id="recent").update(state="done", finished_at=utcnow() - timedelta(days=6))

    await start_app(retention_days=7)

    async def pruned() -> bool:
        return not await WorkflowRunRecord.exists(id="old")

    await wait_for(pruned, 5, "the old run to be pruned")
    assert await WorkflowRunRecord.exists(id="recent")


class EveryMinuteJob:
    @hookimpl
    def register_jobs(self) -> list[JobSpec]:
        return [JobSpec("every-minute", "* * * * *", self.run)]

    async def run(self, scheduled_for: Any) -> None:
        return None


async def test_scheduled_jobs_are_fired_while_the_app_runs(
    settings: Settings, plugins: pluggy.PluginManager, aiohttp_client: Any
) -> None:
    plugins.register(EveryMinuteJob())
    app = create_app(settings, plugins, manage_database=False)
    client = await aiohttp_client(app)
    executor = app[ENGINE].executor
    assert isinstance(executor, InProcessExecutor)
    assert [job.name for job in executor.scheduler.jobs] == ["every-minute"]
    assert executor.scheduler.running
    await client.close()
    assert not executor.scheduler.running


async def test_a_stopped_executor_accepts_no_run(start_app: StartApp) -> None:
    app, client = await start_app()
    executor = app[ENGINE].executor
    assert isinstance(executor, InProcessExecutor)
    await client.close()
    await executor.submit("late")
    assert executor.running_run_ids == []
    await executor.stop()  # stopping twice is harmless


@pytest.fixture
async def running_executor(
    settings: Settings, plugins: pluggy.PluginManager, db: None
) -> AsyncIterator[InProcessExecutor]:
    """An executor started on its own (without an app), stopped at the end."""
    engine = Engine(settings=settings, plugins=plugins)
    executor = InProcessExecutor(engine, dispatch_events=False)
    engine.executor = executor
    await executor.start()
    yield executor
    await executor.stop()


async def test_stop_gives_running_runs_the_grace_period_to_finish(
    running_executor: InProcessExecutor, test_directory: Path
) -> None:
    engine = running_executor.engine
    await engine.start(wait_for_release, Job(label="grace"), run_id="grace")
    await wait_for(lambda: _marker(test_directory / f"waiting-grace-{os.getpid()}"), 10, "the step to start")

    async def release_soon() -> None:
        await asyncio.sleep(0.2)
        release_file(test_directory, "grace").touch()

    releasing = asyncio.create_task(release_soon())
    await running_executor.stop(grace_seconds=10)
    await releasing
    record = await WorkflowRunRecord.get(id="grace")
    assert record.state == "done"
