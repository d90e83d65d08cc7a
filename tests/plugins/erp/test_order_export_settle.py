"""An ERP without an atomic idempotency key (``order_create_settle_seconds``): a create whose answer
was lost is not tried again before the settle time, after a failure or after a crash."""

from __future__ import annotations

import asyncio
import pluggy
import pytest

from core.config import Settings
from core.errors import ErpUnavailable
from core.workflows import durable_run
from erpcommerce_erp import order_export
from erpcommerce_erp.order_export import SYNC_ORDER_TO_ERP, sync_order_to_erp_run_id
from tests.plugins.erp.conftest import ErpStore
from tests.plugins.erp.fake_erp import FakeErp
from tests.plugins.erp.orders_support import make_order
from tests.workflows.durable_support import RecordingExecutor, SleepRecorder, make_engine

SETTLE = 37.0


@pytest.fixture
def fake_erp() -> FakeErp:
    client = FakeErp()
    client.order_create_settle_seconds = SETTLE
    return client


@pytest.fixture
def erp_options() -> dict[str, object]:
    return {"order_sync_max_retries": 2, "order_sync_backoff_seconds": 0.001}


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits of the engine's retries and of the create step, recorded (not slept)."""
    recorder = SleepRecorder()
    monkeypatch.setattr(durable_run, "asyncio", recorder)
    monkeypatch.setattr(order_export, "asyncio", recorder)
    return recorder.delays


async def test_a_failed_create_is_retried_no_sooner_than_the_settle_time(
    settings: Settings, plugins: pluggy.PluginManager, erp_store: ErpStore, fake_erp: FakeErp, sleeps: list[float]
) -> None:
    engine = make_engine(settings, plugins)
    engine.executor = RecordingExecutor()
    fake_erp.fail("create_order", ErpUnavailable("connection reset"))
    order = await make_order(erp_store)
    run = await engine.start(SYNC_ORDER_TO_ERP, {"order_id": order.id}, run_id=sync_order_to_erp_run_id(order.id))

    assert await engine.execute(run.id) == "done"
    assert SETTLE in sleeps  # not the 0.001 s backoff
    assert len(fake_erp.live_orders()) == 1


async def test_a_create_resumed_after_a_crash_waits_the_settle_time_first(
    settings: Settings, plugins: pluggy.PluginManager, erp_store: ErpStore, fake_erp: FakeErp, sleeps: list[float]
) -> None:
    engine = make_engine(settings, plugins)
    engine.executor = RecordingExecutor()
    order = await make_order(erp_store)
    run = await engine.start(SYNC_ORDER_TO_ERP, {"order_id": order.id}, run_id=sync_order_to_erp_run_id(order.id))
    fake_erp.delay = 3600  # the create hangs: the execution dies inside it
    first = asyncio.create_task(engine.execute(run.id))
    while not fake_erp.calls["create_order"]:
        await asyncio.sleep(0.01)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first

    fake_erp.delay = 0
    assert await engine.execute(run.id) == "done"
    assert sleeps[0] == SETTLE  # waited before calling the ERP again
    assert fake_erp.calls["create_order"] == 2 and len(fake_erp.live_orders()) == 1
