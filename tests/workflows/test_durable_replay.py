"""Durable runs: checkpoints, resumption after a crash, idempotent start, determinism, idempotency keys."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pluggy
import pytest
from pydantic import BaseModel
from tortoise.exceptions import OperationalError

from core.config import Settings
from core.models import WorkflowRunRecord
from core.workflows import checkpoints, statements
from core.workflows.durable import Engine
from core.workflows.engine import StepContext, StepResponse, step, workflow
from core.workflows.registry import UnknownWorkflow
from tests.workflows.durable_support import Crash, Script, get_run, make_engine, step_rows

script = Script()
gate: dict[str, asyncio.Event] = {}


class Order(BaseModel):
    id: str
    total: Decimal


class Receipt(BaseModel):
    number: int
    amount: Decimal


@step("price-order")
async def price_order(order: Order) -> Order:
    script.enter("price-order")
    return Order(id=order.id, total=order.total * 2)


@step("issue-receipt")
async def issue_receipt(order: Order, ctx: StepContext) -> StepResponse[Receipt]:
    script.keys.append(ctx.idempotency_key)
    script.enter("issue-receipt")
    return StepResponse(Receipt(number=7, amount=order.total), compensate_input=7)


@step("notify-customer")
async def notify_customer(receipt: Receipt, ctx: StepContext) -> str:
    script.enter("notify-customer")
    if "notify" in gate:
        await gate["notify"].wait()
    return f"receipt {receipt.number} for {receipt.amount} ({type(receipt).__name__})"


@workflow("test-durable-replay", durable=True)
async def receipt_flow(order: Order) -> str:
    priced = await price_order(order)
    receipt = await issue_receipt(priced)
    return await notify_customer(receipt)


@step("first-step")
async def first_step(value: int) -> int:
    script.enter("first-step")
    return value + 1


@step("second-step")
async def second_step(value: int) -> int:
    script.enter("second-step")
    return value + 1


@step("renamed-step")
async def renamed_step(value: int) -> int:
    script.enter("renamed-step")
    return value + 1


@step("last-step")
async def last_step(value: int) -> int:
    script.enter("last-step")
    return value + 1


versions = {"changing": 1}


@workflow("test-durable-changing", durable=True)
async def changing_flow(value: int) -> int:
    value = await first_step(value)
    value = await (second_step if versions["changing"] == 1 else renamed_step)(value)
    return await last_step(value)


@pytest.fixture(autouse=True)
def fresh_script() -> Iterator[None]:
    script.reset()
    gate.clear()
    versions["changing"] = 1
    yield
    script.reset()


@pytest.fixture
def engine(settings: Settings, plugins: pluggy.PluginManager, db: None) -> Engine:
    return make_engine(settings, plugins)


ORDER = Order(id="order_1", total=Decimal("10.25"))


async def test_durable_run_checkpoints_every_step_and_stores_the_output(engine: Engine) -> None:
    run = await engine.start("test-durable-replay", ORDER, run_id="run-ok")
    assert (run.id, run.state, run.workflow_name, run.input) == (
        "run-ok", "pending", "test-durable-replay", {"id": "order_1", "total": "10.25"}
    )

    assert await engine.execute("run-ok") == "done"

    run = await get_run("run-ok")
    assert (run.state, run.output, run.attempts, run.owner, run.lease_until) == (
        "done", "receipt 7 for 20.50 (Receipt)", 1, None, None
    )
    assert run.finished_at is not None and run.error is None
    assert await step_rows("run-ok") == [
        (1, "price-order", "invoke", "done"),
        (2, "issue-receipt", "invoke", "done"),
        (3, "notify-customer", "invoke", "done"),
    ]


async def test_resumed_run_never_reinvokes_a_completed_step(engine: Engine) -> None:
    await engine.start("test-durable-replay", ORDER, run_id="run-crash")
    script.crash_at.add("notify-customer")

    with pytest.raises(Crash):
        await engine.execute("run-crash")
    run = await get_run("run-crash")
    assert (run.state, run.owner, run.lease_until) == ("invoking", None, None)  # lease released
    assert await step_rows("run-crash") == [
        (1, "price-order", "invoke", "done"),
        (2, "issue-receipt", "invoke", "done"),
        (3, "notify-customer", "invoke", "invoking"),
    ]

    assert await engine.execute("run-crash") == "done"

    assert [script.count(name) for name in ("price-order", "issue-receipt", "notify-customer")] == [1, 1, 2]
    run = await get_run("run-crash")
    # The replayed receipt came back from its checkpoint as a Receipt with an exact Decimal.
    assert (run.state, run.output, run.attempts) == ("done", "receipt 7 for 20.50 (Receipt)", 2)


async def test_cancelled_execution_releases_the_lease_and_resumes_after_the_completed_steps(
    engine: Engine, settings: Settings, plugins: pluggy.PluginManager
) -> None:
    await engine.start("test-durable-replay", ORDER, run_id="run-cancel")
    gate["notify"] = asyncio.Event()
    task = asyncio.create_task(engine.execute("run-cancel"))
    while script.count("notify-customer") == 0:
        await asyncio.sleep(0.005)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    run = await get_run("run-cancel")
    assert (run.state, run.owner, run.lease_until) == ("invoking", None, None)
    gate["notify"].set()
    other = make_engine(settings, plugins, owner="engine-b")
    assert await other.execute("run-cancel") == "done"  # at once: no lease to wait for
    assert [script.count(name) for name in ("price-order", "issue-receipt", "notify-customer")] == [1, 1, 2]


async def test_starting_a_run_with_an_existing_id_returns_that_run(engine: Engine) -> None:
    first = await engine.start("test-durable-replay", ORDER, run_id="run-dup")
    again = await engine.start("test-durable-replay", Order(id="other", total=Decimal(1)), run_id="run-dup")
    assert (again.id, again.input, again.created_at) == (first.id, first.input, first.created_at)
    assert await engine.execute("run-dup") == "done"

    finished = await engine.start("test-durable-replay", ORDER, run_id="run-dup")

    assert finished.state == "done"
    assert await engine.execute("run-dup") is None  # finished: nothing runs again
    assert script.count("price-order") == 1
    assert await WorkflowRunRecord.filter(id="run-dup").count() == 1


async def test_start_generates_a_run_id_when_none_is_given(engine: Engine) -> None:
    run = await engine.start(receipt_flow, ORDER)
    assert run.id.startswith("wfrun_")
    assert await engine.execute(run.id) == "done"


async def test_start_refuses_unknown_and_request_scoped_workflows(engine: Engine) -> None:
    @workflow("test-request-scoped")
    async def request_scoped(value: int) -> int:
        return value

    with pytest.raises(UnknownWorkflow, match="unknown durable workflow 'no-such-flow'"):
        await engine.start("no-such-flow", 1)
    with pytest.raises(ValueError, match="workflow 'test-request-scoped' is not durable"):
        await engine.start(request_scoped, 1)


async def test_run_of_a_workflow_unknown_to_this_process_fails_clearly(engine: Engine) -> None:
    await WorkflowRunRecord.create(id="run-unknown", workflow_name="not-deployed-here", input=1)

    assert await engine.execute("run-unknown") == "failed"

    run = await get_run("run-unknown")
    assert run.error == (
        "UnknownWorkflow: unknown durable workflow 'not-deployed-here' (is the module declaring it imported?)"
    )


async def test_non_deterministic_replay_fails_the_run_permanently(engine: Engine) -> None:
    await engine.start("test-durable-changing", 1, run_id="run-changed")
    script.crash_at.add("last-step")
    with pytest.raises(Crash):
        await engine.execute("run-changed")
    versions["changing"] = 2  # the code changed under the live run: step #2 is now another step

    assert await engine.execute("run-changed") == "failed"

    run = await get_run("run-changed")
    assert run.error == (
        "NonDeterministicWorkflow: non-deterministic workflow: run run-changed step #2 was recorded "
        "as 'second-step' but the workflow now calls 'renamed-step'"
    )
    assert run.error_traceback is not None and run.finished_at is not None
    assert [script.count(name) for name in ("first-step", "second-step", "renamed-step")] == [1, 1, 0]


async def test_external_steps_get_a_stable_idempotency_key_across_resumes(engine: Engine) -> None:
    await engine.start("test-durable-replay", ORDER, run_id="run-keys")
    script.crash_at.add("issue-receipt")  # after the side effect, before the checkpoint
    with pytest.raises(Crash):
        await engine.execute("run-keys")

    assert await engine.execute("run-keys") == "done"

    assert script.keys == ["run-keys:issue-receipt", "run-keys:issue-receipt"]


async def test_database_failure_while_checkpointing_interrupts_the_run_without_failing_it(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fetch = checkpoints.fetch
    failures = {"left": 1}

    async def flaky_fetch(template: str, values: list[Any]) -> list[dict[str, Any]]:
        if template is statements.STEP_DONE and failures["left"]:
            failures["left"] -= 1
            raise OperationalError("connection lost")
        return await real_fetch(template, values)

    monkeypatch.setattr(checkpoints, "fetch", flaky_fetch)
    await engine.start("test-durable-replay", ORDER, run_id="run-db-down")

    with pytest.raises(OperationalError, match="connection lost"):
        await engine.execute("run-db-down")

    run = await get_run("run-db-down")
    assert (run.state, run.owner, run.error) == ("invoking", None, None)  # interrupted, not failed
    assert await engine.execute("run-db-down") == "done"
    assert [script.count(name) for name in ("price-order", "issue-receipt", "notify-customer")] == [2, 1, 1]


@workflow("test-durable-parallel", durable=True)
async def parallel_flow(value: int) -> list[int]:
    return list(await asyncio.gather(first_step(value), second_step(value)))


async def test_durable_workflow_refuses_steps_running_at_the_same_time(engine: Engine) -> None:
    await engine.start("test-durable-parallel", 1, run_id="run-parallel")

    assert await engine.execute("run-parallel") == "reverted"

    assert (await get_run("run-parallel")).error == (
        "RuntimeError: step second-step called while another step runs: "
        "a durable workflow runs one step at a time"
    )
