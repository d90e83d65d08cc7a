"""A retryable error may ask for a minimum wait (``retry_after``); a step started by an execution
that died knows it (``ctx.resumed``): what an order create without an atomic idempotency key needs."""

from __future__ import annotations

import asyncio
from typing import Any

import pluggy
import pytest

from core.config import Settings
from core.errors import ErpUnavailable
from core.workflows import durable_run
from core.workflows.engine import RetryPolicy, StepContext, step, workflow
from tests.workflows.durable_support import SleepRecorder, make_engine

seen: dict[str, Any] = {"resumed": [], "fail_with": None, "block": None}


@step("remote-call", retry=RetryPolicy(max_retries=3, backoff_seconds=0.001))
async def remote_call(value: int, ctx: StepContext) -> int:
    seen["resumed"].append(ctx.resumed)
    if seen["block"] is not None:
        await seen["block"].wait()
    if seen["fail_with"] is not None:
        error, seen["fail_with"] = seen["fail_with"], None
        raise error
    return value * 2


@workflow("test-resume-retry-after", durable=True)
async def resume_flow(value: int) -> int:
    return await remote_call(value)


@pytest.fixture(autouse=True)
def _reset() -> None:
    seen.update(resumed=[], fail_with=None, block=None)


async def test_the_engine_waits_at_least_retry_after(
    settings: Settings, plugins: pluggy.PluginManager, db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = SleepRecorder()
    monkeypatch.setattr(durable_run, "asyncio", recorder)
    engine = make_engine(settings, plugins)
    seen["fail_with"] = ErpUnavailable("answer lost", retry_after=42.0)
    await engine.start(resume_flow, 2, run_id="retry-after")
    assert await engine.execute("retry-after") == "done"
    assert 42.0 in recorder.delays  # not the 0.001 s backoff
    assert seen["resumed"] == [False, False]  # a retry in the same execution is no resume


async def test_a_step_started_by_a_dead_execution_is_resumed(
    settings: Settings, plugins: pluggy.PluginManager, db: None
) -> None:
    engine = make_engine(settings, plugins)
    seen["block"] = asyncio.Event()
    await engine.start(resume_flow, 3, run_id="resumed")
    first = asyncio.create_task(engine.execute("resumed"))
    while not seen["resumed"]:
        await asyncio.sleep(0.01)
    first.cancel()  # the execution dies inside the step, before recording its end
    with pytest.raises(asyncio.CancelledError):
        await first

    seen["block"] = None
    assert await engine.execute("resumed") == "done"
    assert seen["resumed"] == [False, True]
