"""ERP -> order: sync-order-from-erp maps the ERP's statuses onto the store order it finds by ERP id."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from core.errors import PermanentError
from core.models import Order
from erpcommerce_erp.contract import OrderUpdate
from erpcommerce_erp.order_updates import (
    OrderUpdateInput,
    find_order_by_external_id,
    store_fulfillment_status,
    store_order_status,
    sync_order_from_erp,
    sync_order_from_erp_run_id,
)
from tests.plugins.erp.conftest import ErpStore
from tests.plugins.erp.orders_support import DrivenEngine, make_order, run_of
from tests.plugins.erp.orders_support import driven_engine  # noqa: F401 - a fixture


MAPS = {
    "status_map": {"sale": "pending", "done": "completed", "cancel": "canceled", "bogus": "shipped"},
    "fulfillment_status_map": {"done": "fulfilled", "in_transit": "shipped"},
}


@pytest.fixture
def erp_options() -> dict[str, object]:
    return dict(MAPS)


def update(status: str, event_id: str = "evt_1", external_id: str = "7", **fields: Any) -> OrderUpdate:
    return OrderUpdate(event_id=event_id, external_id=external_id, status=status, **fields)


async def apply(driven: DrivenEngine, change: OrderUpdate, sent_at: int | None = None) -> str | None:
    """Start and execute the update's run; its final state."""
    run_id = sync_order_from_erp_run_id(change.event_id)
    await driven.engine.start(sync_order_from_erp, OrderUpdateInput(update=change, sent_at=sent_at), run_id=run_id)
    driven.executor.submitted.clear()
    return await driven.engine.execute(run_id)


# -------------------------------------------------------------------------------------------------
# Status mapping
# -------------------------------------------------------------------------------------------------


def test_erp_statuses_map_through_the_map_and_store_statuses_to_themselves() -> None:
    status_map = {"sale": "pending", "done": "completed"}
    assert store_order_status(update("sale"), status_map) == "pending"
    assert store_order_status(update("done"), status_map) == "completed"
    for status in ("pending", "completed", "canceled", "archived", "requires_action"):
        assert store_order_status(update(status), status_map) == status
    assert store_order_status(update("canceled"), {"canceled": "archived"}) == "archived"  # the map wins


def test_an_unknown_erp_status_is_a_permanent_error_naming_it() -> None:
    with pytest.raises(PermanentError) as caught:
        store_order_status(update("quotation"), {"sale": "pending"}, "Odoo")
    assert caught.value.message == (
        "Unknown Odoo order status 'quotation' for ERP order 7: "
        "map it to a store order status in [plugins.erp] status_map"
    )
    with pytest.raises(PermanentError, match="'sale' maps to 'shipped', which is not a store order status"):
        store_order_status(update("sale"), {"sale": "shipped"}, "Odoo")


def test_fulfillment_comes_from_the_update_or_the_map() -> None:
    fulfillment_map = {"done": "fulfilled", "in_transit": "shipped"}
    assert store_fulfillment_status(update("sale"), fulfillment_map) is None  # unchanged
    assert store_fulfillment_status(update("done"), fulfillment_map) == "fulfilled"
    assert store_fulfillment_status(update("done", fulfillment_status="partially_shipped"), fulfillment_map) == (
        "partially_shipped"
    )
    assert store_fulfillment_status(update("sale", fulfillment_status="in_transit"), fulfillment_map) == "shipped"
    with pytest.raises(PermanentError, match="Unknown fulfillment status 'lost' \\(from the ERP's fulfillment status"):
        store_fulfillment_status(update("sale", fulfillment_status="lost"), fulfillment_map)


# -------------------------------------------------------------------------------------------------
# Finding the order
# -------------------------------------------------------------------------------------------------


async def test_orders_are_found_by_their_erp_id_only(erp_store: ErpStore) -> None:
    wanted = await make_order(erp_store, metadata={"external_id": "7", "erp_name": "S7"})
    await make_order(erp_store, metadata={"external_id": "17"})
    by_hand = await make_order(erp_store, metadata={"external_id": 8})  # a number, written by hand
    await make_order(erp_store, metadata={"note": "7", "erp": {"external_id": "7"}})
    await make_order(erp_store, metadata=None)

    assert [order.id for order in await find_order_by_external_id("7")] == [wanted.id]
    assert [order.id for order in await find_order_by_external_id("7", for_update=True)] == [wanted.id]
    assert [order.id for order in await find_order_by_external_id("8")] == [by_hand.id]
    assert await find_order_by_external_id("9") == []


