"""Orders to Odoo exactly once, their cancellation, and Odoo's order webhooks."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from core.errors import ErpUnavailable, InvalidData, PermanentError
from erpcommerce_erp.contract import ErpAddress, ErpCustomer, ErpOrder, ErpOrderLine
from erpcommerce_odoo.client import OdooClient
from erpcommerce_odoo.settings import OdooSettings
from tests.plugins.odoo.odoo_catalog import load_catalog
from tests.plugins.odoo.odoo_stub import DATABASE, PASSWORD, Fault, OdooStub

ServerFactory = Callable[..., Awaitable[TestServer]]


class SaleOrders:
    """sale.order create / action_confirm / action_cancel / unlink over the catalogue's table."""

    def __init__(self, stub: OdooStub, tables: dict[str, list[dict[str, Any]]]) -> None:
        self.rows = tables["sale.order"]
        self.partners = tables["res.partner"]
        stub.on("sale.order", "create", self.create)
        stub.on("sale.order", "action_confirm", self.confirm)
        stub.on("sale.order", "action_cancel", self.cancel)
        stub.on("sale.order", "unlink", self.unlink)
        stub.on("res.partner", "create", self.create_partner)

    def create(self, args: list[Any], kwargs: dict[str, Any]) -> int:
        order_id = 100 + len(self.rows)
        self.rows.append({"id": order_id, "name": f"S{order_id:05d}", "state": "draft", **args[0]})
        return order_id

    def _row(self, ids: list[int]) -> dict[str, Any]:
        return next(r for r in self.rows if r["id"] == ids[0])

    def confirm(self, args: list[Any], kwargs: dict[str, Any]) -> bool:
        self._row(args[0])["state"] = "sale"
        return True

    def cancel(self, args: list[Any], kwargs: dict[str, Any]) -> bool:
        self._row(args[0])["state"] = "cancel"
        return True

    def unlink(self, args: list[Any], kwargs: dict[str, Any]) -> bool:
        self.rows.remove(self._row(args[0]))
        return True

    def create_partner(self, args: list[Any], kwargs: dict[str, Any]) -> int:
        partner_id = 200 + len(self.partners)
        self.partners.append({"id": partner_id, "commercial_partner_id": [partner_id, args[0]["name"]], **args[0]})
        return partner_id


@pytest.fixture
def stub() -> OdooStub:
    return OdooStub()


@pytest.fixture
def tables(stub: OdooStub) -> dict[str, list[dict[str, Any]]]:
    return load_catalog(stub)


@pytest.fixture
def sale_orders(stub: OdooStub, tables: dict[str, Any]) -> SaleOrders:
    return SaleOrders(stub, tables)


@pytest.fixture
async def client(stub: OdooStub, sale_orders: SaleOrders, aiohttp_server: ServerFactory) -> AsyncIterator[OdooClient]:
    server = await aiohttp_server(stub.app())
    odoo = OdooClient(OdooSettings(url=str(server.make_url("")), database=DATABASE, password=PASSWORD))
    await odoo.start()
    yield odoo
    await odoo.close()


def order(*, email: str = "new@shop.test", company: str | None = "Initech", sku_only: bool = False) -> ErpOrder:
    return ErpOrder(
        id="order_01",
        display_id=7,
        email=email,
        currency_code="eur",
        customer=ErpCustomer(email=email, company_name=company, first_name="Ann", last_name="Lee"),
        items=[
            ErpOrderLine(line_id="li_1", variant_external_id=None if sku_only else "11", sku="DESK-S-B",
                         title="Desk", quantity=2, unit_price=Decimal("95.50")),
            ErpOrderLine(line_id="li_2", sku="HAM", title="Hammer", quantity=1, unit_price=Decimal("19.90")),
        ],
        billing_address=ErpAddress(address_1="1 Main St", city="Springfield", postal_code="12345"),
        total=Decimal("210.90"),
        created_at=datetime(2025, 6, 1, tzinfo=UTC),
    )


async def test_create_order_looks_up_then_creates_and_confirms(stub: OdooStub, client: OdooClient,
                                                              sale_orders: SaleOrders) -> None:
    ref = await client.create_order(order(), "key-1")
    assert (ref.external_id, ref.name, ref.status) == ("100", "S00100", "sale")
    methods = [(c.model, c.model_method) for c in stub.executes() if c.model in ("sale.order",)]
    assert methods[:2] == [("sale.order", "search_read"), ("sale.order", "create")]
    assert stub.executes("sale.order", "search_read")[0].positional[0] == [
        ["client_order_ref", "=", "order_01"], ["state", "!=", "cancel"]
    ]
    vals = stub.executes("sale.order", "create")[0].positional[0]
    assert vals["client_order_ref"] == "order_01"
    assert vals["order_line"] == [
        [0, 0, {"product_id": 11, "product_uom_qty": 2, "price_unit": 95.5}],
        [0, 0, {"product_id": 21, "product_uom_qty": 1, "price_unit": 19.9}],
    ]
    # A new customer: the company, then the contact under it.
    company, contact = sale_orders.partners[-2:]
    assert company["is_company"] and company["name"] == "Initech"
    assert contact["parent_id"] == company["id"] and contact["email"] == "new@shop.test"
    assert vals["partner_id"] == contact["id"] and contact["city"] == "Springfield"


