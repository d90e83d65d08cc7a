"""Order -> ERP with a short ERP timeout: a hanging ERP is retried, then the run fails and can be retried."""

from __future__ import annotations

import pytest

from core.events import dispatch_pending_events
from core.models import Event, Order
from erpcommerce_erp.order_export import sync_order_to_erp_run_id
from tests.plugins.erp.conftest import ErpStore
from tests.plugins.erp.fake_erp import FakeErp
from tests.plugins.erp.orders_support import DrivenEngine, make_order, run_of
from tests.plugins.erp.orders_support import driven_engine  # noqa: F401 - a fixture


@pytest.fixture
def erp_options() -> dict[str, object]:
    return {"sync_timeout_seconds": 0.2, "order_sync_max_retries": 1, "order_sync_backoff_seconds": 0.001}


async def test_a_hanging_erp_times_out_and_is_retried_then_the_run_is_retried(
    erp_store: ErpStore, driven_engine: DrivenEngine, fake_erp: FakeErp
) -> None:
    order = await make_order(erp_store)
    await Event.create(name="order.placed", payload={"id": order.id})
    fake_erp.delay = 30.0  # far longer than the 0.2 s allowed

    await dispatch_pending_events(driven_engine.engine)
    await driven_engine.run_all()

    run_id = sync_order_to_erp_run_id(order.id)
    run = await run_of(run_id)
    assert run.state == "reverted"
    assert "FakeERP did not answer within 0.2 s (create_order)" in (run.error or "")
    assert fake_erp.calls["create_order"] == 2
    assert fake_erp.orders == {}

    fake_erp.delay = 0.0
    await driven_engine.engine.retry(run_id)
    await driven_engine.run_all()

    assert (await run_of(run_id)).state == "done"
    assert len(fake_erp.orders) == 1
    assert (await Order.get(id=order.id)).metadata == {"external_id": "1", "erp_name": "S1"}