# -------------------------------------------------------------------------------------------------
# The run
# -------------------------------------------------------------------------------------------------


async def test_an_update_sets_the_status_fulfillment_and_erp_metadata(
    erp_store: ErpStore, driven_engine: DrivenEngine
) -> None:
    order = await make_order(erp_store, metadata={"external_id": "7", "gift": True, "erp": {"carrier": "DHL"}})
    change = update("done", metadata={"picking": "WH/OUT/0001"})

    assert await apply(driven_engine, change, sent_at=1_700_000_000) == "done"

    stored = await Order.get(id=order.id)
    assert (stored.status, stored.fulfillment_status, stored.canceled_at) == ("completed", "fulfilled", None)
    assert stored.metadata == {
        "external_id": "7",
        "gift": True,
        "erp": {"carrier": "DHL", "picking": "WH/OUT/0001"},
        "erp_last_update": {"status": "done", "event_id": "evt_1", "sent_at": 1_700_000_000, "received_at": None},
    }
    run = await run_of(sync_order_from_erp_run_id("evt_1"))
    assert run.output == {
        "order_id": order.id, "status": "completed", "fulfillment_status": "fulfilled", "applied": True
    }


async def test_cancel_sets_canceled_at_and_a_reopened_order_clears_it(
    erp_store: ErpStore, driven_engine: DrivenEngine
) -> None:
    order = await make_order(erp_store, metadata={"external_id": "7"})

    assert await apply(driven_engine, update("cancel", "evt_cancel")) == "done"
    canceled = await Order.get(id=order.id)
    assert canceled.status == "canceled" and canceled.canceled_at is not None
    assert canceled.fulfillment_status == "not_fulfilled"

    assert await apply(driven_engine, update("cancel", "evt_cancel_again")) == "done"
    assert (await Order.get(id=order.id)).canceled_at == canceled.canceled_at  # idempotent

    assert await apply(driven_engine, update("sale", "evt_reopen")) == "done"
    reopened = await Order.get(id=order.id)
    assert (reopened.status, reopened.canceled_at) == ("pending", None)


async def test_a_reopened_order_is_no_longer_fulfillment_canceled(
    erp_store: ErpStore, driven_engine: DrivenEngine
) -> None:
    order = await make_order(erp_store, metadata={"external_id": "7"})
    assert await apply(driven_engine, update("cancel", "evt_cancel", fulfillment_status="canceled")) == "done"
    assert (await Order.get(id=order.id)).fulfillment_status == "canceled"

    assert await apply(driven_engine, update("sale", "evt_reopen")) == "done"  # no fulfillment status given

    reopened = await Order.get(id=order.id)
    assert (reopened.status, reopened.fulfillment_status) == ("pending", "not_fulfilled")
    assert await apply(driven_engine, update("done", "evt_done")) == "done"
    assert (await Order.get(id=order.id)).fulfillment_status == "fulfilled"  # the map's, as before


async def test_a_run_applies_its_update_once(erp_store: ErpStore, driven_engine: DrivenEngine) -> None:
    order = await make_order(erp_store, metadata={"external_id": "7"})
    assert await apply(driven_engine, update("done", "evt_once")) == "done"
    await Order.filter(id=order.id).update(status="requires_action")

    # The same event's run again: it exists and is finished, nothing runs.
    assert await apply(driven_engine, update("done", "evt_once")) is None
    assert (await Order.get(id=order.id)).status == "requires_action"


async def test_an_older_signed_update_is_skipped(erp_store: ErpStore, driven_engine: DrivenEngine) -> None:
    order = await make_order(erp_store, metadata={"external_id": "7"})
    assert await apply(driven_engine, update("done", "evt_newer"), sent_at=2_000) == "done"

    assert await apply(driven_engine, update("sale", "evt_older"), sent_at=1_000) == "done"

    stored = await Order.get(id=order.id)
    assert stored.status == "completed"
    assert stored.metadata is not None and stored.metadata["erp_last_update"]["event_id"] == "evt_newer"
    output = (await run_of(sync_order_from_erp_run_id("evt_older"))).output
    assert output is not None and output["applied"] is False

    # Unsigned (token) updates carry no trusted time: applied as they come, the last time kept.
    assert await apply(driven_engine, update("sale", "evt_unsigned")) == "done"
    stored = await Order.get(id=order.id)
    assert stored.status == "pending"
    assert stored.metadata is not None and stored.metadata["erp_last_update"]["sent_at"] == 2_000


