"""Order -> ERP end to end: a cart completed through the Store API reaches the ERP once, by itself."""

from __future__ import annotations

from typing import Any

import pluggy

from core.api.store.carts import CompleteCartResponse
from core.app import create_app
from core.config import Settings
from core.models import Order, WorkflowRunRecord
from erpcommerce_erp.order_export import SYNC_ORDER_TO_ERP
from tests.api.store.carts_support import checked, complete, create_cart, initiate_payment
from tests.plugins.erp.conftest import ErpStore
from tests.plugins.erp.fake_erp import FakeErp
from tests.polling import wait_until


async def test_a_completed_cart_becomes_one_erp_order(
    aiohttp_client: Any, settings: Settings, plugins: pluggy.PluginManager, erp_store: ErpStore, fake_erp: FakeErp
) -> None:
    client = await aiohttp_client(create_app(settings, plugins, manage_database=False))
    store = erp_store.store
    items = [{"variant_id": erp_store.shirt_m, "quantity": 2}, {"variant_id": erp_store.mug, "quantity": 1}]
    cart = await create_cart(client, store, items=items, email="buyer@example.com")
    await initiate_payment(client, store, cart["id"])

    order = (await checked(await complete(client, store, cart["id"]), CompleteCartResponse))["order"]

    async def synced() -> bool:
        runs = WorkflowRunRecord.filter(workflow_name=SYNC_ORDER_TO_ERP, finished_at__isnull=False)
        return await runs.count() == 1

    await wait_until(synced)
    run = await WorkflowRunRecord.get(workflow_name=SYNC_ORDER_TO_ERP)
    assert (run.id, run.state) == (f"{SYNC_ORDER_TO_ERP}:{order['id']}", "done")
    (sent,) = fake_erp.orders.values()
    assert sent.order.id == order["id"]
    assert sent.order.email == "buyer@example.com"
    assert [(line.variant_external_id, line.quantity) for line in sent.order.items] == [("V2", 2), ("V3", 1)]
    assert fake_erp.calls["create_order"] == 1
    stored = await Order.get(id=order["id"])
    assert stored.metadata is not None and stored.metadata["external_id"] == sent.external_id
