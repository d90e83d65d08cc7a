"""The cart against the fake Odoo over HTTP: company prices and quantity breaks, restriction, live stock.

The demo's companies (see erpcommerce_odoo.fake_odoo.seed): Deco Addict buys on "Deco Addict
Wholesale" (10 % off, 20 % from 10 units, the lamp at 29), Azure Interior on "Azure Contract"
(furniture 5 % off rounded to x.99, the 140 cm desk at 399, an expired 120 cm desk rule), Gemini
Furniture on "Gemini Quantity Breaks" (chairs 110 / 100 from 5 / 90 from 20, else the public price
less 3 %); guests and unknown customers on the public pricelist (list prices). The Executive Desk
is restricted to Deco Addict.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from core.config import Settings
from core.models import LineItem
from core.schemas.carts import CartResponse
from erpcommerce_odoo.fake_odoo import FakeOdoo
from tests.api.store.carts_support import add_item, checked, create_cart, error_of
from tests.plugins.odoo.e2e_support import (  # noqa: F401 - fixtures
    OdooStore,
    erp_options,
    expected_price,
    fake,
    money,
    odoo_options,
    odoo_server,
    odoo_store,
    plugins,
    settings,
    signed_in,
)

PUBLIC = 1
INSUFFICIENT = {
    "type": "not_allowed",
    "message": "Some variant does not have the required inventory",
    "code": "insufficient_inventory",
}
DECO = ("douglas.fletcher@deco-addict.example", "Deco Addict")
AZURE = ("brandon.freeman@azure-interior.example", "Azure Interior")
GEMINI = ("edwin.hansen@gemini-furniture.example", "Gemini Furniture")


def pricelist_of(fake: FakeOdoo, email: str) -> int:
    """The pricelist Odoo sells to the partner with ``email`` on (its commercial partner's)."""
    (partner,) = fake.call("res.partner", "search_read", [("email", "=", email)], ["property_product_pricelist"])
    return int(partner["property_product_pricelist"][0])


async def cart_for(client: TestClient, odoo_store: OdooStore, token: str | None) -> dict[str, Any]:
    return await create_cart(client, odoo_store.store, token=token)


async def add(client: TestClient, odoo_store: OdooStore, cart: dict[str, Any], code: str, quantity: int = 1,
              token: str | None = None) -> Any:  # fmt: skip
    return await add_item(client, odoo_store.store, cart["id"], await odoo_store.variant(code), quantity, token)


def unit_price(cart: dict[str, Any], variant_id: str) -> Decimal:
    (line,) = [item for item in cart["items"] if item["variant_id"] == variant_id]
    return money(line["unit_price"])


# -------------------------------------------------------------------------------------------------
# Prices per company and quantity
# -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("customer", "expected"),
    [
        (DECO, {"CHAIR-BLK": "108.00", "DESK-160": "495.00", "LAMP": "29.00"}),
        (AZURE, {"CHAIR-BLK": "113.99", "DESK-140": "399.00", "DESK-120": "427.99", "LAMP": "35.00"}),
        (GEMINI, {"CHAIR-RED": "110.00", "KBD-US": "92.15", "LAMP": "33.95"}),
        (None, {"CHAIR-RED": "130.00", "DESK-140": "500.00", "LAMP": "35.00"}),
        (("someone@example.com", "Unknown Ltd"), {"CHAIR-BLK": "120.00", "KBD-DE": "95.00"}),
    ],
    ids=["deco-addict", "azure-interior", "gemini-furniture", "guest", "unknown-to-odoo"],
)
async def test_lines_get_the_price_of_the_customers_company(
    client: TestClient, odoo_store: OdooStore, fake: FakeOdoo, settings: Settings,
    customer: tuple[str, str] | None, expected: dict[str, str],
) -> None:  # fmt: skip
    token = await signed_in(settings, *customer) if customer else None
    pricelist = pricelist_of(fake, customer[0]) if customer and customer[1] != "Unknown Ltd" else PUBLIC
    cart = await cart_for(client, odoo_store, token)
    for code in expected:
        cart = (await checked(await add(client, odoo_store, cart, code, token=token), CartResponse))["cart"]

    prices = {code: unit_price(cart, await odoo_store.variant(code)) for code in expected}
    assert prices == {code: Decimal(amount) for code, amount in expected.items()}
    # ... which is what Odoo's own pricelist engine computes
    assert prices == {code: expected_price(fake, pricelist, odoo_store.odoo_id(code), 1) for code in expected}


async def test_quantity_breaks_apply_as_the_quantity_grows(
    client: TestClient, odoo_store: OdooStore, fake: FakeOdoo, settings: Settings
) -> None:
    token = await signed_in(settings, *GEMINI)
    pricelist = pricelist_of(fake, GEMINI[0])
    chair = await odoo_store.variant("CHAIR-WHT")
    cart = await cart_for(client, odoo_store, token)
    seen = {}
    for quantity, total in ((1, 1), (4, 5), (15, 20)):  # adding to the line: 1, then 5, then 20 chairs
        resp = await add(client, odoo_store, cart, "CHAIR-WHT", quantity, token=token)
        cart = (await checked(resp, CartResponse))["cart"]
        seen[total] = unit_price(cart, chair)

    assert seen == {1: Decimal("110.00"), 5: Decimal("100.00"), 20: Decimal("90.00")}
    assert seen == {n: expected_price(fake, pricelist, odoo_store.odoo_id("CHAIR-WHT"), n) for n in seen}
    (line,) = cart["items"]
    resp = await client.post(f"/store/carts/{cart['id']}/line-items/{line['id']}", json={"quantity": 4},
                             headers=odoo_store.store.headers(token))
    assert unit_price((await checked(resp, CartResponse))["cart"], chair) == Decimal("110.00")


