"""Order -> ERP: order.placed starts sync-order-to-erp, which creates exactly one ERP order."""

from __future__ import annotations

from decimal import Decimal

import pluggy
import pytest

from core.config import Settings
from core.errors import ErpUnavailable, PermanentError
from core.events import dispatch_pending_events, event_run_id
from core.models import Customer, Event, Order, ProductVariant, WorkflowRunRecord, WorkflowStepRecord
from core.plugins import build_plugin_manager
from erpcommerce_erp.contract import ErpOrder, ErpOrderRef
from erpcommerce_erp.order_export import SYNC_ORDER_TO_ERP, sync_order_to_erp_run_id
from erpcommerce_erp.plugin import PLUGIN_NAME, ErpPlugin, erp_plugin
from tests.plugins.erp.conftest import ErpStore
from tests.plugins.erp.fake_erp import FakeErp
from tests.plugins.erp.orders_support import DrivenEngine, make_order, run_of
from tests.plugins.erp.orders_support import driven_engine  # noqa: F401 - a fixture
from tests.workflows.durable_support import RecordingExecutor, make_engine, step_rows


@pytest.fixture
def erp_options() -> dict[str, object]:
    return {"order_sync_max_retries": 2, "order_sync_backoff_seconds": 0.001, "order_sync_max_backoff_seconds": 0.01}


async def place(order: Order) -> Event:
    """The outbox row complete-cart writes for ``order``."""
    return await Event.create(name="order.placed", payload={"id": order.id})


async def deliver(driven: DrivenEngine) -> None:
    """Dispatch the outbox and execute every run that follows (deliveries, then order syncs)."""
    await dispatch_pending_events(driven.engine)
    await driven.run_all()


# -------------------------------------------------------------------------------------------------
# The happy path
# -------------------------------------------------------------------------------------------------


async def test_a_placed_order_is_created_once_in_the_erp_with_its_id_stored(
    erp_store: ErpStore, driven_engine: DrivenEngine, fake_erp: FakeErp
) -> None:
    customer = await Customer.create(
        email="ada@example.com", company_name="Analytical Engines Ltd", metadata={"external_id": "P7"}
    )
    order = await make_order(erp_store, customer=customer, metadata={"gift": True})
    event = await place(order)

    await deliver(driven_engine)

    assert (await run_of(event_run_id(event.id, PLUGIN_NAME))).state == "done"
    run = await run_of(sync_order_to_erp_run_id(order.id))
    assert (run.workflow_name, run.state) == (SYNC_ORDER_TO_ERP, "done")
    assert fake_erp.calls["create_order"] == 1
    (sent,) = fake_erp.live_orders()
    assert sent.idempotency_key == f"{run.id}:create-erp-order"
    erp_order = sent.order
    assert (erp_order.id, erp_order.display_id, erp_order.currency_code) == (order.id, order.display_id, "eur")
    assert erp_order.customer is not None and erp_order.customer.external_id == "P7"
    assert erp_order.customer.company_name == "Analytical Engines Ltd"
    lines = [(line.variant_external_id, line.product_external_id, line.sku, line.quantity) for line in erp_order.items]
    assert lines == [("V1", "T1", "SHIRT-S", 1), ("V3", "T2", "MUG", 2)]
    assert [line.unit_price for line in erp_order.items] == [Decimal("10.00"), Decimal("5.00")]
    assert erp_order.total == Decimal("20.00")
    assert erp_order.shipping_address is not None and erp_order.shipping_address.city == "Berlin"
    assert erp_order.billing_address is not None and erp_order.billing_address.company == "Analytical Engines Ltd"
    stored = await Order.get(id=order.id)
    assert stored.metadata == {"gift": True, "external_id": sent.external_id, "erp_name": f"S{sent.external_id}"}
    ref = ErpOrderRef(external_id=sent.external_id, name=f"S{sent.external_id}", status="sale")
    assert run.output == ref.model_dump()


async def test_other_events_are_ignored(erp_store: ErpStore, driven_engine: DrivenEngine, fake_erp: FakeErp) -> None:
    order = await make_order(erp_store)
    await Event.create(name="customer.created", payload={"id": "cus_1"})
    await Event.create(name="order.canceled", payload={"id": order.id})

    await deliver(driven_engine)

    assert await WorkflowRunRecord.filter(workflow_name=SYNC_ORDER_TO_ERP).count() == 0
    assert fake_erp.calls["create_order"] == 0


async def test_without_an_erp_client_nothing_is_sent(settings: Settings, erp_store: ErpStore) -> None:
    alone = ErpPlugin()
    pm = build_plugin_manager(settings, load_entry_points=False, extra_plugins=((alone, PLUGIN_NAME),))
    order = await make_order(erp_store)
    await alone.handle_event(name="order.placed", payload={"id": order.id}, event_id="evt_1")
    assert erp_plugin(pm).gateway is None
    assert await WorkflowRunRecord.all().count() == 0


