"""``erpcommerce reconcile`` against the fake Odoo over HTTP: a store synced from it is in step; what
changes in Odoo (a price, an archived product, a cancelled or duplicated sale.order) is reported,
and a delta sync brings the catalogue back in step."""

from __future__ import annotations

from typing import Any

import pluggy
import pytest
from aiohttp.test_utils import TestClient

from core.api.store.carts import CompleteCartResponse
from core.models import WorkflowRunRecord
from erpcommerce_erp.order_export import sync_order_to_erp_run_id
from erpcommerce_erp.plugin import erp_plugin
from erpcommerce_erp.reconcile import reconcile
from erpcommerce_erp.reconcile_report import ReconcileReport
from erpcommerce_odoo.fake_odoo import FakeOdoo
from tests.api.store.carts_support import checked, complete, create_cart, initiate_payment
from tests.plugins.odoo.e2e_support import (  # noqa: F401 - fixtures
    OdooStore,
    fake,
    odoo_options,
    odoo_server,
    odoo_store,
    plugins,
    settings,
    sync,
)
from tests.polling import wait_until


@pytest.fixture
def erp_options() -> dict[str, object]:
    return {"order_sync_max_retries": 3, "order_sync_backoff_seconds": 0.01, "order_sync_max_backoff_seconds": 0.05,
            "sync_page_size": 3}


async def check(plugins: pluggy.PluginManager, *parts: str) -> ReconcileReport:
    erp = erp_plugin(plugins)
    assert erp.gateway is not None
    return await reconcile(erp.gateway, erp.settings, parts=parts or ("products", "stock", "orders"), limit=0)


async def exported_order(client: TestClient, odoo_store: OdooStore, code: str = "CHAIR-BLK") -> dict[str, Any]:
    """A guest's order of one ``code`` through the Store API, once its sale.order exists."""
    store = odoo_store.store
    body = {"items": [{"variant_id": await odoo_store.variant(code), "quantity": 1}], "email": "guest@example.com"}
    cart = await create_cart(client, store, **body)
    await initiate_payment(client, store, cart["id"])
    order: dict[str, Any] = (await checked(await complete(client, store, cart["id"]), CompleteCartResponse))["order"]

    async def done() -> bool:
        return await WorkflowRunRecord.filter(id=sync_order_to_erp_run_id(order["id"]), state="done").exists()

    await wait_until(done)
    return order


def sale_order_of(fake: FakeOdoo, order_id: str) -> int:
    (found,) = [rec["id"] for rec in fake.records("sale.order").values() if rec["client_order_ref"] == order_id]
    return int(found)


async def test_a_store_synced_from_odoo_is_in_step(
    client: TestClient, odoo_store: OdooStore, plugins: pluggy.PluginManager
) -> None:
    await exported_order(client, odoo_store)
    report = await check(plugins)
    assert report.total == 0, report.items
    assert report.checked["products"] > 5 and report.checked["prices"] > 5 and report.checked["stock"] > 5
    assert report.checked["orders"] == 1


async def test_odoo_changes_are_reported_until_a_delta_sync(
    client: TestClient, odoo_store: OdooStore, fake: FakeOdoo, plugins: pluggy.PluginManager
) -> None:
    lamp = odoo_store.template_id("LAMP")
    desk = odoo_store.template_id("KBD-DE")
    fake.call("product.template", "write", [lamp], {"list_price": 99.0, "name": "Lamp deluxe"})
    fake.call("product.template", "write", [desk], {"active": False})

    report = await check(plugins, "products", "stock")
    by_kind = {(d.kind, d.field) for d in report.items}
    assert ("product.field", "title") in by_kind
    assert ("product.archived_in_erp", None) in by_kind
    assert any(d.kind == "price.mismatch" and d.erp is not None and "99" in d.erp for d in report.items)

    row = await sync(client)
    assert row.state == "succeeded", row.error
    after = await check(plugins, "products", "stock")
    assert after.total == 0, after.items


async def test_a_sale_order_cancelled_in_odoo_is_reported(
    client: TestClient, odoo_store: OdooStore, fake: FakeOdoo, plugins: pluggy.PluginManager
) -> None:
    order = await exported_order(client, odoo_store)
    sale_order = sale_order_of(fake, order["id"])
    fake.call("sale.order", "action_cancel", [sale_order], context={"disable_cancel_warning": True})  # no webhook

    report = await check(plugins, "orders")
    found = sorted((d.kind, d.store_id, d.external_id, d.store, d.erp) for d in report.items)
    assert found == [  # mapped as the webhook would have: cancel -> canceled, fulfillment canceled
        ("order.fulfillment", order["id"], str(sale_order), "not_fulfilled", "canceled"),
        ("order.status", order["id"], str(sale_order), "pending", "canceled"),
    ]


async def test_a_duplicated_sale_order_is_reported(
    client: TestClient, odoo_store: OdooStore, fake: FakeOdoo, plugins: pluggy.PluginManager
) -> None:
    order = await exported_order(client, odoo_store)
    first = fake.records("sale.order")[sale_order_of(fake, order["id"])]
    lines = [(0, 0, {"product_id": odoo_store.odoo_id("CHAIR-BLK"), "product_uom_qty": 1})]
    second = fake.call("sale.order", "create",
                       {"partner_id": first["partner_id"], "client_order_ref": order["id"], "order_line": lines})
    fake.call("sale.order", "action_confirm", [second])

    report = await check(plugins, "orders")
    (difference,) = report.items
    assert difference.kind == "order.duplicated"
    assert difference.external_id == f"{first['id']}, {second}"
