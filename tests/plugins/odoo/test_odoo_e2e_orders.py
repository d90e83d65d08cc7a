"""Orders against the fake Odoo over HTTP: exactly one confirmed sale.order per store order, even when
the create is retried, and Odoo's state changes back to the store through the automation-rule webhook."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from core.api.store.carts import CompleteCartResponse
from core.config import Settings
from core.models import Order, ProductVariant, WorkflowRunRecord, WorkflowStepRecord
from erpcommerce_erp.order_export import sync_order_to_erp_run_id
from erpcommerce_erp.order_updates import SYNC_ORDER_FROM_ERP
from erpcommerce_odoo.fake_odoo import FakeOdoo
from tests.api.store.carts_support import checked, complete, create_cart, initiate_payment
from tests.polling import wait_until
from tests.plugins.odoo.e2e_support import (  # noqa: F401 - fixtures
    WEBHOOK_SECRET,
    OdooStore,
    fake,
    money,
    odoo_options,
    odoo_server,
    odoo_store,
    plugins,
    settings,
    signed_in,
)

DECO = ("douglas.fletcher@deco-addict.example", "Deco Addict")


@pytest.fixture
def erp_options() -> dict[str, object]:
    return {"order_sync_max_retries": 3, "order_sync_backoff_seconds": 0.01, "order_sync_max_backoff_seconds": 0.05}


async def place_order(
    client: TestClient, odoo_store: OdooStore, items: list[tuple[str, int]], token: str | None = None
) -> dict[str, Any]:
    """Complete a cart of ``items`` (Odoo default code, quantity) through the Store API; the order."""
    store = odoo_store.store
    lines = [{"variant_id": await odoo_store.variant(code), "quantity": quantity} for code, quantity in items]
    body: dict[str, Any] = {"items": lines}
    if token is None:
        body["email"] = "guest.buyer@example.com"
    cart = await create_cart(client, store, token=token, **body)
    await initiate_payment(client, store, cart["id"], token=token)
    resp = await complete(client, store, cart["id"], token=token)
    return (await checked(resp, CompleteCartResponse))["order"]  # type: ignore[no-any-return]


async def synced_run(order_id: str) -> WorkflowRunRecord:
    """The order's sync-order-to-erp run, once the store's runner finished it."""
    run_id = sync_order_to_erp_run_id(order_id)

    async def finished() -> bool:
        return await WorkflowRunRecord.filter(id=run_id, finished_at__isnull=False).exists()

    await wait_until(finished)
    return await WorkflowRunRecord.get(id=run_id)


def sale_orders(fake: FakeOdoo, order_id: str) -> list[dict[str, Any]]:
    """The fake's sale.order records made for a store order (cancelled ones too)."""
    return [rec for rec in fake.records("sale.order").values() if rec["client_order_ref"] == order_id]


def lines_of(fake: FakeOdoo, sale_order_id: int) -> list[tuple[int, float, Decimal]]:
    rows = fake.call("sale.order.line", "search_read", [("order_id", "=", sale_order_id)],
                     ["product_id", "product_uom_qty", "price_unit"], order="id asc")
    return [(row["product_id"][0], row["product_uom_qty"], money(row["price_unit"])) for row in rows]


async def assert_one_confirmed_sale_order(fake: FakeOdoo, odoo_store: OdooStore, order: dict[str, Any]) -> int:
    """The order made exactly one confirmed sale.order with the store's lines and unit prices; its id."""
    run = await synced_run(order["id"])
    assert run.state == "done", run.error
    (sale_order,) = sale_orders(fake, order["id"])
    assert sale_order["state"] == "sale"
    odoo_ids = dict(await ProductVariant.filter(id__in=[i["variant_id"] for i in order["items"]])
                    .values_list("id", "external_id"))
    expected = [(int(odoo_ids[item["variant_id"]]), float(item["quantity"]), money(item["unit_price"]))
                for item in order["items"]]
    assert sorted(lines_of(fake, sale_order["id"])) == sorted(expected)
    stored = await Order.get(id=order["id"])
    assert stored.metadata == {"external_id": str(sale_order["id"]), "erp_name": sale_order["name"]}
    return int(sale_order["id"])


# -------------------------------------------------------------------------------------------------
# Store order -> sale.order
# -------------------------------------------------------------------------------------------------


async def test_a_company_customers_order_becomes_one_confirmed_sale_order(
    client: TestClient, odoo_store: OdooStore, fake: FakeOdoo, settings: Settings
) -> None:
    token = await signed_in(settings, *DECO)
    order = await place_order(client, odoo_store, [("CHAIR-BLK", 2), ("LAMP", 1)], token)
    assert [money(i["unit_price"]) for i in order["items"]] == [Decimal("108.00"), Decimal("29.00")]  # Deco's

    sale_order_id = await assert_one_confirmed_sale_order(fake, odoo_store, order)

    (partner,) = fake.call("res.partner", "search", [("email", "=", DECO[0])])
    record = fake.records("sale.order")[sale_order_id]
    assert record["partner_id"] == partner  # the existing contact, found by email
    assert len(fake.records("sale.order")) == 1