LINKED_LATER = {**MAPS, "order_update_max_retries": 200, "order_update_backoff_seconds": 0.01,
                "order_update_max_backoff_seconds": 0.01}


@pytest.mark.parametrize("erp_options", [LINKED_LATER])
async def test_an_update_waits_for_its_order_to_be_linked(erp_store: ErpStore, driven_engine: DrivenEngine) -> None:
    order = await make_order(erp_store)  # exported, but the ERP id not stored yet

    async def link_soon() -> None:
        await asyncio.sleep(0.1)
        await Order.filter(id=order.id).update(metadata={"external_id": "7"})

    linking = asyncio.create_task(link_soon())
    assert await apply(driven_engine, update("cancel")) == "done"
    await linking
    assert (await Order.get(id=order.id)).status == "canceled"


@pytest.mark.parametrize("erp_options", [LINKED_LATER])
async def test_an_update_that_waited_does_not_undo_a_newer_one(
    erp_store: ErpStore, driven_engine: DrivenEngine
) -> None:
    order = await make_order(erp_store, metadata={"external_id": "7"})
    older = OrderUpdateInput(update=update("sale", "evt_confirm"), received_at=1_000.0)
    newer = OrderUpdateInput(update=update("cancel", "evt_cancel"), received_at=1_001.0)
    for change in (newer, older):  # the confirmation waited for the link; the cancel did not
        run_id = sync_order_from_erp_run_id(change.update.event_id)
        await driven_engine.engine.start(sync_order_from_erp, change, run_id=run_id)
        assert await driven_engine.engine.execute(run_id) == "done"
    stored = await Order.get(id=order.id)
    assert stored.status == "canceled"
    assert stored.metadata is not None and stored.metadata["erp_last_update"]["event_id"] == "evt_cancel"
    output = (await run_of(sync_order_from_erp_run_id("evt_confirm"))).output
    assert output is not None and output["applied"] is False


@pytest.mark.parametrize("erp_options", [{**MAPS, "order_update_max_retries": 0}])
async def test_an_unknown_erp_order_fails_the_run_naming_it(erp_store: ErpStore, driven_engine: DrivenEngine) -> None:
    await make_order(erp_store, metadata={"external_id": "7"})

    assert await apply(driven_engine, update("done", external_id="999")) == "reverted"

    run = await run_of(sync_order_from_erp_run_id("evt_1"))
    assert "FakeERP order 999 matches no store order (metadata.external_id)" in (run.error or "")


async def test_an_erp_id_on_two_orders_fails_the_run_naming_them(
    erp_store: ErpStore, driven_engine: DrivenEngine
) -> None:
    first = await make_order(erp_store, metadata={"external_id": "7"})
    second = await make_order(erp_store, metadata={"external_id": "7"})

    assert await apply(driven_engine, update("done")) == "reverted"

    error = (await run_of(sync_order_from_erp_run_id("evt_1"))).error or ""
    assert "FakeERP order 7 matches several store orders" in error
    assert first.id in error and second.id in error
    assert {order.status for order in await Order.all()} == {"pending"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (update("on_hold"), "Unknown FakeERP order status 'on_hold' for ERP order 7"),
        (update("bogus"), "FakeERP order status 'bogus' maps to 'shipped', which is not a store order status"),
        (update("sale", fulfillment_status="teleported"), "Unknown fulfillment status 'teleported'"),
    ],
)
async def test_an_unknown_status_fails_the_run_naming_it(
    erp_store: ErpStore, driven_engine: DrivenEngine, change: OrderUpdate, message: str
) -> None:
    order = await make_order(erp_store, metadata={"external_id": "7"})

    assert await apply(driven_engine, change) == "reverted"

    assert message in ((await run_of(sync_order_from_erp_run_id("evt_1"))).error or "")
    stored = await Order.get(id=order.id)
    assert (stored.status, stored.metadata) == ("pending", {"external_id": "7"})
