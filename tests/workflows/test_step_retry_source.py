"""A step's retry policy given by a function of its context (a policy read from settings)."""

from __future__ import annotations

import pluggy
import pytest

from core.config import Settings
from core.errors import ErpUnavailable
from core.models import WorkflowStepRecord
from core.workflows.engine import RetryPolicy, StepContext, step, workflow
from tests.workflows.durable_support import get_run, make_engine

# What the "settings" say, and what the policy function saw.
configured = {"max_retries": 2}
asked: list[tuple[str, str, int]] = []
failures_left = {"count": 0}


def configured_retry(ctx: StepContext) -> RetryPolicy:
    asked.append((ctx.run.run_id, ctx.step_name, ctx.attempt))
    return RetryPolicy(max_retries=configured["max_retries"], backoff_seconds=0.001)


@step("flaky-call", retry=configured_retry)
async def flaky_call(value: int) -> int:
    if failures_left["count"] > 0:
        failures_left["count"] -= 1
        raise ErpUnavailable("flaky")
    return value + 1


@workflow("test-retry-source", durable=True)
async def retry_source_flow(value: int) -> int:
    return await flaky_call(value)


def reset(max_retries: int, failures: int) -> None:
    configured["max_retries"] = max_retries
    failures_left["count"] = failures
    asked.clear()


async def test_a_request_scoped_run_asks_the_policy_function_on_each_failure() -> None:
    reset(max_retries=2, failures=2)
    assert await retry_source_flow.run(1, run_id="scoped") == 2
    assert asked == [("scoped", "flaky-call", 1), ("scoped", "flaky-call", 2)]

    reset(max_retries=1, failures=5)
    with pytest.raises(ErpUnavailable):
        await retry_source_flow.run(1, run_id="scoped-2")
    assert len(asked) == 2


async def test_a_durable_run_reads_the_policy_when_an_attempt_fails(
    settings: Settings, plugins: pluggy.PluginManager, db: None
) -> None:
    engine = make_engine(settings, plugins)
    reset(max_retries=3, failures=3)
    await engine.start(retry_source_flow, 1, run_id="durable-source")
    assert await engine.execute("durable-source") == "done"
    assert [attempt for _, _, attempt in asked] == [1, 2, 3]
    row = await WorkflowStepRecord.get(run_id="durable-source", seq=1)
    assert (row.state, row.attempts) == ("done", 4)

    reset(max_retries=0, failures=1)  # the setting changed: no retry any more
    await engine.start(retry_source_flow, 1, run_id="durable-source-2")
    assert await engine.execute("durable-source-2") == "reverted"
    assert "flaky" in ((await get_run("durable-source-2")).error or "")
