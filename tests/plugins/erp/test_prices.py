"""ERP prices on cart lines: custom line items, standard lines, quantity updates, batching, the cache.

Purchase restriction and stock are off here (tests/plugins/erp/test_restrictions.py,
test_inventory.py); test_prices_completion.py runs everything together.

The fake ERP prices V1 at 9.00, V2 at 11.50 (10.00 from 10 units) and V3 at 4.50; the store's
own prices are 10.00, 12.50 (11.00 from 10) and 5.00, so every assertion tells them apart.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from core.config import Settings
from core.models import Cart, Customer, LineItem, ProductVariant
from core.schemas.carts import CartResponse
from erpcommerce_erp.contract import PriceQuote, PriceRequest
from tests.api.store.carts_support import add_item, checked, create_cart, customer_token, error_of
from tests.plugins.erp.conftest import ErpStore
from tests.plugins.erp.fake_erp import FakeErp


async def add_custom(client: Any, erp_store: ErpStore, cart_id: str, variant_id: str, quantity: int = 1,
                     token: str | None = None) -> Any:  # fmt: skip
    return await client.post(
        f"/store/carts/{cart_id}/custom-line-items",
        json={"variant_id": variant_id, "quantity": quantity},
        headers=erp_store.store.headers(token),
    )


async def update_quantity(client: Any, erp_store: ErpStore, cart_id: str, line_id: str, quantity: int) -> Any:
    return await client.post(
        f"/store/carts/{cart_id}/line-items/{line_id}", json={"quantity": quantity}, headers=erp_store.store.headers()
    )


def asked_prices(fake: FakeErp) -> list[list[tuple[str, int]]]:
    """Per get_prices call: the (variant, quantity) pairs asked."""
    asked: list[list[PriceRequest]] = [args[0] for operation, args in fake.log if operation == "get_prices"]
    return [[(r.variant_external_id, r.quantity) for r in requests] for requests in asked]


ONLY_PRICES = {"restrict_purchases": False, "check_inventory": False}


@pytest.fixture
def erp_options() -> dict[str, object]:
    """Prices alone (restriction and stock have their own tests), so each failure here is get_prices'."""
    return dict(ONLY_PRICES)


@pytest.fixture
def price_cache_seconds() -> float:
    """``[erp] price_cache_seconds`` for the test (parametrize to change it)."""
    return 30


@pytest.fixture
def settings(settings: Settings, price_cache_seconds: float) -> Settings:
    erp = settings.erp.model_copy(update={"price_cache_seconds": price_cache_seconds})
    return settings.model_copy(update={"erp": erp})


async def company_token(settings: Settings, company: str, email: str = "buyer@acme.example") -> str:
    customer_id, token = await customer_token(settings, email)
    await Customer.filter(id=customer_id).update(company_name=company)
    return token


# -- custom line items -------------------------------------------------------------------------------


async def test_custom_line_item_gets_the_erp_price(client: Any, erp_store: ErpStore) -> None:
    cart = await create_cart(client, erp_store.store)
    resp = await add_custom(client, erp_store, cart["id"], erp_store.shirt_s, 2)
    (line,) = (await checked(resp, CartResponse))["cart"]["items"]
    assert (line["unit_price"], line["is_custom_price"], line["total"]) == (9.0, True, 18.0)
    assert asked_prices(erp_store.fake) == [[("V1", 2)]]
    (_, (requests, currency, customer)) = erp_store.fake.log[-1]
    assert (requests[0].product_external_id, currency, customer) == ("T1", "eur", None)


async def test_custom_line_item_is_priced_for_the_customers_company(
    client: Any, erp_store: ErpStore, settings: Settings
) -> None:
    erp_store.fake.company_prices[("ACME GmbH", "V1")] = [(1, Decimal("7.25"))]
    token = await company_token(settings, "ACME GmbH")
    cart = await create_cart(client, erp_store.store, token=token)
    resp = await add_custom(client, erp_store, cart["id"], erp_store.shirt_s, 1, token=token)
    assert (await checked(resp, CartResponse))["cart"]["items"][0]["unit_price"] == 7.25
    customer = erp_store.fake.log[-1][1][2]
    assert (customer.email, customer.company_name) == ("buyer@acme.example", "ACME GmbH")


