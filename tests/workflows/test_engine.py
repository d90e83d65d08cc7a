"""The request-scoped workflow engine: step order, outputs, compensation semantics, retries."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import pytest

from core.errors import ErpUnavailable, NotAllowed, PermanentError
from core.workflows.engine import (
    RetryPolicy,
    StepContext,
    StepResponse,
    Workflow,
    current_workflow,
    step,
    workflow,
)


@dataclass(frozen=True)
class Value:
    n: int


class Journal:
    """Records what the steps and compensations did, in order."""

    def __init__(self) -> None:
        self.entries: list[str] = []

    def add(self, entry: str) -> None:
        self.entries.append(entry)


def make_flow(journal: Journal, *, fail_at: str | None = None, error: Exception | None = None) -> Workflow[Value, int]:
    """A three-step workflow (double, add-ten, store) whose steps can be made to fail."""
    failure = error or NotAllowed("refused")

    @step("double")
    async def double(value: Value) -> StepResponse[Value]:
        journal.add("invoke double")
        if fail_at == "double":
            raise failure
        return StepResponse(Value(value.n * 2), compensate_input=f"undo-double-{value.n}")

    @double.compensate
    async def undo_double(data: str) -> None:
        journal.add(data)

    @step("add-ten")
    async def add_ten(value: Value, ctx: StepContext) -> Value:
        journal.add(f"invoke add-ten attempt {ctx.attempt}")
        ctx.record_compensate_input("partial add-ten")
        if fail_at == "add-ten":
            raise failure
        return Value(value.n + 10)

    @add_ten.compensate
    def undo_add_ten(data: object) -> None:
        journal.add(f"undo add-ten with {data!r}")

    @step("store")
    async def store(value: Value) -> Value:
        journal.add("invoke store")
        if fail_at == "store":
            raise failure
        return value

    @workflow("demo-flow")
    async def flow(value: Value) -> int:
        doubled = await double(value)
        added = await add_ten(doubled)
        stored = await store(added)
        return stored.n

    return flow


async def test_workflow_runs_steps_in_order_and_returns_output() -> None:
    journal = Journal()
    assert await make_flow(journal).run(Value(1)) == 12
    assert journal.entries == ["invoke double", "invoke add-ten attempt 1", "invoke store"]


async def test_failure_compensates_completed_steps_in_reverse_and_reraises() -> None:
    journal = Journal()
    error = NotAllowed("refused at store")
    with pytest.raises(NotAllowed) as caught:
        await make_flow(journal, fail_at="store", error=error).run(Value(1))
    assert caught.value is error
    assert journal.entries == [
        "invoke double",
        "invoke add-ten attempt 1",
        "invoke store",
        # add-ten returned a plain value: its compensation receives that output.
        "undo add-ten with Value(n=12)",
        "undo-double-1",
    ]


async def test_failing_step_runs_its_own_compensation_with_recorded_input() -> None:
    journal = Journal()
    with pytest.raises(NotAllowed):
        await make_flow(journal, fail_at="add-ten").run(Value(1))
    assert journal.entries[-2:] == ["undo add-ten with 'partial add-ten'", "undo-double-1"]


async def test_failing_step_compensation_receives_none_when_nothing_recorded() -> None:
    received: list[object] = []

    @step("fails-at-once")
    async def fails(value: Value) -> Value:
        raise PermanentError("boom")

    @fails.compensate
    async def undo(data: object) -> None:
        received.append(data)

    @workflow("fails-at-once-flow")
    async def flow(value: Value) -> Value:
        return await fails(value)

    with pytest.raises(PermanentError):
        await flow.run(Value(1))
    assert received == [None]


async def test_hook_registered_compensation_runs_in_reverse_registration_order() -> None:
    journal = Journal()

    def hook_implementation(label: str) -> None:
        journal.add(f"hook {label}")
        current_workflow().register_compensation(journal.add, f"undo hook {label}")

    @step("first")
    async def first(value: Value) -> Value:
        hook_implementation("a")
        return value

    @first.compensate
    async def undo_first(value: Value) -> None:
        journal.add("undo first")

    @step("second")
    async def second(value: Value) -> Value:
        hook_implementation("b")
        raise NotAllowed("no")

    @workflow("hooked-flow")
    async def flow(value: Value) -> Value:
        return await second(await first(value))

    with pytest.raises(NotAllowed):
        await flow.run(Value(1))
    assert journal.entries == ["hook a", "hook b", "undo hook b", "undo first", "undo hook a"]


async def test_async_registered_compensation_is_awaited() -> None:
    journal = Journal()

    async def release(what: str) -> None:
        await asyncio.sleep(0)
        journal.add(f"released {what}")

    @step("reserve")
    async def reserve(value: Value) -> Value:
        current_workflow().register_compensation(release, "stock", name="release-stock")
        return value

    @workflow("reserve-flow")
    async def flow(value: Value) -> Value:
        await reserve(value)
        raise NotAllowed("after the steps")

    with pytest.raises(NotAllowed):
        await flow.run(Value(1))
    assert journal.entries == ["released stock"]


async def test_failed_compensation_is_logged_noted_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    journal = Journal()

    @step("fragile")
    async def fragile(value: Value) -> Value:
        return value

    @fragile.compensate
    async def undo_fragile(value: Value) -> None:
        raise RuntimeError("undo exploded")

    @step("solid")
    async def solid(value: Value) -> Value:
        current_workflow().register_compensation(journal.add, "undo before solid")
        return value

    @workflow("fragile-flow")
    async def flow(value: Value) -> Value:
        await solid(value)
        await fragile(value)
        raise NotAllowed("original")

    caplog.set_level(logging.ERROR, logger="core.workflows.engine")
    with pytest.raises(NotAllowed) as caught:
        await flow.run(Value(1))
    assert caught.value.message == "original"
    assert journal.entries == ["undo before solid"]
    assert any("compensation fragile failed" in note for note in caught.value.__notes__)
    assert any("compensation fragile failed" in r.getMessage() for r in caplog.records)


async def test_run_state_is_reverted_or_failed_after_compensation() -> None:
    runs = []

    @step("observe")
    async def observe(value: Value) -> Value:
        runs.append(current_workflow())
        return value

    @observe.compensate
    async def undo(value: Value) -> None:
        if value.n == 2:
            raise RuntimeError("cannot undo")

    @workflow("observed-flow")
    async def flow(value: Value) -> Value:
        await observe(value)
        if value.n:
            raise NotAllowed("fail")
        return value

    await flow.run(Value(0))
    for n in (1, 2):
        with pytest.raises(NotAllowed):
            await flow.run(Value(n))
    assert [run.state for run in runs] == ["done", "reverted", "failed"]
    assert [record.name for record in runs[0].steps] == ["observe"]
    assert runs[0].steps[0].output == Value(0)
    assert [run.steps[0].state for run in runs] == ["done", "reverted", "compensation_failed"]


async def test_step_outside_a_workflow_is_an_error() -> None:
    @step("lonely")
    async def lonely(value: Value) -> Value:
        return value

    with pytest.raises(RuntimeError, match="outside a running workflow"):
        await lonely(Value(1))
    with pytest.raises(RuntimeError, match="no workflow is running"):
        current_workflow()


async def test_retryable_error_is_retried_per_policy_with_stable_idempotency_key() -> None:
    keys: list[str] = []

    @step("flaky", retry=RetryPolicy(max_retries=2, backoff_seconds=0.001))
    async def flaky(value: Value, ctx: StepContext) -> int:
        keys.append(ctx.idempotency_key)
        if ctx.attempt < 3:
            raise ErpUnavailable("try again")
        return ctx.attempt

    @workflow("flaky-flow")
    async def flow(value: Value) -> int:
        return await flaky(value)

    assert await flow.run(Value(1), run_id="run-42") == 3
    assert keys == ["run-42:flaky"] * 3


async def test_retries_exhausted_and_permanent_errors_are_not_retried() -> None:
    attempts: list[str] = []

    @step("always-down", max_retries=1)
    async def always_down(value: Value) -> None:
        attempts.append("down")
        raise ErpUnavailable("down")

    @step("permanent", max_retries=5)
    async def permanent(value: Value) -> None:
        attempts.append("permanent")
        raise PermanentError("never")

    @workflow("down-flow")
    async def down(value: Value) -> None:
        await always_down(value)

    @workflow("permanent-flow")
    async def never(value: Value) -> None:
        await permanent(value)

    with pytest.raises(ErpUnavailable):
        await down.run(Value(1))
    with pytest.raises(PermanentError):
        await never.run(Value(1))
    assert attempts == ["down", "down", "permanent"]


async def test_step_timeout_fails_the_step() -> None:
    @step("slow", timeout=0.01)
    async def slow(value: Value) -> None:
        await asyncio.sleep(1)

    @workflow("slow-flow")
    async def flow(value: Value) -> None:
        await slow(value)

    with pytest.raises(TimeoutError):
        await flow.run(Value(1))


async def test_generated_run_id_and_workflow_name_are_visible_to_steps() -> None:
    seen: list[tuple[str, str]] = []

    @step("look")
    async def look(value: Value, ctx: StepContext) -> None:
        seen.append((ctx.run.workflow_name, ctx.idempotency_key))

    @workflow("looking-flow")
    async def flow(value: Value) -> None:
        await look(value)

    await flow.run(Value(1))
    name, key = seen[0]
    assert name == "looking-flow"
    assert key.startswith("wfrun_") and key.endswith(":look")
