"""Transactional steps: their database writes and their checkpoint commit together (exactly once)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pluggy
import pytest
from pydantic import BaseModel
from tortoise.expressions import F

from core.config import Settings
from core.errors import ErpUnavailable, NotAllowed
from core.models import Counter
from core.workflows.checkpoints import Checkpoints
from core.workflows.durable import Engine
from core.workflows.engine import RetryPolicy, step, workflow
from tests.workflows.durable_support import Crash, Script, get_run, make_engine, step_rows

script = Script()


class Payment(BaseModel):
    id: str
    amount: int


@step("record-payment", transactional=True, retry=RetryPolicy(max_retries=2, backoff_seconds=0.001))
async def record_payment(payment: Payment) -> int:
    await Counter.create(name=f"paid:{payment.id}", value=payment.amount)  # a second insert would fail
    await Counter.filter(name="payments").update(value=F("value") + 1)
    script.enter("record-payment")  # after the writes: a failure here must roll them back
    return payment.amount


@step("confirm-payment")
async def confirm_payment(amount: int) -> str:
    script.enter("confirm-payment")
    return f"confirmed {amount}"


@workflow("test-durable-transactional", durable=True)
async def payment_flow(payment: Payment) -> str:
    amount = await record_payment(payment)
    return await confirm_payment(amount)


@workflow("test-request-scoped-transactional")
async def request_scoped_payment(payment: Payment) -> int:
    return await record_payment(payment)


@pytest.fixture(autouse=True)
def fresh_script() -> Iterator[None]:
    script.reset()
    yield
    script.reset()


@pytest.fixture
async def engine(settings: Settings, plugins: pluggy.PluginManager, db: None) -> Engine:
    await Counter.create(name="payments", value=0)
    return make_engine(settings, plugins)


async def payments() -> tuple[int, list[str]]:
    total = (await Counter.get(name="payments")).value
    paid = await Counter.filter(name__startswith="paid:").values_list("name", flat=True)
    return total, sorted(str(name) for name in paid)


async def test_transactional_step_writes_and_checkpoint_commit_exactly_once_across_a_crash(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_step_done = Checkpoints.step_done

    async def write_then_die(self: Checkpoints, *args: Any) -> None:
        await real_step_done(self, *args)
        raise Crash("died before the commit")

    monkeypatch.setattr(Checkpoints, "step_done", write_then_die)
    await engine.start("test-durable-transactional", Payment(id="p1", amount=5), run_id="run-tx")
    with pytest.raises(Crash):
        await engine.execute("run-tx")

    # Rolled back together: neither the step's writes nor its checkpoint exist.
    assert await payments() == (0, [])
    assert await step_rows("run-tx") == [(1, "record-payment", "invoke", "invoking")]

    monkeypatch.setattr(Checkpoints, "step_done", real_step_done)
    assert await engine.execute("run-tx") == "done"

    assert await payments() == (1, ["paid:p1"])
    assert script.count("record-payment") == 2  # invoked twice, committed once
    assert (await get_run("run-tx")).output == "confirmed 5"
    assert await step_rows("run-tx") == [
        (1, "record-payment", "invoke", "done"),
        (2, "confirm-payment", "invoke", "done"),
    ]


async def test_crash_after_a_transactional_step_commits_does_not_run_it_again(engine: Engine) -> None:
    await engine.start("test-durable-transactional", Payment(id="p2", amount=3), run_id="run-tx-2")
    script.crash_at.add("confirm-payment")
    with pytest.raises(Crash):
        await engine.execute("run-tx-2")

    assert await engine.execute("run-tx-2") == "done"

    assert await payments() == (1, ["paid:p2"])
    assert (script.count("record-payment"), script.count("confirm-payment")) == (1, 2)


async def test_retried_transactional_step_rolls_back_each_failed_attempt(engine: Engine) -> None:
    script.fail_at["record-payment"] = ErpUnavailable("flaky")
    script.times["record-payment"] = 2
    await engine.start("test-durable-transactional", Payment(id="p3", amount=1), run_id="run-tx-3")

    assert await engine.execute("run-tx-3") == "done"

    assert await payments() == (1, ["paid:p3"])
    assert script.count("record-payment") == 3
    step = (await step_rows("run-tx-3"))[0]
    assert step == (1, "record-payment", "invoke", "done")


async def test_failed_transactional_step_leaves_no_writes(engine: Engine) -> None:
    script.fail_at["record-payment"] = NotAllowed("card refused")
    await engine.start("test-durable-transactional", Payment(id="p4", amount=1), run_id="run-tx-4")

    assert await engine.execute("run-tx-4") == "reverted"

    assert await payments() == (0, [])
    run = await get_run("run-tx-4")
    assert run.error == "NotAllowed: card refused"


async def test_request_scoped_transactional_step_rolls_back_on_failure(engine: Engine) -> None:
    script.fail_at["record-payment"] = NotAllowed("card refused")

    with pytest.raises(NotAllowed):
        await request_scoped_payment.run(Payment(id="p5", amount=1))

    assert await payments() == (0, [])
    script.fail_at.clear()
    assert await request_scoped_payment.run(Payment(id="p5", amount=1)) == 1
    assert await payments() == (1, ["paid:p5"])