async def test_custom_line_items_merge_and_take_the_erp_quantity_break(client: Any, erp_store: ErpStore) -> None:
    cart = await create_cart(client, erp_store.store)
    first = (await checked(await add_custom(client, erp_store, cart["id"], erp_store.shirt_m, 5), CartResponse))
    assert first["cart"]["items"][0]["unit_price"] == 11.5
    resp = await add_custom(client, erp_store, cart["id"], erp_store.shirt_m, 5)
    (line,) = (await checked(resp, CartResponse))["cart"]["items"]
    assert (line["quantity"], line["unit_price"], line["is_custom_price"], line["total"]) == (10, 10.0, True, 100.0)
    assert asked_prices(erp_store.fake) == [[("V2", 5)], [("V2", 10)]]
    assert await LineItem.filter(cart_id=cart["id"]).count() == 1


async def test_custom_line_item_for_a_variant_the_erp_does_not_price_is_refused(
    client: Any, erp_store: ErpStore
) -> None:
    del erp_store.fake.prices["V1"]
    cart = await create_cart(client, erp_store.store)
    body = await error_of(await add_custom(client, erp_store, cart["id"], erp_store.shirt_s, 2), 400)
    assert body == {
        "type": "invalid_data",
        "message": "FakeERP gives no price in EUR for Shirt (S, FakeERP id V1) at quantity 2: "
        "it cannot be added as a custom line item",
    }
    assert await LineItem.filter(cart_id=cart["id"]).count() == 0


async def test_custom_line_item_for_a_variant_without_external_id_is_refused(
    client: Any, erp_store: ErpStore
) -> None:
    await ProductVariant.filter(id=erp_store.shirt_s).update(external_id=None)
    cart = await create_cart(client, erp_store.store)
    body = await error_of(await add_custom(client, erp_store, cart["id"], erp_store.shirt_s), 400)
    assert "have no custom price for currency eur" in body["message"]
    assert erp_store.fake.calls["get_prices"] == 0


# -- standard line items ---------------------------------------------------------------------------


async def test_standard_line_item_gets_the_erp_price(client: Any, erp_store: ErpStore) -> None:
    cart = await create_cart(client, erp_store.store)
    resp = await add_item(client, erp_store.store, cart["id"], erp_store.shirt_s, 1)
    (line,) = (await checked(resp, CartResponse))["cart"]["items"]
    assert (line["unit_price"], line["is_custom_price"]) == (9.0, False)


@pytest.mark.parametrize("erp_options", [{"prices_on_line_items": False}])
async def test_standard_line_items_keep_database_prices_when_configured(client: Any, erp_store: ErpStore) -> None:
    cart = await create_cart(client, erp_store.store)
    resp = await add_item(client, erp_store.store, cart["id"], erp_store.shirt_s, 1)
    assert (await checked(resp, CartResponse))["cart"]["items"][0]["unit_price"] == 10.0
    assert erp_store.fake.calls["get_prices"] == 0
    # custom line items still use the ERP
    resp = await add_custom(client, erp_store, cart["id"], erp_store.shirt_s, 1)
    items = (await checked(resp, CartResponse))["cart"]["items"]
    assert sorted((i["is_custom_price"], i["unit_price"]) for i in items) == [(False, 10.0), (True, 9.0)]


async def test_variant_unknown_to_the_erp_keeps_its_database_price(client: Any, erp_store: ErpStore) -> None:
    del erp_store.fake.prices["V3"]
    cart = await create_cart(client, erp_store.store)
    resp = await add_item(client, erp_store.store, cart["id"], erp_store.mug, 1)
    assert (await checked(resp, CartResponse))["cart"]["items"][0]["unit_price"] == 5.0
    assert erp_store.fake.calls["get_prices"] == 1


async def test_a_cart_created_with_several_items_asks_the_erp_once(client: Any, erp_store: ErpStore) -> None:
    items = [
        {"variant_id": erp_store.shirt_s, "quantity": 1},
        {"variant_id": erp_store.shirt_m, "quantity": 10},
        {"variant_id": erp_store.mug, "quantity": 2},
    ]
    cart = await create_cart(client, erp_store.store, items=items)
    prices = {i["variant_id"]: i["unit_price"] for i in cart["items"]}
    assert prices == {erp_store.shirt_s: 9.0, erp_store.shirt_m: 10.0, erp_store.mug: 4.5}
    assert erp_store.fake.calls["get_prices"] == 1
    assert asked_prices(erp_store.fake) == [[("V1", 1), ("V2", 10), ("V3", 2)]]


# -- quantity updates --------------------------------------------------------------------------------


