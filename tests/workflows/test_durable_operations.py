"""Operating durable runs: submission to the executor, retry, cancel, due runs, wake-up time, pruning."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pluggy
import pytest
from tortoise.transactions import in_transaction

from core.config import Settings
from core.errors import NotAllowed, NotFound
from core.models import WorkflowRunRecord, WorkflowStepRecord
from core.workflows.durable import FINISHED_STATES, RUNNABLE_STATES, Engine, get_engine, set_engine
from core.workflows.engine import step, workflow
from core.workflows.leases import utcnow
from tests.workflows.durable_support import RecordingExecutor, Script, get_run, make_engine, step_rows

script = Script()


@step("export-order")
async def export_order(order_id: str) -> str:
    script.enter("export-order")
    return f"exported {order_id}"


@workflow("test-durable-operations", durable=True)
async def export_flow(order_id: str) -> str:
    return await export_order(order_id)


@pytest.fixture(autouse=True)
def fresh_script() -> Iterator[None]:
    script.reset()
    yield
    script.reset()


@pytest.fixture
def executor() -> RecordingExecutor:
    return RecordingExecutor()


@pytest.fixture
def engine(settings: Settings, plugins: pluggy.PluginManager, db: None, executor: RecordingExecutor) -> Engine:
    engine = make_engine(settings, plugins)
    engine.executor = executor
    return engine


async def test_states_are_partitioned_into_runnable_and_finished() -> None:
    assert RUNNABLE_STATES == ("pending", "invoking", "compensating")
    assert FINISHED_STATES == ("done", "reverted", "failed", "canceled")


async def test_new_runs_are_submitted_once_after_their_row_is_committed(
    engine: Engine, executor: RecordingExecutor
) -> None:
    await engine.start("test-durable-operations", "o1", run_id="run-a")
    await engine.start("test-durable-operations", "o1", run_id="run-a")
    async with in_transaction():
        await engine.start("test-durable-operations", "o2", run_id="run-b")  # not visible yet: not submitted

    assert executor.submitted == ["run-a"]
    assert await engine.due_run_ids() == ["run-a", "run-b"]  # the recovery loop finds run-b


async def test_retry_runs_a_failed_run_again_from_scratch(engine: Engine, executor: RecordingExecutor) -> None:
    script.fail_at["export-order"] = NotAllowed("ERP refused")
    await engine.start("test-durable-operations", "o1", run_id="run-retry")
    assert await engine.execute("run-retry") == "reverted"
    script.fail_at.clear()

    run = await engine.retry("run-retry")

    assert (run.state, run.error, run.error_traceback, run.finished_at, run.output) == (
        "pending", None, None, None, None
    )
    assert await step_rows("run-retry") == []
    assert executor.submitted == ["run-retry", "run-retry"]
    assert await engine.execute("run-retry") == "done"
    run = await get_run("run-retry")
    assert (run.output, run.attempts) == ("exported o1", 2)
    assert script.count("export-order") == 2


async def test_retry_refuses_runs_that_did_not_fail(engine: Engine) -> None:
    await engine.start("test-durable-operations", "o1", run_id="run-fine")
    with pytest.raises(NotAllowed, match="Workflow run run-fine is pending: only failed, reverted or canceled"):
        await engine.retry("run-fine")
    await engine.execute("run-fine")
    with pytest.raises(NotAllowed, match="is done"):
        await engine.retry("run-fine")
    with pytest.raises(NotFound, match="Workflow run with id: nope was not found"):
        await engine.retry("nope")


async def test_cancel_stops_a_pending_run_from_ever_running(engine: Engine) -> None:
    await engine.start("test-durable-operations", "o1", run_id="run-cancel")

    run = await engine.cancel("run-cancel")

    assert run.state == "canceled" and run.finished_at is not None
    assert await engine.execute("run-cancel") is None
    assert script.journal == []
    assert (await engine.retry("run-cancel")).state == "pending"  # a canceled run can be retried


async def test_cancel_refuses_running_finished_and_unknown_runs(engine: Engine) -> None:
    await engine.start("test-durable-operations", "o1", run_id="run-leased")
    await WorkflowRunRecord.filter(id="run-leased").update(owner="x", lease_until=utcnow() + timedelta(minutes=1))
    with pytest.raises(NotAllowed, match="Workflow run run-leased is pending: only pending runs can be canceled"):
        await engine.cancel("run-leased")
    await engine.start("test-durable-operations", "o1", run_id="run-done")
    await engine.execute("run-done")
    with pytest.raises(NotAllowed, match="is done"):
        await engine.cancel("run-done")
    with pytest.raises(NotFound):
        await engine.cancel("nope")


async def test_due_run_ids_lists_runnable_free_due_runs_oldest_first(engine: Engine) -> None:
    now = utcnow()
    for run_id in ("due-1", "due-2", "leased", "expired", "later", "done"):
        await engine.start("test-durable-operations", run_id, run_id=run_id)
    await WorkflowRunRecord.filter(id="leased").update(owner="x", lease_until=now + timedelta(minutes=1))
    await WorkflowRunRecord.filter(id="expired").update(
        state="invoking", owner="x", lease_until=now - timedelta(seconds=1)
    )
    await WorkflowRunRecord.filter(id="later").update(wake_at=now + timedelta(minutes=1))
    await WorkflowRunRecord.filter(id="done").update(state="done")

    assert await engine.due_run_ids() == ["due-1", "due-2", "expired"]
    assert await engine.due_run_ids(limit=2) == ["due-1", "due-2"]


async def test_run_is_not_executed_before_its_wake_up_time(engine: Engine) -> None:
    await engine.start("test-durable-operations", "o1", run_id="run-later", wake_at=utcnow() + timedelta(minutes=5))

    assert await engine.execute("run-later") is None

    await WorkflowRunRecord.filter(id="run-later").update(wake_at=utcnow() - timedelta(seconds=1))
    assert await engine.execute("run-later") == "done"


async def test_prune_deletes_finished_runs_older_than_the_retention(engine: Engine) -> None:
    for run_id in ("old-done", "old-failed", "recent-done", "old-running"):
        await engine.start("test-durable-operations", run_id, run_id=run_id)
        await engine.execute(run_id)
    long_ago = utcnow() - timedelta(days=8)  # retention: 7 days
    await WorkflowRunRecord.filter(id__in=["old-done", "old-failed"]).update(finished_at=long_ago)
    await WorkflowRunRecord.filter(id="old-failed").update(state="failed")
    await WorkflowRunRecord.filter(id="old-running").update(state="invoking", finished_at=None, created_at=long_ago)

    assert await engine.prune(batch_size=1) == 2

    assert sorted(await WorkflowRunRecord.all().values_list("id", flat=True)) == ["old-running", "recent-done"]
    assert await WorkflowStepRecord.filter(run_id__in=["old-done", "old-failed"]).count() == 0
    assert await engine.prune() == 0


async def test_prune_keeps_every_run_when_retention_is_zero(engine: Engine) -> None:
    await engine.start("test-durable-operations", "ancient", run_id="ancient")
    await engine.execute("ancient")
    await WorkflowRunRecord.filter(id="ancient").update(finished_at=utcnow() - timedelta(days=365))
    engine.settings = engine.settings.model_copy(
        update={"workflows": engine.settings.workflows.model_copy(update={"retention_days": 0})}
    )

    assert await engine.prune() == 0
    assert await WorkflowRunRecord.filter(id="ancient").exists()


async def test_get_engine_returns_the_engine_set_for_the_process(engine: Engine) -> None:
    set_engine(None)
    with pytest.raises(RuntimeError, match="no durable workflow engine is running in this process"):
        get_engine()
    set_engine(engine)
    try:
        assert get_engine() is engine
    finally:
        set_engine(None)