async def test_a_percentage_break_for_deco_addict(
    client: TestClient, odoo_store: OdooStore, settings: Settings
) -> None:
    token = await signed_in(settings, *DECO)
    cart = await cart_for(client, odoo_store, token)
    cart = (await checked(await add(client, odoo_store, cart, "KBD-US", 10, token=token), CartResponse))["cart"]
    assert unit_price(cart, await odoo_store.variant("KBD-US")) == Decimal("76.00")  # 95 less 20 %


# -------------------------------------------------------------------------------------------------
# Restriction (x_allowed_partner_ids)
# -------------------------------------------------------------------------------------------------


async def test_a_restricted_product_is_sold_to_the_listed_company_only(
    client: TestClient, odoo_store: OdooStore, settings: Settings
) -> None:
    deco = await signed_in(settings, *DECO)
    cart = await cart_for(client, odoo_store, deco)
    cart = (await checked(await add(client, odoo_store, cart, "EXEC", token=deco), CartResponse))["cart"]
    assert unit_price(cart, await odoo_store.variant("EXEC")) == Decimal("1080.00")

    azure = await signed_in(settings, *AZURE)
    cart = await cart_for(client, odoo_store, azure)
    body = await error_of(await add(client, odoo_store, cart, "EXEC", token=azure), 400)
    assert body == {
        "type": "not_allowed",
        "message": "Azure Interior may not buy Executive Desk (sold only to approved companies)",
    }
    assert await LineItem.filter(cart_id=cart["id"]).count() == 0


async def test_guests_may_not_buy_a_restricted_product(client: TestClient, odoo_store: OdooStore) -> None:
    cart = await cart_for(client, odoo_store, None)
    body = await error_of(await add(client, odoo_store, cart, "EXEC"), 400)
    assert body == {
        "type": "not_allowed",
        "message": "Guests may not buy Executive Desk "
        "(sold only to approved companies: sign in with your company account)",
    }
    assert await LineItem.filter(cart_id=cart["id"]).count() == 0


async def test_restriction_follows_odoo_live(
    client: TestClient, odoo_store: OdooStore, fake: FakeOdoo, settings: Settings
) -> None:
    azure = await signed_in(settings, *AZURE)
    (azure_partner,) = fake.call("res.partner", "search", [("name", "=", "Azure Interior")])
    fake.call("product.template", "write", [odoo_store.template_id("EXEC")],
              {"x_allowed_partner_ids": [(4, azure_partner)]})
    cart = await cart_for(client, odoo_store, azure)
    await checked(await add(client, odoo_store, cart, "EXEC", token=azure), CartResponse)


# -------------------------------------------------------------------------------------------------
# Stock (free_qty, allow_out_of_stock_order)
# -------------------------------------------------------------------------------------------------


async def test_more_than_odoos_free_quantity_is_refused(
    client: TestClient, odoo_store: OdooStore, fake: FakeOdoo
) -> None:
    # Standing Desk 140 cm: 3 free; the store synced "backorders allowed", Odoo now says no.
    fake.call("product.template", "write", [odoo_store.template_id("DESK-140")], {"allow_out_of_stock_order": False})
    cart = await cart_for(client, odoo_store, None)
    assert await error_of(await add(client, odoo_store, cart, "DESK-140", 4), 400) == INSUFFICIENT
    assert await LineItem.filter(cart_id=cart["id"]).count() == 0
    cart = (await checked(await add(client, odoo_store, cart, "DESK-140", 3), CartResponse))["cart"]
    assert await error_of(await add(client, odoo_store, cart, "DESK-140", 1), 400) == INSUFFICIENT


async def test_a_product_odoo_may_not_backorder_is_refused_when_out_of_stock(
    client: TestClient, odoo_store: OdooStore
) -> None:
    cart = await cart_for(client, odoo_store, None)
    assert await error_of(await add(client, odoo_store, cart, "ARM"), 400) == INSUFFICIENT


async def test_allow_out_of_stock_order_is_honoured(
    client: TestClient, odoo_store: OdooStore, fake: FakeOdoo
) -> None:
    (red,) = fake.call("product.product", "read", [odoo_store.odoo_id("CHAIR-RED")],
                       ["free_qty", "allow_out_of_stock_order"])
    assert (red["free_qty"], red["allow_out_of_stock_order"]) == (0, True)
    cart = await cart_for(client, odoo_store, None)
    cart = (await checked(await add(client, odoo_store, cart, "CHAIR-RED", 5), CartResponse))["cart"]
    assert cart["items"][0]["quantity"] == 5
