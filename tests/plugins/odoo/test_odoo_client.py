"""The Odoo client against a scripted stub: what it asks Odoo (batched, paged) and what it answers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from core.errors import ConfigError
from erpcommerce_erp.contract import ErpCustomer, PriceRequest
from erpcommerce_odoo.client import OdooClient
from erpcommerce_odoo.cursors import Cursor
from erpcommerce_odoo.settings import OdooSettings
from tests.plugins.odoo.odoo_catalog import load_catalog
from tests.plugins.odoo.odoo_stub import DATABASE, PASSWORD, OdooStub

ServerFactory = Callable[..., Awaitable[TestServer]]
JANE = ErpCustomer(email="jane@acme.test", company_name="ACME")
BOB = ErpCustomer(email="bob@example.test")


@pytest.fixture
def stub() -> OdooStub:
    return OdooStub()


@pytest.fixture
def tables(stub: OdooStub) -> dict[str, list[dict[str, Any]]]:
    return load_catalog(stub)


@pytest.fixture
async def make_client(
    stub: OdooStub, tables: dict[str, Any], aiohttp_server: ServerFactory
) -> AsyncIterator[Callable[..., Awaitable[OdooClient]]]:
    opened: list[OdooClient] = []

    async def make(**overrides: Any) -> OdooClient:
        server = await aiohttp_server(stub.app())
        client = OdooClient(OdooSettings(url=str(server.make_url("")), database=DATABASE, password=PASSWORD,
                                         **overrides))
        await client.start()
        opened.append(client)
        return client

    yield make
    for client in opened:
        await client.close()


# -- product stream -------------------------------------------------------------------------------


async def test_full_product_sync_pages_with_one_call_per_model(stub: OdooStub, make_client: Any) -> None:
    client = await make_client()
    first = await client.list_products(None, None, 2)
    assert [p.external_id for p in first.items] == ["10", "20"]
    assert first.next_page is not None
    assert len(stub.executes("product.template", "search_read")) == 1
    # The newest variant (the variants' key for the next delta), then the page's variants.
    newest_variant, page_variants = stub.executes("product.product", "search_read")
    assert newest_variant.kwargs["order"] == "write_date desc, id desc" and newest_variant.kwargs["limit"] == 1
    assert page_variants.kwargs["order"] == "id asc"
    assert len(stub.executes("product.template.attribute.value", "search_read")) == 1
    template_call = stub.executes("product.template", "search_read")[0]
    assert template_call.kwargs["order"] == "write_date asc, id asc"
    assert template_call.kwargs["context"] == {"active_test": False}

    before = len(stub.executes())
    second = await client.list_products(None, first.next_page, 2)
    assert [p.external_id for p in second.items] == ["30"]
    assert second.next_page is None
    assert Cursor.decode(second.cursor).keys == {"templates": ("2025-03-03 10:00:00", 30),
                                                 "variants": ("2025-01-01 00:00:00", 31)}
    per_page = [c.model for c in stub.executes()[before:]]
    assert per_page == ["product.template", "product.product", "product.template.attribute.value"]


async def test_products_map_templates_variants_and_options(make_client: Any) -> None:
    client = await make_client()
    desk, hammer = (await client.list_products(None, None, 2)).items
    assert desk.title == "Desk" and desk.active
    assert [(o.title, o.values) for o in desk.options] == [("Size", ["S", "M"]), ("Color", ["Black"])]
    s_black, m_black, s_white = desk.variants
    assert (s_black.external_id, s_black.sku, s_black.title) == ("11", "DESK-S-B", "S / Black")
    assert s_black.options == {"Size": "S", "Color": "Black"}
    assert not s_white.active
    # The public pricelist: 100 list price, 90 from 10 units.
    assert [(p.min_quantity, p.max_quantity, p.amount) for p in s_black.prices or []] == [
        (None, 9, Decimal("100.00")), (10, None, Decimal("90.00"))
    ]
    assert m_black.prices and m_black.prices[0].currency_code == "eur"
    assert hammer.options == [] and hammer.variants[0].title == "Hammer"
    assert hammer.variants[0].prices and hammer.variants[0].prices[0].amount == Decimal("19.90")


async def test_archived_templates_come_as_archived(make_client: Any) -> None:
    client = await make_client()
    page = await client.list_products(None, None, 10)
    old = next(p for p in page.items if p.external_id == "30")
    assert not old.active and not old.variants[0].active


async def test_delta_reads_changed_templates_then_templates_of_changed_variants(
    stub: OdooStub, tables: dict[str, Any], make_client: Any
) -> None:
    client = await make_client()
    tables["product.product"][3]["write_date"] = "2025-05-01 00:00:00"  # Hammer's variant only
    first = await client.list_products("2025-03-02 12:00:00", None, 10)
    assert [p.external_id for p in first.items] == ["30"]
    assert stub.executes("product.template", "search_read")[0].positional[0] == [
        ["write_date", ">=", "2025-03-02 12:00:00"]
    ]
    assert first.next_page is not None
    second = await client.list_products("2025-03-02 12:00:00", first.next_page, 10)
    assert [p.external_id for p in second.items] == ["20"]
    assert second.next_page is None
    # An old cursor (a bare stamp) read inclusively; the next one holds the last key of each phase.
    assert Cursor.decode(second.cursor).keys == {"templates": ("2025-03-03 10:00:00", 30),
                                                 "variants": ("2025-05-01 00:00:00", 21)}


async def test_count_products_counts_changed_templates(make_client: Any) -> None:
    client = await make_client()
    assert await client.count_products(None) == 3
    assert await client.count_products("2025-03-02 00:00:00") == 2


# -- price and stock streams ------------------------------------------------------------------------


async def test_price_stream_reprices_the_variants_a_changed_rule_reaches(
    tables: dict[str, Any], make_client: Any
) -> None:
    client = await make_client()
    full = await client.list_price_changes(None, None, 100)
    assert {p.variant_external_id for p in full.items} == {"11", "12", "21"}  # active variants
    assert full.cursor is not None
    # The cursor is the last rule's (write_date, id): nothing is read again.
    again = await client.list_price_changes(full.cursor, None, 100)
    assert again.items == []

    tables["product.pricelist.item"][0].update(fixed_price=80.0, write_date="2099-01-01 00:00:00")
    delta = await client.list_price_changes(full.cursor, None, 100)
    assert {p.variant_external_id for p in delta.items} == {"11", "12"}  # the Desk's
    assert delta.items[0].prices[-1].amount == Decimal("80.00")
    assert delta.cursor is not None and "2099-01-01 00:00:00" in delta.cursor


async def test_price_stream_sees_a_rule_whose_date_window_opened(tables: dict[str, Any], make_client: Any) -> None:
    client = await make_client()
    tables["product.pricelist.item"][0]["write_date"] = "2024-01-01 00:00:00"
    cursor = '{"written": "2025-01-01 00:00:00", "checked": "2025-01-01 00:00:00"}'
    assert (await client.list_price_changes(cursor, None, 100)).items == []
    tables["product.pricelist.item"][0]["date_start"] = "2025-02-01 00:00:00"
    changed = await client.list_price_changes(cursor, None, 100)
    assert {p.variant_external_id for p in changed.items} == {"11", "12"}


async def test_stock_stream_follows_quants(stub: OdooStub, make_client: Any) -> None:
    client = await make_client()
    delta = await client.list_stock_changes("2025-04-02 00:00:00", None, 100)
    assert [s.variant_external_id for s in delta.items] == ["11", "21"]
    assert Cursor.decode(delta.cursor).keys == {"quants": ("2025-04-03 08:00:00", 3)}
    assert len(stub.executes("product.product", "search_read")) == 1


# -- cart calls -----------------------------------------------------------------------------------


async def test_prices_use_the_companys_pricelist_in_one_call_once_cached(stub: OdooStub, make_client: Any) -> None:
    client = await make_client()
    requests = [PriceRequest(variant_external_id="11", quantity=1), PriceRequest(variant_external_id="11", quantity=10),
                PriceRequest(variant_external_id="21", quantity=3), PriceRequest(variant_external_id="999", quantity=1)]
    quotes = await client.get_prices(requests, "EUR", JANE)
    assert [(q.variant_external_id, q.quantity, q.unit_price) for q in quotes] == [
        ("11", 1, Decimal("90.00")), ("11", 10, Decimal("81.00")), ("21", 3, Decimal("17.91"))
    ]
    assert quotes[0].compare_at_unit_price == Decimal("100")
    before = len(stub.executes())
    await client.get_prices(requests, "eur", JANE)
    assert [c.model for c in stub.executes()[before:]] == ["product.product"]


async def test_guests_and_customers_without_pricelist_get_the_public_one(make_client: Any) -> None:
    client = await make_client()
    for customer in (None, BOB, ErpCustomer(email="stranger@example.test")):
        quotes = await client.get_prices([PriceRequest(variant_external_id="11", quantity=10)], "eur", customer)
        assert quotes[0].unit_price == Decimal("90.00")


async def test_no_quotes_in_another_currency_than_the_pricelists(make_client: Any) -> None:
    client = await make_client()
    assert await client.get_prices([PriceRequest(variant_external_id="11", quantity=1)], "usd", JANE) == []


async def test_a_missing_public_pricelist_is_a_configuration_error(make_client: Any) -> None:
    client = await make_client(public_pricelist_id=77)
    with pytest.raises(ConfigError, match="public_pricelist_id"):
        await client.get_prices([PriceRequest(variant_external_id="11", quantity=1)], "eur", None)


async def test_purchase_restriction_by_commercial_partner(stub: OdooStub, make_client: Any) -> None:
    client = await make_client()
    jane = {d.product_external_id: d for d in await client.check_purchase(["10", "20", "999"], JANE)}
    assert jane["10"].allowed and jane["20"].allowed and "999" not in jane
    assert jane["10"].company_name == "ACME"
    bob = {d.product_external_id: d for d in await client.check_purchase(["10", "20"], BOB)}
    assert not bob["10"].allowed and bob["10"].reason == "sold only to approved companies"
    assert bob["20"].allowed
    guest = {d.product_external_id: d for d in await client.check_purchase(["10"], None)}
    assert not guest["10"].allowed
    assert len(stub.executes("product.template", "search_read")) == 3  # one per question


async def test_a_missing_restriction_field_is_a_configuration_error(make_client: Any) -> None:
    client = await make_client(allowed_partners_field="x_buyers")
    with pytest.raises(ConfigError, match="allowed_partners_field"):
        await client.check_purchase(["10"], JANE)


async def test_stock_in_one_call_with_tracking_and_backorders(stub: OdooStub, make_client: Any) -> None:
    client = await make_client()
    levels = {s.variant_external_id: s for s in await client.get_stock(["11", "21", "999"])}
    assert levels["11"].qty_available == Decimal(5) and levels["11"].manage_inventory
    assert not levels["21"].manage_inventory and levels["21"].allow_out_of_stock_order
    assert len(stub.executes("product.product", "search_read")) == 1
    client_qty = await make_client(stock_field="qty_available")
    assert (await client_qty.get_stock(["11"]))[0].qty_available == Decimal(7)
