"""ERP stock on add-to-cart (counting what the cart holds) and at completion.

The fake ERP has 100 of V1 and V2 and 3 of V3 (the mug, which the store also tracks: 3 in stock).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from core.models import LineItem, Order, ProductVariant
from core.schemas.carts import CartResponse
from erpcommerce_erp.contract import StockLevel
from tests.api.store.carts_support import add_item, checked, complete, create_cart, error_of, initiate_payment
from tests.plugins.erp.conftest import ErpStore
from tests.plugins.erp.fake_erp import FakeErp

INSUFFICIENT = {
    "type": "not_allowed",
    "message": "Some variant does not have the required inventory",
    "code": "insufficient_inventory",
}


@pytest.fixture
def erp_options() -> dict[str, object]:
    """Stock alone (prices and restriction have their own tests)."""
    return {"prices_on_line_items": False, "restrict_purchases": False, "recheck_prices_at_completion": False}


def asked_stock(fake: FakeErp) -> list[list[str]]:
    """Per get_stock call: the variant external ids asked about."""
    return [list(args) for operation, args in fake.log if operation == "get_stock"]


def set_stock(fake: FakeErp, variant: str, quantity: int, **flags: bool) -> None:
    fake.stock[variant] = StockLevel(variant_external_id=variant, qty_available=Decimal(quantity), **flags)


# -- on add --------------------------------------------------------------------------------------------


async def test_adding_beyond_the_erp_stock_is_refused(client: Any, erp_store: ErpStore) -> None:
    set_stock(erp_store.fake, "V1", 2)
    cart = await create_cart(client, erp_store.store)
    body = await error_of(await add_item(client, erp_store.store, cart["id"], erp_store.shirt_s, 3), 400)
    assert body == INSUFFICIENT
    assert await LineItem.filter(cart_id=cart["id"]).count() == 0


async def test_what_the_cart_holds_counts(client: Any, erp_store: ErpStore) -> None:
    set_stock(erp_store.fake, "V1", 5)
    cart = await create_cart(client, erp_store.store)
    await checked(await add_item(client, erp_store.store, cart["id"], erp_store.shirt_s, 3), CartResponse)
    resp = await add_item(client, erp_store.store, cart["id"], erp_store.shirt_s, 3)
    assert await error_of(resp, 400) == INSUFFICIENT
    resp = await add_item(client, erp_store.store, cart["id"], erp_store.shirt_s, 2)
    assert (await checked(resp, CartResponse))["cart"]["items"][0]["quantity"] == 5


async def test_a_custom_line_and_a_standard_line_share_the_stock(client: Any, erp_store: ErpStore) -> None:
    set_stock(erp_store.fake, "V1", 5)
    cart = await create_cart(client, erp_store.store, items=[{"variant_id": erp_store.shirt_s, "quantity": 3}])
    resp = await client.post(
        f"/store/carts/{cart['id']}/custom-line-items",
        json={"variant_id": erp_store.shirt_s, "quantity": 3},
        headers=erp_store.store.headers(),
    )
    assert await error_of(resp, 400) == INSUFFICIENT


async def test_a_quantity_update_is_checked_against_the_erp_stock(client: Any, erp_store: ErpStore) -> None:
    set_stock(erp_store.fake, "V2", 4)
    cart = await create_cart(client, erp_store.store, items=[{"variant_id": erp_store.shirt_m, "quantity": 1}])
    url = f"/store/carts/{cart['id']}/line-items/{cart['items'][0]['id']}"
    assert await error_of(await client.post(url, json={"quantity": 5}, headers=erp_store.store.headers()), 400) == (
        INSUFFICIENT
    )
    await checked(await client.post(url, json={"quantity": 4}, headers=erp_store.store.headers()), CartResponse)
    assert asked_stock(erp_store.fake)[-1] == ["V2"]


async def test_out_of_stock_orders_allowed_by_the_erp_pass(client: Any, erp_store: ErpStore) -> None:
    set_stock(erp_store.fake, "V1", 0, allow_out_of_stock_order=True)
    cart = await create_cart(client, erp_store.store)
    await checked(await add_item(client, erp_store.store, cart["id"], erp_store.shirt_s, 50), CartResponse)


async def test_variants_whose_stock_the_erp_does_not_manage_pass(client: Any, erp_store: ErpStore) -> None:
    set_stock(erp_store.fake, "V1", -4, manage_inventory=False)
    cart = await create_cart(client, erp_store.store)
    await checked(await add_item(client, erp_store.store, cart["id"], erp_store.shirt_s, 50), CartResponse)


async def test_variants_unknown_to_the_erp_are_left_to_the_store_stock(client: Any, erp_store: ErpStore) -> None:
    del erp_store.fake.stock["V1"], erp_store.fake.stock["V3"]
    cart = await create_cart(client, erp_store.store)
    # the shirt is not tracked by the store: allowed
    await checked(await add_item(client, erp_store.store, cart["id"], erp_store.shirt_s, 500), CartResponse)
    # the mug is (3 in stock): core's own check still refuses
    assert await error_of(await add_item(client, erp_store.store, cart["id"], erp_store.mug, 4), 400) == INSUFFICIENT


async def test_the_store_stock_still_counts_when_the_erp_has_more(client: Any, erp_store: ErpStore) -> None:
    set_stock(erp_store.fake, "V3", 100)
    cart = await create_cart(client, erp_store.store)
    assert await error_of(await add_item(client, erp_store.store, cart["id"], erp_store.mug, 4), 400) == INSUFFICIENT


async def test_several_items_are_checked_in_one_call(client: Any, erp_store: ErpStore) -> None:
    items = [
        {"variant_id": erp_store.shirt_s, "quantity": 1},
        {"variant_id": erp_store.shirt_m, "quantity": 2},
        {"variant_id": erp_store.mug, "quantity": 3},
    ]
    await create_cart(client, erp_store.store, items=items)
    assert asked_stock(erp_store.fake) == [["V1", "V2", "V3"]]


@pytest.mark.parametrize("erp_options", [{"check_inventory": False, "restrict_purchases": False}])
async def test_the_stock_check_can_be_turned_off(client: Any, erp_store: ErpStore) -> None:
    set_stock(erp_store.fake, "V1", 0)
    cart = await create_cart(client, erp_store.store)
    await checked(await add_item(client, erp_store.store, cart["id"], erp_store.shirt_s, 2), CartResponse)
    assert erp_store.fake.calls["get_stock"] == 0


# -- the ERP failing -----------------------------------------------------------------------------------


async def test_erp_down_is_503_and_writes_nothing(client: Any, erp_store: ErpStore) -> None:
    cart = await create_cart(client, erp_store.store)
    erp_store.fake.down = True
    body = await error_of(await add_item(client, erp_store.store, cart["id"], erp_store.shirt_s), 503)
    assert body["message"] == "FakeERP could not be reached (get_stock): connect to FakeERP refused"
    assert await LineItem.filter(cart_id=cart["id"]).count() == 0


@pytest.mark.parametrize("erp_options", [{"timeout_seconds": 0.05, "restrict_purchases": False}])
async def test_erp_too_slow_is_503(client: Any, erp_store: ErpStore) -> None:
    cart = await create_cart(client, erp_store.store)
    erp_store.fake.delay = 0.5
    body = await error_of(await add_item(client, erp_store.store, cart["id"], erp_store.shirt_s), 503)
    # the stock check (validate-add-to-cart) runs before pricing: it times out first
    assert body["message"] == "FakeERP did not answer within 0.05 s (get_stock); try again later"


@pytest.mark.parametrize(
    ("answer", "detail"),
    [
        (None, "expected a list of StockLevel, got NoneType"),
        ([StockLevel(variant_external_id="V7", qty_available=Decimal(1))], "stock of V7, which was not asked for"),
    ],
)
async def test_malformed_erp_answers_are_503(client: Any, erp_store: ErpStore, answer: Any, detail: str) -> None:
    cart = await create_cart(client, erp_store.store)
    erp_store.fake.malformed["get_stock"] = answer
    body = await error_of(await add_item(client, erp_store.store, cart["id"], erp_store.shirt_s), 503)
    assert body["message"] == f"FakeERP answered get_stock with malformed data: {detail}"


# -- at completion ---------------------------------------------------------------------------------


async def test_completion_is_refused_when_the_erp_stock_fell(client: Any, erp_store: ErpStore) -> None:
    items = [
        {"variant_id": erp_store.shirt_s, "quantity": 2},
        {"variant_id": erp_store.shirt_m, "quantity": 1},
    ]
    cart = await create_cart(client, erp_store.store, items=items)
    await initiate_payment(client, erp_store.store, cart["id"])
    set_stock(erp_store.fake, "V1", 1)
    erp_store.fake.log.clear()
    assert await error_of(await complete(client, erp_store.store, cart["id"]), 400) == INSUFFICIENT
    assert asked_stock(erp_store.fake) == [["V1", "V2"]]
    assert await Order.filter(cart_id=cart["id"]).count() == 0
    set_stock(erp_store.fake, "V1", 2)
    assert (await complete(client, erp_store.store, cart["id"])).status == 200


async def test_completion_counts_every_line_of_a_variant(client: Any, erp_store: ErpStore) -> None:
    cart = await create_cart(client, erp_store.store, items=[{"variant_id": erp_store.shirt_s, "quantity": 2}])
    resp = await client.post(
        f"/store/carts/{cart['id']}/custom-line-items",
        json={"variant_id": erp_store.shirt_s, "quantity": 2},
        headers=erp_store.store.headers(),
    )
    await checked(resp, CartResponse)
    await initiate_payment(client, erp_store.store, cart["id"])
    set_stock(erp_store.fake, "V1", 3)
    assert await error_of(await complete(client, erp_store.store, cart["id"]), 400) == INSUFFICIENT


async def test_completion_with_the_erp_down_is_503_and_places_no_order(client: Any, erp_store: ErpStore) -> None:
    cart = await create_cart(client, erp_store.store, items=[{"variant_id": erp_store.mug, "quantity": 1}])
    await initiate_payment(client, erp_store.store, cart["id"])
    erp_store.fake.fail("get_stock", ConnectionResetError("reset by peer"))
    body = await error_of(await complete(client, erp_store.store, cart["id"]), 503)
    assert body["message"] == "FakeERP could not be reached (get_stock): reset by peer"
    assert await Order.filter(cart_id=cart["id"]).count() == 0
    assert (await ProductVariant.get(id=erp_store.mug)).inventory_quantity == 3
    assert (await complete(client, erp_store.store, cart["id"])).status == 200