async def test_quantity_update_reprices_a_standard_line_at_the_new_quantity(client: Any, erp_store: ErpStore) -> None:
    cart = await create_cart(client, erp_store.store, items=[{"variant_id": erp_store.shirt_m, "quantity": 1}])
    line_id = cart["items"][0]["id"]
    resp = await update_quantity(client, erp_store, cart["id"], line_id, 10)
    (line,) = (await checked(resp, CartResponse))["cart"]["items"]
    assert (line["quantity"], line["unit_price"], line["is_custom_price"]) == (10, 10.0, False)
    assert asked_prices(erp_store.fake)[-1] == [("V2", 10)]


@pytest.mark.parametrize("erp_options", [{"prices_on_quantity_update": False}])
async def test_quantity_update_of_a_standard_line_uses_the_database_when_configured(
    client: Any, erp_store: ErpStore
) -> None:
    cart = await create_cart(client, erp_store.store, items=[{"variant_id": erp_store.shirt_m, "quantity": 1}])
    calls = erp_store.fake.calls["get_prices"]
    resp = await update_quantity(client, erp_store, cart["id"], cart["items"][0]["id"], 10)
    assert (await checked(resp, CartResponse))["cart"]["items"][0]["unit_price"] == 11.0
    assert erp_store.fake.calls["get_prices"] == calls


@pytest.mark.parametrize("erp_options", [{"prices_on_quantity_update": False, "prices_on_line_items": False}])
async def test_quantity_update_of_a_custom_line_always_asks_the_erp(client: Any, erp_store: ErpStore) -> None:
    cart = await create_cart(client, erp_store.store)
    body = await checked(await add_custom(client, erp_store, cart["id"], erp_store.shirt_m, 1), CartResponse)
    resp = await update_quantity(client, erp_store, cart["id"], body["cart"]["items"][0]["id"], 12)
    (line,) = (await checked(resp, CartResponse))["cart"]["items"]
    assert (line["quantity"], line["unit_price"], line["is_custom_price"]) == (12, 10.0, True)
    assert asked_prices(erp_store.fake) == [[("V2", 1)], [("V2", 12)]]


async def test_quantity_update_of_a_custom_line_the_erp_no_longer_prices_keeps_its_price(
    client: Any, erp_store: ErpStore
) -> None:
    cart = await create_cart(client, erp_store.store)
    body = await checked(await add_custom(client, erp_store, cart["id"], erp_store.shirt_m, 1), CartResponse)
    del erp_store.fake.prices["V2"]
    resp = await update_quantity(client, erp_store, cart["id"], body["cart"]["items"][0]["id"], 3)
    (line,) = (await checked(resp, CartResponse))["cart"]["items"]
    assert (line["quantity"], line["unit_price"], line["is_custom_price"]) == (3, 11.5, True)


# -- the cache ---------------------------------------------------------------------------------------


async def test_an_identical_price_question_is_answered_from_the_cache(client: Any, erp_store: ErpStore) -> None:
    first = await create_cart(client, erp_store.store)
    second = await create_cart(client, erp_store.store)
    await checked(await add_custom(client, erp_store, first["id"], erp_store.shirt_s, 2), CartResponse)
    resp = await add_custom(client, erp_store, second["id"], erp_store.shirt_s, 2)
    assert (await checked(resp, CartResponse))["cart"]["items"][0]["unit_price"] == 9.0
    assert erp_store.fake.calls["get_prices"] == 1
    # another quantity is another question
    third = await create_cart(client, erp_store.store)
    await checked(await add_custom(client, erp_store, third["id"], erp_store.shirt_s, 3), CartResponse)
    assert asked_prices(erp_store.fake) == [[("V1", 2)], [("V1", 3)]]


async def test_only_the_cache_misses_are_asked(client: Any, erp_store: ErpStore) -> None:
    warm = await create_cart(client, erp_store.store)
    await checked(await add_item(client, erp_store.store, warm["id"], erp_store.shirt_s, 1), CartResponse)
    items = [{"variant_id": erp_store.shirt_s, "quantity": 1}, {"variant_id": erp_store.mug, "quantity": 1}]
    await create_cart(client, erp_store.store, items=items)
    assert asked_prices(erp_store.fake) == [[("V1", 1)], [("V3", 1)]]


async def test_the_cache_is_per_customer(client: Any, erp_store: ErpStore, settings: Settings) -> None:
    erp_store.fake.company_prices[("ACME GmbH", "V1")] = [(1, Decimal("7.25"))]
    guest_cart = await create_cart(client, erp_store.store)
    await checked(await add_custom(client, erp_store, guest_cart["id"], erp_store.shirt_s), CartResponse)
    token = await company_token(settings, "ACME GmbH")
    cart = await create_cart(client, erp_store.store, token=token)
    resp = await add_custom(client, erp_store, cart["id"], erp_store.shirt_s, token=token)
    assert (await checked(resp, CartResponse))["cart"]["items"][0]["unit_price"] == 7.25
    assert erp_store.fake.calls["get_prices"] == 2


