"""``POST /store/carts/{id}/custom-line-items`` in core alone: priced only by a pricing plugin.

No ERP plugin here: without a plugin giving custom prices the route refuses (400); with a test
pricing plugin the line is custom-priced, merges only with custom-priced lines and keeps its price
on quantity updates unless the plugin gives a new custom price.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from core.errors import ErpUnavailable
from core.hookspecs import hookimpl
from core.models import Cart, LineItem
from core.schemas.carts import CartResponse
from core.views import ItemToAdd, LinePrice, PricingPurpose

from .carts_support import add_item, checked, create_cart, error_of


@pytest.fixture
async def cart(client: Any, store: Any) -> dict[str, Any]:
    return await create_cart(client, store)


async def add_custom(
    client: Any, store: Any, cart_id: str, variant_id: str, quantity: int = 1, **extra: Any
) -> Any:
    return await client.post(
        f"/store/carts/{cart_id}/custom-line-items",
        json={"variant_id": variant_id, "quantity": quantity, **extra},
        headers=store.headers(),
    )


class CustomPricer:
    """Prices every item at 1.00 per unit below 10 units, 0.50 from 10; records what it was asked."""

    def __init__(self, custom: bool = True) -> None:
        self.custom = custom
        self.asked: list[tuple[PricingPurpose, list[tuple[str, int, bool]]]] = []

    @hookimpl
    def price_line_items(self, items: list[ItemToAdd], purpose: PricingPurpose) -> list[LinePrice]:
        self.asked.append((purpose, [(i.variant.id, i.quantity, i.is_custom_price) for i in items]))
        return [
            LinePrice(
                variant_id=item.variant.id,
                unit_price=Decimal("0.50") if item.quantity >= 10 else Decimal("1.00"),
                currency_code="eur",
                is_custom_price=self.custom,
            )
            for item in items
        ]


async def test_without_a_pricing_plugin_custom_line_items_are_refused(
    client: Any, store: Any, cart: dict[str, Any]
) -> None:
    body = await error_of(await add_custom(client, store, cart["id"], store.variant_ids[0]), 400)
    assert body == {
        "type": "invalid_data",
        "message": f"Variants with IDs {store.variant_ids[0]} have no custom price for currency eur: "
        "custom line items are priced by a pricing plugin (an ERP), and none priced them",
    }
    assert await LineItem.filter(cart_id=cart["id"]).count() == 0


async def test_a_plugin_custom_price_makes_a_custom_line(
    client: Any, store: Any, cart: dict[str, Any], plugins: Any
) -> None:
    pricer = CustomPricer()
    plugins.register(pricer)
    resp = await add_custom(client, store, cart["id"], store.variant_ids[0], 2, metadata={"ref": "A-1"})
    (line,) = (await checked(resp, CartResponse))["cart"]["items"]
    assert (line["quantity"], line["unit_price"], line["is_custom_price"], line["metadata"]) == (
        2, 1.0, True, {"ref": "A-1"},
    )  # fmt: skip
    assert pricer.asked == [("custom-line-item", [(store.variant_ids[0], 2, True)])]


async def test_a_standard_price_does_not_price_a_custom_line(
    client: Any, store: Any, cart: dict[str, Any], plugins: Any
) -> None:
    plugins.register(CustomPricer(custom=False))
    body = await error_of(await add_custom(client, store, cart["id"], store.variant_ids[0]), 400)
    assert "have no custom price for currency eur" in body["message"]
    assert await LineItem.filter(cart_id=cart["id"]).count() == 0


async def test_adding_the_same_variant_twice_merges_and_reprices_at_the_summed_quantity(
    client: Any, store: Any, cart: dict[str, Any], plugins: Any
) -> None:
    pricer = CustomPricer()
    plugins.register(pricer)
    await checked(await add_custom(client, store, cart["id"], store.variant_ids[0], 4), CartResponse)
    resp = await add_custom(client, store, cart["id"], store.variant_ids[0], 6)
    (line,) = (await checked(resp, CartResponse))["cart"]["items"]
    assert (line["quantity"], line["unit_price"], line["total"]) == (10, 0.5, 5.0)
    assert pricer.asked[-1] == ("custom-line-item", [(store.variant_ids[0], 10, True)])


async def test_custom_and_standard_lines_of_a_variant_stay_apart(
    client: Any, store: Any, cart: dict[str, Any], plugins: Any
) -> None:
    await checked(await add_item(client, store, cart["id"], store.variant_ids[1], 1), CartResponse)
    plugins.register(CustomPricer())
    resp = await add_custom(client, store, cart["id"], store.variant_ids[1], 1)
    items = (await checked(resp, CartResponse))["cart"]["items"]
    assert sorted((i["is_custom_price"], i["quantity"]) for i in items) == [(False, 1), (True, 1)]


async def test_quantity_update_keeps_the_custom_price_without_a_new_one(
    client: Any, store: Any, cart: dict[str, Any], plugins: Any
) -> None:
    pricer = CustomPricer()
    plugins.register(pricer)
    resp = await add_custom(client, store, cart["id"], store.variant_ids[1], 1)
    (line,) = (await checked(resp, CartResponse))["cart"]["items"]
    plugins.unregister(pricer)
    url = f"/store/carts/{cart['id']}/line-items/{line['id']}"
    resp = await client.post(url, json={"quantity": 12}, headers=store.headers())
    (updated,) = (await checked(resp, CartResponse))["cart"]["items"]
    # the database price at 12 (11.00) does not replace a custom price
    assert (updated["quantity"], updated["unit_price"], updated["is_custom_price"]) == (12, 1.0, True)


async def test_quantity_update_takes_a_new_custom_price(
    client: Any, store: Any, cart: dict[str, Any], plugins: Any
) -> None:
    pricer = CustomPricer()
    plugins.register(pricer)
    (line,) = (await checked(await add_custom(client, store, cart["id"], store.variant_ids[1]), CartResponse))[
        "cart"
    ]["items"]
    url = f"/store/carts/{cart['id']}/line-items/{line['id']}"
    (updated,) = (await checked(await client.post(url, json={"quantity": 10}, headers=store.headers()), CartResponse))[
        "cart"
    ]["items"]
    assert (updated["unit_price"], updated["is_custom_price"]) == (0.5, True)
    assert pricer.asked[-1] == ("quantity-update", [(store.variant_ids[1], 10, True)])


class DownPricer:
    @hookimpl
    def price_line_items(self, items: list[ItemToAdd]) -> None:
        raise ErpUnavailable("The ERP could not be reached")


async def test_an_unreachable_pricing_plugin_is_503_and_writes_nothing(
    client: Any, store: Any, cart: dict[str, Any], plugins: Any
) -> None:
    plugins.register(DownPricer())
    before = (await Cart.get(id=cart["id"])).updated_at
    body = await error_of(await add_custom(client, store, cart["id"], store.variant_ids[0]), 503)
    assert body == {"type": "unexpected_state", "message": "The ERP could not be reached"}
    assert await LineItem.filter(cart_id=cart["id"]).count() == 0
    assert (await Cart.get(id=cart["id"])).updated_at == before


@pytest.mark.parametrize(
    "payload",
    [{"quantity": 1}, {"variant_id": "v", "quantity": 0}, {"variant_id": "v", "quantity": 1, "unit_price": 1}],
)
async def test_invalid_bodies_are_refused(
    client: Any, store: Any, cart: dict[str, Any], payload: dict[str, Any]
) -> None:
    resp = await client.post(f"/store/carts/{cart['id']}/custom-line-items", json=payload, headers=store.headers())
    assert (await error_of(resp, 400))["type"] == "invalid_data"


async def test_unknown_cart_is_not_found(client: Any, store: Any, plugins: Any) -> None:
    plugins.register(CustomPricer())
    body = await error_of(await add_custom(client, store, "cart_nope", store.variant_ids[0]), 404)
    assert body == {"type": "not_found", "message": "Cart with id 'cart_nope' not found"}
