"""Completion with every ERP check on: restriction, stock and the fresh price re-check, one call each."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest

from core.api.store.carts import CompleteCartResponse
from core.models import Cart, Order
from core.schemas.carts import CartResponse
from tests.api.store.carts_support import checked, complete, create_cart, error_of, initiate_payment
from tests.plugins.erp.conftest import ErpStore


async def ready_cart(client: Any, erp_store: ErpStore, custom: Sequence[tuple[str, int]] = ()) -> dict[str, Any]:
    """A cart with a standard shirt S and two mugs, the ``custom`` lines, and a payment session."""
    items = [{"variant_id": erp_store.shirt_s, "quantity": 1}, {"variant_id": erp_store.mug, "quantity": 2}]
    cart = await create_cart(client, erp_store.store, items=items)
    for variant_id, quantity in custom:
        resp = await client.post(
            f"/store/carts/{cart['id']}/custom-line-items",
            json={"variant_id": variant_id, "quantity": quantity},
            headers=erp_store.store.headers(),
        )
        cart = (await checked(resp, CartResponse))["cart"]
    await initiate_payment(client, erp_store.store, cart["id"])
    return cart


async def test_completion_asks_the_erp_once_per_question(client: Any, erp_store: ErpStore) -> None:
    cart = await ready_cart(client, erp_store, custom=[(erp_store.shirt_m, 10)])
    erp_store.fake.calls.clear()
    erp_store.fake.log.clear()
    body = await checked(await complete(client, erp_store.store, cart["id"]), CompleteCartResponse)
    assert body["order"]["total"] == 9.0 + 2 * 4.5 + 10 * 10.0
    assert dict(erp_store.fake.calls) == {"check_purchase": 1, "get_stock": 1, "get_prices": 1}
    # fresh prices (not from the cache) for every ERP-priced line, in one call
    (requests, currency, _customer) = next(args for op, args in erp_store.fake.log if op == "get_prices")
    assert [(r.variant_external_id, r.quantity) for r in requests] == [("V1", 1), ("V3", 2), ("V2", 10)]
    assert currency == "eur"


async def test_a_changed_price_refuses_completion_until_the_line_is_updated(client: Any, erp_store: ErpStore) -> None:
    cart = await ready_cart(client, erp_store, custom=[(erp_store.shirt_m, 10)])
    erp_store.fake.prices["V2"] = [(1, Decimal("11.50")), (10, Decimal("9.75"))]
    body = await error_of(await complete(client, erp_store.store, cart["id"]), 400)
    assert body == {
        "type": "not_allowed",
        "message": "The price of Shirt (M) changed from 10.00 to 9.75 EUR. Update the line item "
        "(a quantity update re-prices it) or remove it, then complete the cart again",
        "code": "price_changed",
    }
    assert await Order.filter(cart_id=cart["id"]).count() == 0
    # the storefront updates the line (same quantity): the fresh price replaced the cached one
    line = next(i for i in cart["items"] if i["is_custom_price"])
    resp = await client.post(
        f"/store/carts/{cart['id']}/line-items/{line['id']}", json={"quantity": 10}, headers=erp_store.store.headers()
    )
    updated = next(i for i in (await checked(resp, CartResponse))["cart"]["items"] if i["id"] == line["id"])
    assert (updated["unit_price"], updated["is_custom_price"]) == (9.75, True)
    await initiate_payment(client, erp_store.store, cart["id"])
    body = await checked(await complete(client, erp_store.store, cart["id"]), CompleteCartResponse)
    assert body["order"]["total"] == 9.0 + 2 * 4.5 + 97.5


async def test_every_changed_line_is_named(client: Any, erp_store: ErpStore) -> None:
    cart = await ready_cart(client, erp_store)
    erp_store.fake.prices["V1"] = [(1, Decimal("9.125"))]
    erp_store.fake.prices["V3"] = [(1, Decimal("5"))]
    body = await error_of(await complete(client, erp_store.store, cart["id"]), 400)
    assert body["message"].startswith(
        "The price of Shirt (S) changed from 9.00 to 9.125 EUR; "
        "The price of Mug (Default) changed from 4.50 to 5.00 EUR."
    )


async def test_a_custom_line_the_erp_no_longer_prices_refuses_completion(client: Any, erp_store: ErpStore) -> None:
    cart = await ready_cart(client, erp_store, custom=[(erp_store.shirt_m, 2)])
    del erp_store.fake.prices["V2"]
    body = await error_of(await complete(client, erp_store.store, cart["id"]), 400)
    assert body["code"] == "price_changed"
    assert body["message"].startswith("FakeERP no longer gives a price for Shirt (M).")


async def test_a_standard_line_the_erp_no_longer_prices_completes(client: Any, erp_store: ErpStore) -> None:
    cart = await ready_cart(client, erp_store)
    del erp_store.fake.prices["V1"]
    assert (await complete(client, erp_store.store, cart["id"])).status == 200


@pytest.mark.parametrize("erp_options", [{"prices_on_quantity_update": False}])
async def test_standard_lines_are_not_rechecked_when_quantity_updates_use_database_prices(
    client: Any, erp_store: ErpStore
) -> None:
    cart = await ready_cart(client, erp_store, custom=[(erp_store.shirt_m, 1)])
    erp_store.fake.log.clear()
    assert (await complete(client, erp_store.store, cart["id"])).status == 200
    (requests, _, _) = next(args for op, args in erp_store.fake.log if op == "get_prices")
    assert [r.variant_external_id for r in requests] == ["V2"]


@pytest.mark.parametrize("erp_options", [{"recheck_prices_at_completion": False}])
async def test_the_recheck_can_be_turned_off(client: Any, erp_store: ErpStore) -> None:
    cart = await ready_cart(client, erp_store)
    erp_store.fake.prices["V1"] = [(1, Decimal("99"))]
    erp_store.fake.calls.clear()
    assert (await complete(client, erp_store.store, cart["id"])).status == 200
    assert erp_store.fake.calls["get_prices"] == 0


async def test_completion_with_the_erp_down_is_503_and_can_be_retried(client: Any, erp_store: ErpStore) -> None:
    cart = await ready_cart(client, erp_store)
    erp_store.fake.down = True
    body = await error_of(await complete(client, erp_store.store, cart["id"]), 503)
    assert body["type"] == "unexpected_state" and "FakeERP could not be reached" in body["message"]
    stored = await Cart.get(id=cart["id"])
    assert stored.completed_at is None and stored.completing_until is None
    assert await Order.filter(cart_id=cart["id"]).count() == 0
    erp_store.fake.down = False
    assert (await complete(client, erp_store.store, cart["id"])).status == 200


@pytest.mark.parametrize("erp_options", [{"timeout_seconds": 0.05}])
async def test_completion_with_a_slow_erp_is_503(client: Any, erp_store: ErpStore) -> None:
    cart = await ready_cart(client, erp_store)
    erp_store.fake.delay = 0.5
    body = await error_of(await complete(client, erp_store.store, cart["id"]), 503)
    # the three calls run together; the restriction's failure is reported first
    assert body["message"] == "FakeERP did not answer within 0.05 s (check_purchase); try again later"
    assert await Order.filter(cart_id=cart["id"]).count() == 0


async def test_a_malformed_price_answer_at_completion_is_503(client: Any, erp_store: ErpStore) -> None:
    cart = await ready_cart(client, erp_store)
    erp_store.fake.malformed["get_prices"] = "garbage"
    body = await error_of(await complete(client, erp_store.store, cart["id"]), 503)
    assert body["message"] == "FakeERP answered get_prices with malformed data: expected a list of PriceQuote, got str"
    assert await Order.filter(cart_id=cart["id"]).count() == 0