async def test_an_event_without_an_order_id_fails_its_delivery_visibly(
    erp_store: ErpStore, driven_engine: DrivenEngine
) -> None:
    event = await Event.create(name="order.placed", payload={"order": "nope"})
    await deliver(driven_engine)
    run = await run_of(event_run_id(event.id, PLUGIN_NAME))
    assert run.state in ("failed", "reverted")
    assert f"Event {event.id} (order.placed) names no order id" in (run.error or "")


# -------------------------------------------------------------------------------------------------
# Exactly one ERP order
# -------------------------------------------------------------------------------------------------


async def test_a_duplicate_delivery_of_the_event_makes_no_second_erp_order(
    erp_store: ErpStore, driven_engine: DrivenEngine, fake_erp: FakeErp, plugins: pluggy.PluginManager
) -> None:
    order = await make_order(erp_store)
    # The outbox delivers at least once: the same order.placed twice (two rows), at once.
    await place(order)
    await place(order)

    await deliver(driven_engine)
    # ... and once more, after the order was synced (a subscriber re-run by an operator).
    await erp_plugin(plugins).handle_event(name="order.placed", payload={"id": order.id}, event_id="evt_again")
    assert await driven_engine.run_all() == []  # the finished run is found, not submitted again

    assert await WorkflowRunRecord.filter(workflow_name="deliver-event", state="done").count() == 2
    assert await WorkflowRunRecord.filter(workflow_name=SYNC_ORDER_TO_ERP).count() == 1
    assert fake_erp.calls["create_order"] == 1
    assert len(fake_erp.orders) == 1


async def test_a_transient_erp_failure_is_retried_without_a_second_order(
    erp_store: ErpStore, driven_engine: DrivenEngine, fake_erp: FakeErp
) -> None:
    order = await make_order(erp_store)
    await place(order)
    fake_erp.fail("create_order", ErpUnavailable("FakeERP is busy"))

    await deliver(driven_engine)

    run_id = sync_order_to_erp_run_id(order.id)
    assert (await run_of(run_id)).state == "done"
    step = await WorkflowStepRecord.get(run_id=run_id, name="create-erp-order")
    assert (step.state, step.attempts) == ("done", 2)
    assert fake_erp.calls["create_order"] == 2
    assert len(fake_erp.orders) == 1
    assert (await Order.get(id=order.id)).metadata == {"external_id": "1", "erp_name": "S1"}


class LostAnswerErp(FakeErp):
    """Creates the order, then loses the answer the first time (a timeout after the ERP committed)."""

    lost = 0

    async def create_order(self, order: ErpOrder, idempotency_key: str) -> ErpOrderRef:
        ref = await super().create_order(order, idempotency_key)
        if self.lost == 0:
            self.lost += 1
            raise ErpUnavailable("FakeERP connection reset after the order was created")
        return ref


async def test_a_retry_after_a_lost_answer_finds_the_order_the_erp_made(
    settings: Settings, erp_store: ErpStore, db: None
) -> None:
    lossy = LostAnswerErp()
    pm = build_plugin_manager(
        settings, load_entry_points=False, extra_plugins=((ErpPlugin(), PLUGIN_NAME), lossy)
    )
    engine = make_engine(settings, pm)
    engine.executor = RecordingExecutor()
    order = await make_order(erp_store)
    run = await engine.start(SYNC_ORDER_TO_ERP, {"order_id": order.id}, run_id=sync_order_to_erp_run_id(order.id))

    assert await engine.execute(run.id) == "done"

    assert lossy.calls["create_order"] == 2
    assert len(lossy.orders) == 1  # the retry carried the same idempotency key
    assert (await Order.get(id=order.id)).metadata == {"external_id": "1", "erp_name": "S1"}


async def test_erp_down_fails_the_run_after_the_retries_then_a_retry_succeeds(
    erp_store: ErpStore, driven_engine: DrivenEngine, fake_erp: FakeErp
) -> None:
    order = await make_order(erp_store)
    await place(order)
    fake_erp.down = True

    await deliver(driven_engine)

    run_id = sync_order_to_erp_run_id(order.id)
    failed = await run_of(run_id)
    assert failed.state == "reverted"  # nothing was created in the ERP, so nothing to undo
    assert "FakeERP could not be reached (create_order)" in (failed.error or "")
    assert fake_erp.calls["create_order"] == 3  # the first attempt and order_sync_max_retries = 2
    assert fake_erp.calls["cancel_order"] == 0
    assert (await Order.get(id=order.id)).metadata is None

    fake_erp.down = False
    await driven_engine.engine.retry(run_id)  # what `erpcommerce retry RUN` does
    await driven_engine.run_all()

    assert (await run_of(run_id)).state == "done"
    assert len(fake_erp.live_orders()) == len(fake_erp.orders) == 1
    assert (await Order.get(id=order.id)).metadata == {"external_id": "1", "erp_name": "S1"}


