"""Durable step retries: exponential backoff, timeouts, retryable versus permanent errors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pluggy
import pytest

from core.config import Settings
from core.errors import ErpUnavailable, PermanentError
from core.models import WorkflowStepRecord
from core.workflows.durable import Engine
from core.workflows.engine import RetryPolicy, StepContext, step, workflow
from tests.workflows.durable_support import Script, get_run, make_engine, step_rows

script = Script()
attempt_times: list[float] = []
slow_attempts: set[int] = set()


@step("call-erp", retry=RetryPolicy(max_retries=3, backoff_seconds=0.02, backoff_factor=2.0))
async def call_erp(value: int, ctx: StepContext) -> int:
    attempt_times.append(time.monotonic())
    script.keys.append(f"{ctx.attempt} {ctx.idempotency_key}")
    script.enter("call-erp")
    return value * 10


@step("slow-erp", timeout=0.05, retry=RetryPolicy(max_retries=1, backoff_seconds=0.001))
async def slow_erp(value: int, ctx: StepContext) -> int:
    script.enter("slow-erp")
    if ctx.attempt in slow_attempts:
        await asyncio.sleep(1)
    return value + 1


@workflow("test-durable-retries", durable=True)
async def retry_flow(value: int) -> int:
    return await call_erp(value)


@workflow("test-durable-timeouts", durable=True)
async def timeout_flow(value: int) -> int:
    return await slow_erp(value)


@pytest.fixture(autouse=True)
def fresh_script() -> Iterator[None]:
    script.reset()
    attempt_times.clear()
    slow_attempts.clear()
    yield
    script.reset()


@pytest.fixture
def engine(settings: Settings, plugins: pluggy.PluginManager, db: None) -> Engine:
    return make_engine(settings, plugins)


async def test_retryable_errors_are_retried_with_exponential_backoff(engine: Engine) -> None:
    script.fail_at["call-erp"] = ErpUnavailable("ERP down")
    script.times["call-erp"] = 2
    await engine.start("test-durable-retries", 4, run_id="run-retry")

    assert await engine.execute("run-retry") == "done"

    assert (await get_run("run-retry")).output == 40
    gaps = [later - earlier for earlier, later in zip(attempt_times, attempt_times[1:], strict=False)]
    assert len(gaps) == 2 and gaps[0] >= 0.02 and gaps[1] >= 0.04  # 0.02 then 0.02 * 2
    assert script.keys == ["1 run-retry:call-erp", "2 run-retry:call-erp", "3 run-retry:call-erp"]
    row = await WorkflowStepRecord.get(run_id="run-retry", seq=1)
    assert (row.state, row.attempts, row.error) == ("done", 3, None)


async def test_step_fails_when_its_retries_are_exhausted(engine: Engine) -> None:
    script.fail_at["call-erp"] = ErpUnavailable("ERP down")
    await engine.start("test-durable-retries", 4, run_id="run-exhausted")

    assert await engine.execute("run-exhausted") == "reverted"

    assert script.count("call-erp") == 4  # the first attempt and 3 retries
    row = await WorkflowStepRecord.get(run_id="run-exhausted", seq=1)
    assert (row.state, row.attempts, row.error) == ("failed", 4, "ErpUnavailable: ERP down")
    assert row.error_traceback is not None and "ErpUnavailable: ERP down" in row.error_traceback
    run = await get_run("run-exhausted")
    assert (run.error, run.output) == ("ErpUnavailable: ERP down", None)
    assert run.error_traceback is not None and "call_erp" in run.error_traceback


@pytest.mark.parametrize("error", [PermanentError("order rejected"), ValueError("bad data")])
async def test_permanent_errors_are_not_retried(engine: Engine, error: Exception) -> None:
    script.fail_at["call-erp"] = error
    await engine.start("test-durable-retries", 4, run_id="run-permanent")

    assert await engine.execute("run-permanent") == "reverted"

    assert script.count("call-erp") == 1
    assert (await get_run("run-permanent")).error == f"{type(error).__name__}: {error}"


async def test_timed_out_attempt_is_retried(engine: Engine) -> None:
    slow_attempts.add(1)
    await engine.start("test-durable-timeouts", 1, run_id="run-timeout")

    assert await engine.execute("run-timeout") == "done"

    assert script.count("slow-erp") == 2
    assert (await get_run("run-timeout")).output == 2


async def test_step_fails_when_every_attempt_times_out(engine: Engine) -> None:
    slow_attempts.update({1, 2})
    await engine.start("test-durable-timeouts", 1, run_id="run-timeouts")

    assert await engine.execute("run-timeouts") == "reverted"

    assert await step_rows("run-timeouts") == [(1, "slow-erp", "invoke", "failed")]
    assert (await get_run("run-timeouts")).error == "TimeoutError: step slow-erp timed out after 0.05s"