@pytest.mark.parametrize("price_cache_seconds", [0])
async def test_a_zero_cache_time_asks_every_time(client: Any, erp_store: ErpStore) -> None:
    for _ in range(2):
        cart = await create_cart(client, erp_store.store)
        await checked(await add_custom(client, erp_store, cart["id"], erp_store.shirt_s), CartResponse)
    assert erp_store.fake.calls["get_prices"] == 2


# -- the ERP failing ---------------------------------------------------------------------------------


async def cart_state(cart_id: str) -> tuple[Any, list[tuple[str, int, Decimal]]]:
    """What a failed request must leave unchanged: the cart's version and its lines."""
    lines = await LineItem.filter(cart_id=cart_id).order_by("id").values_list("id", "quantity", "unit_price")
    return (await Cart.get(id=cart_id)).updated_at, [(i, q, Decimal(p)) for i, q, p in lines]


async def test_erp_down_is_503_and_writes_nothing(client: Any, erp_store: ErpStore) -> None:
    cart = await create_cart(client, erp_store.store, items=[{"variant_id": erp_store.mug, "quantity": 1}])
    before = await cart_state(cart["id"])
    erp_store.fake.down = True
    body = await error_of(await add_custom(client, erp_store, cart["id"], erp_store.shirt_s), 503)
    assert body == {
        "type": "unexpected_state",
        "message": "FakeERP could not be reached (get_prices): connect to FakeERP refused",
    }
    assert await cart_state(cart["id"]) == before
    await error_of(await add_item(client, erp_store.store, cart["id"], erp_store.mug), 503)
    assert await cart_state(cart["id"]) == before


@pytest.mark.parametrize("erp_options", [{**ONLY_PRICES, "timeout_seconds": 0.05}])
async def test_erp_too_slow_is_503_and_writes_nothing(client: Any, erp_store: ErpStore) -> None:
    cart = await create_cart(client, erp_store.store)
    before = await cart_state(cart["id"])
    erp_store.fake.delay = 0.5
    body = await error_of(await add_custom(client, erp_store, cart["id"], erp_store.shirt_s), 503)
    assert body["message"] == "FakeERP did not answer within 0.05 s (get_prices); try again later"
    assert await cart_state(cart["id"]) == before


@pytest.mark.parametrize(
    ("answer", "detail"),
    [
        ("<html>oops</html>", "expected a list of PriceQuote, got str"),
        (
            [{"variant_external_id": "V1", "quantity": 1, "unit_price": "9", "currency_code": "eur"}],
            "expected a list of PriceQuote, got list",
        ),
    ],
)
async def test_malformed_erp_answers_are_503(client: Any, erp_store: ErpStore, answer: Any, detail: str) -> None:
    cart = await create_cart(client, erp_store.store)
    before = await cart_state(cart["id"])
    erp_store.fake.malformed["get_prices"] = answer
    body = await error_of(await add_custom(client, erp_store, cart["id"], erp_store.shirt_s), 503)
    assert body["message"] == f"FakeERP answered get_prices with malformed data: {detail}"
    assert await cart_state(cart["id"]) == before


async def test_a_price_for_something_not_asked_is_malformed(client: Any, erp_store: ErpStore) -> None:
    cart = await create_cart(client, erp_store.store)
    before = await cart_state(cart["id"])
    erp_store.fake.malformed["get_prices"] = [
        PriceQuote(variant_external_id="V9", quantity=1, unit_price=Decimal(1), currency_code="eur")
    ]
    body = await error_of(await add_custom(client, erp_store, cart["id"], erp_store.shirt_s), 503)
    assert "a price for V9 x 1, which was not asked for" in body["message"]
    assert await cart_state(cart["id"]) == before


async def test_a_failed_erp_call_is_not_cached(client: Any, erp_store: ErpStore) -> None:
    cart = await create_cart(client, erp_store.store)
    erp_store.fake.down = True
    await error_of(await add_custom(client, erp_store, cart["id"], erp_store.shirt_s), 503)
    erp_store.fake.down = False
    resp = await add_custom(client, erp_store, cart["id"], erp_store.shirt_s)
    assert (await checked(resp, CartResponse))["cart"]["items"][0]["unit_price"] == 9.0
    assert erp_store.fake.calls["get_prices"] == 2