async def test_a_malformed_erp_answer_is_retried_then_fails_the_run(
    erp_store: ErpStore, driven_engine: DrivenEngine, fake_erp: FakeErp
) -> None:
    order = await make_order(erp_store)
    fake_erp.malformed["create_order"] = {"id": 12}  # not an ErpOrderRef
    await place(order)

    await deliver(driven_engine)

    run = await run_of(sync_order_to_erp_run_id(order.id))
    assert run.state == "reverted"
    assert "FakeERP answered create_order with malformed data: expected an ErpOrderRef, got dict" in (run.error or "")
    assert fake_erp.calls["create_order"] == 3
    assert (await Order.get(id=order.id)).metadata is None


async def test_an_erp_refusal_fails_the_run_at_once(
    erp_store: ErpStore, driven_engine: DrivenEngine, fake_erp: FakeErp
) -> None:
    order = await make_order(erp_store)
    await place(order)
    fake_erp.fail("create_order", PermanentError("FakeERP refused the order: partner P7 is blocked"))

    await deliver(driven_engine)

    run = await run_of(sync_order_to_erp_run_id(order.id))
    assert run.state == "reverted"
    assert "partner P7 is blocked" in (run.error or "")
    assert fake_erp.calls["create_order"] == 1
    assert fake_erp.calls["cancel_order"] == 0


# -------------------------------------------------------------------------------------------------
# Compensation
# -------------------------------------------------------------------------------------------------


class DeletingErp(FakeErp):
    """Creates the order while someone deletes the store order (so the next step fails)."""

    async def create_order(self, order: ErpOrder, idempotency_key: str) -> ErpOrderRef:
        ref = await super().create_order(order, idempotency_key)
        await Order.filter(id=order.id).delete()
        return ref


async def test_a_later_failure_cancels_the_erp_order(settings: Settings, erp_store: ErpStore, db: None) -> None:
    deleting = DeletingErp()
    pm = build_plugin_manager(
        settings, load_entry_points=False, extra_plugins=((ErpPlugin(), PLUGIN_NAME), deleting)
    )
    engine = make_engine(settings, pm)
    engine.executor = RecordingExecutor()
    order = await make_order(erp_store)
    run_id = sync_order_to_erp_run_id(order.id)
    await engine.start(SYNC_ORDER_TO_ERP, {"order_id": order.id}, run_id=run_id)

    assert await engine.execute(run_id) == "reverted"

    run = await run_of(run_id)
    assert f"Order {order.id} no longer exists: ERP order 1 is cancelled" in (run.error or "")
    assert deleting.calls["cancel_order"] == 1
    assert deleting.log[-1] == ("cancel_order", ("1", f"{run_id}:create-erp-order:cancel"))
    assert deleting.orders["1"].status == "cancel"
    assert deleting.live_orders() == []
    assert await step_rows(run_id) == [
        (1, "read-order", "invoke", "done"),
        (2, "create-erp-order", "invoke", "reverted"),
        (3, "store-erp-reference", "invoke", "failed"),
        (4, "create-erp-order", "compensate", "reverted"),
    ]


# -------------------------------------------------------------------------------------------------
# Lines the ERP does not know
# -------------------------------------------------------------------------------------------------


async def test_a_line_without_erp_ids_is_sent_by_sku(
    erp_store: ErpStore, driven_engine: DrivenEngine, fake_erp: FakeErp
) -> None:
    await ProductVariant.filter(id=erp_store.mug).update(external_id=None)
    order = await make_order(erp_store)
    await place(order)

    await deliver(driven_engine)

    assert (await run_of(sync_order_to_erp_run_id(order.id))).state == "done"
    (sent,) = fake_erp.live_orders()
    assert [(line.variant_external_id, line.sku) for line in sent.order.items] == [("V1", "SHIRT-S"), (None, "MUG")]


async def test_a_line_with_neither_erp_id_nor_sku_fails_the_run_naming_it(
    erp_store: ErpStore, driven_engine: DrivenEngine, fake_erp: FakeErp
) -> None:
    await ProductVariant.filter(id=erp_store.mug).update(external_id=None, sku=None)
    order = await make_order(erp_store)
    mug_line = next(item for item in await order.items.all() if item.variant_id == erp_store.mug)
    await place(order)

    await deliver(driven_engine)

    run = await run_of(sync_order_to_erp_run_id(order.id))
    assert run.state == "reverted"
    assert f"Order {order.id} has lines with neither an ERP id nor a SKU" in (run.error or "")
    assert f"{mug_line.id} (Mug, variant {erp_store.mug})" in (run.error or "")
    assert fake_erp.calls["create_order"] == 0


async def test_an_order_deleted_before_the_run_fails_it_clearly(
    erp_store: ErpStore, driven_engine: DrivenEngine, fake_erp: FakeErp
) -> None:
    order = await make_order(erp_store)
    await place(order)
    await order.delete()

    await deliver(driven_engine)

    run = await run_of(sync_order_to_erp_run_id(order.id))
    assert run.state == "reverted"
    assert f"Order {order.id} was not found" in (run.error or "")
    assert fake_erp.calls["create_order"] == 0