async def test_a_guests_order_creates_its_partner(client: TestClient, odoo_store: OdooStore, fake: FakeOdoo) -> None:
    order = await place_order(client, odoo_store, [("KBD-DE", 3)])
    sale_order_id = await assert_one_confirmed_sale_order(fake, odoo_store, order)
    partner = fake.records("res.partner")[fake.records("sale.order")[sale_order_id]["partner_id"]]
    assert partner["email"] == "guest.buyer@example.com"


@pytest.mark.parametrize(
    ("fault", "options"),
    [
        ("serialization_failure", {"model": "sale.order", "method": "create"}),
        ("serialization_failure", {"model": "sale.order", "method": "action_confirm"}),
        ("http_502", {"model": "sale.order", "method": "create"}),
    ],
    ids=["create-conflict", "confirm-conflict-after-create", "proxy-error-on-create"],
)
async def test_a_retried_create_makes_no_second_sale_order(
    client: TestClient, odoo_store: OdooStore, fake: FakeOdoo, fault: str, options: dict[str, Any]
) -> None:
    fake.faults.set(fault, times=1, **options)
    order = await place_order(client, odoo_store, [("DESK-120", 1), ("CHAIR-WHT", 2)])

    await assert_one_confirmed_sale_order(fake, odoo_store, order)

    assert fake.faults.fired[fault] == 1
    step = await WorkflowStepRecord.get(run_id=sync_order_to_erp_run_id(order["id"]), name="create-erp-order")
    assert (step.state, step.attempts) == ("done", 2)
    assert len(fake.records("sale.order")) == 1


class TestALostAnswer:
    """Odoo makes the order but its answer never arrives: the retry finds it by client_order_ref."""

    @pytest.fixture
    def odoo_options(self) -> dict[str, object]:
        # Odoo may run a request up to its time limit: the retry waits that long (here 0.8 s,
        # more than the 0.5 s the create takes), whatever the backoff.
        return {"timeout_seconds": 0.3, "request_time_limit_seconds": 0.8}

    @pytest.fixture
    def erp_options(self) -> dict[str, object]:
        return {"order_sync_max_retries": 2, "order_sync_backoff_seconds": 0.01}

    async def test_the_order_odoo_made_is_confirmed_not_made_again(
        self, client: TestClient, odoo_store: OdooStore, fake: FakeOdoo, caplog: pytest.LogCaptureFixture
    ) -> None:
        fake.faults.set("slow", times=1, seconds=0.5, model="sale.order", method="create")
        order = await place_order(client, odoo_store, [("LAMP", 4)])

        await assert_one_confirmed_sale_order(fake, odoo_store, order)

        step = await WorkflowStepRecord.get(run_id=sync_order_to_erp_run_id(order["id"]), name="create-erp-order")
        assert (step.state, step.attempts) == ("done", 2)
        assert "Odoo did not answer sale.order.create within 0.3 s" in caplog.text
        assert fake.faults.fired["slow"] == 1
        assert len(fake.records("sale.order")) == 1  # the first attempt's


# -------------------------------------------------------------------------------------------------
# sale.order state -> webhook -> store order status
# -------------------------------------------------------------------------------------------------


async def test_cancelling_the_sale_order_in_odoo_cancels_the_store_order(
    client: TestClient, odoo_store: OdooStore, fake: FakeOdoo
) -> None:
    order = await place_order(client, odoo_store, [("CHAIR-BLK", 1)])
    sale_order_id = await assert_one_confirmed_sale_order(fake, odoo_store, order)
    fake.webhooks.url = f"{client.make_url('/erp/order-updates')}?token={WEBHOOK_SECRET}"

    fake.call("sale.order", "action_cancel", [sale_order_id], context={"disable_cancel_warning": True})
    await fake.webhooks.join()

    (delivery,) = fake.webhooks.deliveries
    assert (delivery.delivered, delivery.status, delivery.payload["state"]) == (True, 202, "cancel")

    async def canceled() -> bool:
        return await Order.filter(id=order["id"], status="canceled").exists()

    await wait_until(canceled)
    run = await WorkflowRunRecord.get(workflow_name=SYNC_ORDER_FROM_ERP)
    assert run.state == "done"
    stored = await Order.get(id=order["id"])
    assert stored.canceled_at is not None
    assert stored.metadata is not None
    assert stored.metadata["erp"] == {"name": fake.records("sale.order")[sale_order_id]["name"]}
    assert stored.metadata["erp_last_update"]["status"] == "cancel"


async def test_a_webhook_without_the_token_is_refused(
    client: TestClient, odoo_store: OdooStore, fake: FakeOdoo
) -> None:
    order = await place_order(client, odoo_store, [("CHAIR-BLK", 1)])
    sale_order_id = await assert_one_confirmed_sale_order(fake, odoo_store, order)
    fake.webhooks.url = f"{client.make_url('/erp/order-updates')}?token=wrong"
    fake.webhooks.attempts = 1

    fake.call("sale.order", "action_cancel", [sale_order_id], context={"disable_cancel_warning": True})
    await fake.webhooks.join()

    (delivery,) = fake.webhooks.deliveries
    assert (delivery.delivered, delivery.status) == (False, 401)
    assert (await Order.get(id=order["id"])).status == "pending"
    assert not await WorkflowRunRecord.filter(workflow_name=SYNC_ORDER_FROM_ERP).exists()
