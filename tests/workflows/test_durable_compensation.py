"""Durable compensation: reverse order, the failing step's own, retries, resumption, hook compensations."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pluggy
import pytest

from core.config import Settings
from core.errors import NotAllowed
from core.hookspecs import hookimpl
from core.models import WorkflowStepRecord
from core.plugins import call_all
from core.workflows.durable import Engine
from core.workflows.engine import StepContext, StepResponse, current_workflow, step, workflow
from tests.workflows.durable_support import Crash, Script, get_run, make_engine, step_rows

script = Script()
HERE = __name__


def undo(name: str) -> Any:
    async def compensate(data: Any) -> None:
        script.enter(f"undo {name} {data}")

    return compensate


@step("reserve-stock")
async def reserve_stock(order_id: str) -> StepResponse[str]:
    script.enter("reserve-stock")
    return StepResponse(order_id, compensate_input={"reservation": f"res-{order_id}"})


reserve_stock.compensate(undo("reserve-stock"))


@step("announce-order")
async def announce_order(order_id: str, ctx: StepContext) -> str:
    script.enter("announce-order")
    await call_all(ctx.run.hooks.handle_event, name="order.test", payload={"id": order_id})
    return order_id


@step("create-invoice")
async def create_invoice(order_id: str) -> int:
    script.enter("create-invoice")
    return 42


create_invoice.compensate(undo("create-invoice"))


@step("charge-card")
async def charge_card(invoice: int, ctx: StepContext) -> str:
    ctx.record_compensate_input(f"auth-{invoice}")  # partial progress, for its own compensation
    script.enter("charge-card")
    return "charged"


charge_card.compensate(undo("charge-card"))


@workflow("test-durable-compensation", durable=True)
async def order_flow(order_id: str) -> str:
    await reserve_stock(order_id)
    await announce_order(order_id)
    invoice = await create_invoice(order_id)
    return await charge_card(invoice)


@workflow("test-durable-body-compensation", durable=True)
async def body_compensation_flow(order_id: str) -> str:
    await reserve_stock(order_id)
    current_workflow().register_compensation(release_reservation, order_id, 1)  # in the body itself
    invoice = await create_invoice(order_id)
    return await charge_card(invoice)


def release_reservation(order_id: str, quantity: int) -> None:
    """A hook's compensation: module-level, JSON arguments."""
    script.enter(f"release {order_id} x{quantity}")


class ReservingPlugin:
    """A plugin whose handle_event reserves something and registers its undo."""

    @hookimpl
    async def handle_event(self, name: str, payload: dict[str, Any]) -> None:
        script.enter("hook reserve")
        current_workflow().register_compensation(release_reservation, payload["id"], 2)


class ClosurePlugin:
    """A plugin registering a closure: not resumable, so refused in a durable workflow."""

    @hookimpl
    async def handle_event(self, name: str, payload: dict[str, Any]) -> None:
        current_workflow().register_compensation(lambda: None)


@pytest.fixture(autouse=True)
def fresh_script() -> Iterator[None]:
    script.reset()
    yield
    script.reset()


@pytest.fixture
def engine(settings: Settings, plugins: pluggy.PluginManager, db: None) -> Engine:
    return make_engine(settings, plugins)


async def test_failure_compensates_completed_steps_in_reverse_then_ends_reverted(engine: Engine) -> None:
    script.fail_at["charge-card"] = NotAllowed("card refused")
    await engine.start("test-durable-compensation", "o1", run_id="run-undo")

    assert await engine.execute("run-undo") == "reverted"

    assert script.journal[-3:] == [
        "undo charge-card auth-42",  # the failing step's own, with its recorded partial input
        "undo create-invoice 42",
        "undo reserve-stock {'reservation': 'res-o1'}",
    ]
    assert await step_rows("run-undo") == [
        (1, "reserve-stock", "invoke", "reverted"),
        (2, "announce-order", "invoke", "done"),  # nothing to undo
        (3, "create-invoice", "invoke", "reverted"),
        (4, "charge-card", "invoke", "reverted"),
        (5, "charge-card", "compensate", "reverted"),
        (6, "create-invoice", "compensate", "reverted"),
        (7, "reserve-stock", "compensate", "reverted"),
    ]
    compensates = await WorkflowStepRecord.filter(run_id="run-undo", kind="compensate").order_by("seq")
    assert [row.compensates_seq for row in compensates] == [4, 3, 1]
    run = await get_run("run-undo")
    assert (run.state, run.error, run.finished_at is not None) == ("reverted", "NotAllowed: card refused", True)


async def test_compensations_are_retried(engine: Engine) -> None:
    script.fail_at["charge-card"] = NotAllowed("card refused")
    script.fail_at["undo create-invoice 42"] = RuntimeError("invoice service busy")
    script.times["undo create-invoice 42"] = 2
    await engine.start("test-durable-compensation", "o1", run_id="run-undo-retry")

    assert await engine.execute("run-undo-retry") == "reverted"

    assert script.count("undo create-invoice 42") == 3
    row = await WorkflowStepRecord.get(run_id="run-undo-retry", kind="compensate", name="create-invoice")
    assert (row.state, row.attempts, row.error) == ("reverted", 3, None)