async def test_create_order_is_idempotent_even_when_the_answer_was_lost(stub: OdooStub, client: OdooClient,
                                                                       sale_orders: SaleOrders) -> None:
    stub.fail_next(Fault("lost", model="sale.order", method="create"))
    with pytest.raises(ErpUnavailable):
        await client.create_order(order(), "key-1")
    assert len(sale_orders.rows) == 1  # created in Odoo, answer lost
    ref = await client.create_order(order(), "key-1")
    assert (ref.external_id, ref.status) == ("100", "sale")
    assert len(stub.executes("sale.order", "create")) == 1
    assert len(sale_orders.rows) == 1
    assert (await client.create_order(order(), "key-1")).external_id == "100"


async def test_a_draft_left_by_a_failed_attempt_is_confirmed_not_duplicated(
    stub: OdooStub, client: OdooClient, sale_orders: SaleOrders
) -> None:
    stub.fail_next(Fault("http", status=503, method="action_confirm"))
    with pytest.raises(ErpUnavailable):
        await client.create_order(order(), "key-1")
    assert sale_orders.rows[0]["state"] == "draft"
    ref = await client.create_order(order(), "key-1")
    assert ref.status == "sale" and len(sale_orders.rows) == 1


async def test_existing_customers_are_found_by_email(client: OdooClient, sale_orders: SaleOrders) -> None:
    await client.create_order(order(email="jane@acme.test", company="ACME"), "key-1")
    assert sale_orders.rows[0]["partner_id"] == 51
    assert len(sale_orders.partners) == 3  # nobody created


async def test_lines_without_variant_id_go_by_sku_and_unknown_ones_fail(client: OdooClient,
                                                                      sale_orders: SaleOrders) -> None:
    await client.create_order(order(sku_only=True), "key-1")
    assert [line[2]["product_id"] for line in sale_orders.rows[0]["order_line"]] == [11, 21]
    bad = order().model_copy(update={"id": "order_02", "items": [
        ErpOrderLine(line_id="li_9", sku="NOPE", title="Ghost", quantity=1, unit_price=Decimal(1))
    ]})
    with pytest.raises(PermanentError, match="Ghost"):
        await client.create_order(bad, "key-2")


async def test_a_cancelled_order_does_not_count_and_a_new_one_is_made(client: OdooClient,
                                                                    sale_orders: SaleOrders) -> None:
    first = await client.create_order(order(), "key-1")
    await client.cancel_order(first.external_id, "key-1:cancel")
    assert sale_orders.rows[0]["state"] == "cancel"
    second = await client.create_order(order(), "key-1")
    assert second.external_id != first.external_id


async def test_cancel_passes_the_no_warning_context_and_deletes_drafts(stub: OdooStub, client: OdooClient,
                                                                      sale_orders: SaleOrders) -> None:
    sale_orders.rows.append({"id": 500, "name": "S00500", "state": "draft", "client_order_ref": "x"})
    await client.cancel_order("500", "k")
    cancel = stub.executes("sale.order", "action_cancel")[0]
    assert cancel.kwargs["context"]["disable_cancel_warning"] is True
    assert sale_orders.rows == []
    await client.cancel_order("500", "k")  # gone: nothing to do
    assert len(stub.executes("sale.order", "action_cancel")) == 1


async def test_cancelling_a_cancelled_order_does_nothing(stub: OdooStub, client: OdooClient,
                                                         sale_orders: SaleOrders) -> None:
    sale_orders.rows.append({"id": 501, "name": "S00501", "state": "cancel", "client_order_ref": "x"})
    await client.cancel_order("501", "k")
    assert stub.executes("sale.order", "action_cancel") == []


# -- the webhook ------------------------------------------------------------------------------------


def test_odoo_webhook_becomes_an_order_update(client: OdooClient) -> None:
    body = json.dumps({"_model": "sale.order", "_id": 42, "id": 42, "state": "sale", "name": "S00042",
                       "delivery_status": "partial", "locked": False}).encode()
    update = client.parse_order_update(body, event_id=hashlib.sha256(body).hexdigest())
    assert (update.external_id, update.status, update.fulfillment_status) == ("42", "sale", "partial")
    assert update.event_id == hashlib.sha256(body).hexdigest()
    assert update.metadata == {"name": "S00042", "delivery_status": "partial"}
    assert client.order_status_map[update.status] == "pending"
    assert client.fulfillment_status_map["partial"] == "partially_shipped"
    assert client.webhook_mode == "token"


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1]", b'{"_model": "res.partner", "_id": 1, "state": "x"}',
     b'{"_model": "sale.order", "state": "sale"}', b'{"_model": "sale.order", "_id": 5}',
     b'{"_model": "sale.order", "_id": "5", "state": "sale"}',
     b"[" * 50_000],  # nested deeper than json can read (found by scripts/drill_webhook.py: it was a 500)
)
def test_anything_else_is_invalid(client: OdooClient, body: bytes) -> None:
    with pytest.raises(InvalidData):
        client.parse_order_update(body, event_id="e")