async def test_failed_compensation_ends_the_run_failed_after_the_others_ran(engine: Engine) -> None:
    script.fail_at["charge-card"] = NotAllowed("card refused")
    script.fail_at["undo create-invoice 42"] = RuntimeError("invoice service gone")
    await engine.start("test-durable-compensation", "o1", run_id="run-undo-fails")

    assert await engine.execute("run-undo-fails") == "failed"

    assert script.count("undo create-invoice 42") == 3  # the first attempt and 2 retries
    assert script.count("undo reserve-stock {'reservation': 'res-o1'}") == 1  # the others still run
    run = await get_run("run-undo-fails")
    assert run.error == (
        "NotAllowed: card refused\n"
        "compensation create-invoice failed: RuntimeError: invoice service gone"
    )
    row = await WorkflowStepRecord.get(run_id="run-undo-fails", kind="compensate", name="create-invoice")
    assert (row.state, row.error) == ("compensation_failed", "RuntimeError: invoice service gone")
    assert row.error_traceback is not None
    invoked = await WorkflowStepRecord.get(run_id="run-undo-fails", kind="invoke", name="create-invoice")
    assert invoked.state == "compensation_failed"


async def test_run_interrupted_while_compensating_resumes_with_the_remaining_compensations(
    engine: Engine,
) -> None:
    script.fail_at["charge-card"] = NotAllowed("card refused")
    script.crash_at.add("undo create-invoice 42")
    await engine.start("test-durable-compensation", "o1", run_id="run-undo-crash")
    with pytest.raises(Crash):
        await engine.execute("run-undo-crash")
    assert (await get_run("run-undo-crash")).state == "compensating"

    assert await engine.execute("run-undo-crash") == "reverted"

    assert script.count("undo charge-card auth-42") == 1  # recorded before the crash: not again
    assert script.count("undo create-invoice 42") == 2
    assert script.count("undo reserve-stock {'reservation': 'res-o1'}") == 1
    assert [script.count(name) for name in ("reserve-stock", "create-invoice", "charge-card")] == [1, 1, 1]
    assert (await get_run("run-undo-crash")).error == "NotAllowed: card refused"


async def test_hook_implementations_register_compensations_that_run_on_failure(
    engine: Engine, plugins: pluggy.PluginManager
) -> None:
    plugins.register(ReservingPlugin(), name="reserving")
    script.fail_at["charge-card"] = NotAllowed("card refused")
    await engine.start("test-durable-compensation", "o1", run_id="run-hook")

    assert await engine.execute("run-hook") == "reverted"

    assert script.journal[-4:] == [
        "undo charge-card auth-42",
        "undo create-invoice 42",
        "release o1 x2",
        "undo reserve-stock {'reservation': 'res-o1'}",
    ]
    announce = await WorkflowStepRecord.get(run_id="run-hook", seq=2)
    assert announce.compensations == [{"fn": f"{HERE}:release_reservation", "args": ["o1", 2]}]
    assert announce.state == "reverted"
    assert (await WorkflowStepRecord.get(run_id="run-hook", seq=7)).name == f"{HERE}:release_reservation"


async def test_hook_compensations_run_after_a_resume_from_their_stored_form(
    engine: Engine, plugins: pluggy.PluginManager
) -> None:
    plugins.register(ReservingPlugin(), name="reserving")
    script.crash_at.add("charge-card")
    await engine.start("test-durable-compensation", "o1", run_id="run-hook-resume")
    with pytest.raises(Crash):
        await engine.execute("run-hook-resume")
    script.fail_at["charge-card"] = NotAllowed("card refused")

    assert await engine.execute("run-hook-resume") == "reverted"

    assert script.count("hook reserve") == 1  # the hook ran once, its compensation came from the row
    assert script.count("release o1 x2") == 1


async def test_hooks_cannot_register_closures_as_durable_compensations(
    engine: Engine, plugins: pluggy.PluginManager
) -> None:
    plugins.register(ClosurePlugin(), name="closure")
    await engine.start("test-durable-compensation", "o1", run_id="run-closure")

    assert await engine.execute("run-closure") == "reverted"

    error = (await get_run("run-closure")).error
    assert error is not None and error.startswith(
        "TypeError: durable workflows can only register module-level functions as compensations"
    )
    assert script.journal[-1] == "undo reserve-stock {'reservation': 'res-o1'}"


async def test_body_registered_compensations_run_in_order_also_after_a_resume(engine: Engine) -> None:
    script.crash_at.add("charge-card")
    await engine.start("test-durable-body-compensation", "o2", run_id="run-body")
    with pytest.raises(Crash):
        await engine.execute("run-body")
    script.fail_at["charge-card"] = NotAllowed("card refused")

    assert await engine.execute("run-body") == "reverted"

    assert script.journal[-4:] == [
        "undo charge-card auth-42",
        "undo create-invoice 42",
        "release o2 x1",
        "undo reserve-stock {'reservation': 'res-o2'}",
    ]
