"""``/store/carts/{id}/line-items``: the add-to-cart, update-line-item and delete-line-item flows."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from tortoise import timezone

from core.errors import Conflict, ErpUnavailable, NotAllowed
from core.hookspecs import hookimpl
from core.models import Cart, LineItem, ProductVariant
from core.schemas.carts import CartResponse, LineItemDeletedResponse
from core.views import CartView, CustomerView, ItemToAdd, LinePrice
from core.workflows.cart_data import load_cart
from core.workflows.cart_steps import claim_cart
from core.workflows.engine import current_workflow

from .carts_support import (
    add_item,
    add_variant,
    checked,
    complete,
    create_cart,
    customer_token,
    error_of,
    initiate_payment,
)


@pytest.fixture
async def cart(client: Any, store: Any) -> dict[str, Any]:
    return await create_cart(client, store)


def line_url(cart_id: str, line_id: str) -> str:
    return f"/store/carts/{cart_id}/line-items/{line_id}"


# -- adding ----------------------------------------------------------------------------------------


async def test_add_to_cart_creates_a_priced_line(client: Any, store: Any, cart: dict[str, Any]) -> None:
    shirt_s = store.variant_ids[0]
    body = await checked(await add_item(client, store, cart["id"], shirt_s, 2), CartResponse)
    (line,) = body["cart"]["items"]
    assert line["variant_id"] == shirt_s
    assert line["cart_id"] == cart["id"]
    assert (line["title"], line["subtitle"], line["product_title"]) == ("Shirt", "S", "Shirt")
    assert (line["variant_sku"], line["product_handle"], line["product_description"]) == ("SHIRT-S", "shirt", "A shirt")
    assert (line["quantity"], line["unit_price"], line["subtotal"], line["total"]) == (2, 10.0, 20.0, 20.0)
    assert line["is_custom_price"] is False and line["tax_lines"] == [] and line["adjustments"] == []
    assert line["metadata"] == {}
    totals = body["cart"]
    assert (totals["total"], totals["subtotal"], totals["item_total"], totals["tax_total"]) == (20.0, 20.0, 20.0, 0.0)


async def test_add_to_cart_merges_same_variant(client: Any, store: Any, cart: dict[str, Any]) -> None:
    await add_item(client, store, cart["id"], store.variant_ids[0], 1)
    body = await checked(await add_item(client, store, cart["id"], store.variant_ids[0], 2), CartResponse)
    (line,) = body["cart"]["items"]
    assert line["quantity"] == 3
    assert await LineItem.filter(cart_id=cart["id"]).count() == 1


async def test_add_to_cart_keeps_lines_with_different_metadata_apart(
    client: Any, store: Any, cart: dict[str, Any]
) -> None:
    url = f"/store/carts/{cart['id']}/line-items"
    variant = store.variant_ids[0]
    gift, headers = {"gift": True}, store.headers()
    await client.post(url, json={"variant_id": variant, "quantity": 1, "metadata": gift}, headers=headers)
    await client.post(url, json={"variant_id": variant, "quantity": 1}, headers=headers)
    resp = await client.post(url, json={"variant_id": variant, "quantity": 2, "metadata": gift}, headers=headers)
    items = (await checked(resp, CartResponse))["cart"]["items"]
    assert sorted((i["quantity"], i["metadata"] == {"gift": True}) for i in items) == [(1, False), (3, True)]


async def test_merged_line_is_repriced_at_its_new_quantity(client: Any, store: Any, cart: dict[str, Any]) -> None:
    shirt_m = store.variant_ids[1]  # 12.50, or 11.00 from 10 items
    await add_item(client, store, cart["id"], shirt_m, 9)
    body = await checked(await add_item(client, store, cart["id"], shirt_m, 1), CartResponse)
    (line,) = body["cart"]["items"]
    assert (line["quantity"], line["unit_price"], body["cart"]["total"]) == (10, 11.0, 110.0)


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"variant_id": "variant_x", "quantity": 0}, 'at "quantity"'),
        ({"variant_id": "variant_x", "quantity": -1}, 'at "quantity"'),
        ({"quantity": 1}, 'at "variant_id"'),
        ({"variant_id": "variant_x", "quantity": 1, "colour": "red"}, "Unrecognized fields: 'colour'"),
    ],
)
async def test_add_to_cart_rejects_invalid_bodies(
    client: Any, store: Any, cart: dict[str, Any], payload: dict[str, Any], fragment: str
) -> None:
    resp = await client.post(f"/store/carts/{cart['id']}/line-items", json=payload, headers=store.headers())
    body = await error_of(resp, 400)
    assert body["type"] == "invalid_data" and fragment in body["message"]


async def test_add_unknown_variant_is_invalid_data(client: Any, store: Any, cart: dict[str, Any]) -> None:
    body = await error_of(await add_item(client, store, cart["id"], "variant_nope"), 400)
    assert body == {
        "type": "invalid_data",
        "message": "Variants variant_nope do not exist or belong to a product that is not published",
    }


async def test_add_variant_of_unpublished_product_is_invalid_data(
    client: Any, store: Any, cart: dict[str, Any]
) -> None:
    draft = await add_variant(store, title="Draft", status="draft")
    body = await error_of(await add_item(client, store, cart["id"], draft), 400)
    assert body["message"] == f"Variants {draft} do not exist or belong to a product that is not published"


async def test_add_variant_outside_the_carts_sales_channel_is_invalid_data(
    client: Any, store: Any, cart: dict[str, Any]
) -> None:
    elsewhere = await add_variant(store, title="Elsewhere", in_channel=False)
    body = await error_of(await add_item(client, store, cart["id"], elsewhere), 400)
    assert body == {
        "type": "invalid_data",
        "message": f"Variants with IDs {elsewhere} are not available in sales channel {store.sales_channel_id}",
    }


async def test_add_variant_without_price_in_cart_currency_is_invalid_data(
    client: Any, store: Any, cart: dict[str, Any]
) -> None:
    dollars_only = await add_variant(store, title="Imported", prices={"usd": "3.00"})
    body = await error_of(await add_item(client, store, cart["id"], dollars_only), 400)
    assert body == {
        "type": "invalid_data",
        "message": f"Variants with IDs {dollars_only} do not have a price for currency eur",
    }
    assert await LineItem.filter(cart_id=cart["id"]).count() == 0


async def test_add_beyond_stock_is_refused_counting_the_cart(client: Any, store: Any, cart: dict[str, Any]) -> None:
    mug = store.variant_ids[2]  # stock 3
    body = await error_of(await add_item(client, store, cart["id"], mug, 4), 400)
    assert body == {
        "type": "not_allowed",
        "code": "insufficient_inventory",
        "message": "Some variant does not have the required inventory",
    }
    await checked(await add_item(client, store, cart["id"], mug, 2), CartResponse)
    await error_of(await add_item(client, store, cart["id"], mug, 2), 400)
    (line,) = (await load_cart(cart["id"])).items
    assert line.quantity == 2


async def test_stock_is_not_checked_for_backorders_or_unmanaged_variants(
    client: Any, store: Any, cart: dict[str, Any]
) -> None:
    backorder = await add_variant(store, title="Backorder", manage_inventory=True, allow_backorder=True)
    unmanaged = await add_variant(store, title="Unmanaged", manage_inventory=False)
    await checked(await add_item(client, store, cart["id"], backorder, 50), CartResponse)
    await checked(await add_item(client, store, cart["id"], unmanaged, 50), CartResponse)


async def test_add_to_unknown_cart_is_not_found(client: Any, store: Any) -> None:
    body = await error_of(await add_item(client, store, "cart_nope", store.variant_ids[0]), 404)
    assert body == {"type": "not_found", "message": "Cart with id 'cart_nope' not found"}


async def test_add_to_another_customers_cart_is_not_found(client: Any, store: Any, settings: Any) -> None:
    _, ada = await customer_token(settings, "ada@example.com")
    _, bob = await customer_token(settings, "bob@example.com")
    cart = await create_cart(client, store, token=ada)
    await error_of(await add_item(client, store, cart["id"], store.variant_ids[0], token=bob), 404)
    await checked(await add_item(client, store, cart["id"], store.variant_ids[0], token=ada), CartResponse)


async def test_add_to_completed_cart_is_refused(client: Any, store: Any, cart: dict[str, Any]) -> None:
    await add_item(client, store, cart["id"], store.variant_ids[0])
    await initiate_payment(client, store, cart["id"])
    assert (await complete(client, store, cart["id"])).status == 200
    body = await error_of(await add_item(client, store, cart["id"], store.variant_ids[0]), 400)
    assert body == {"type": "invalid_data", "message": f"Cart {cart['id']} is already completed."}


async def test_add_while_cart_is_being_completed_is_a_conflict(client: Any, store: Any, cart: dict[str, Any]) -> None:
    await Cart.filter(id=cart["id"]).update(completing_until=timezone.now() + timedelta(seconds=30))
    body = await error_of(await add_item(client, store, cart["id"], store.variant_ids[0]), 409)
    assert body["type"] == "conflict" and body["code"] == "invalid_state_error"


async def test_concurrent_adds_never_lose_an_update(client: Any, store: Any, cart: dict[str, Any]) -> None:
    responses = await asyncio.gather(*(add_item(client, store, cart["id"], store.variant_ids[0]) for _ in range(20)))
    assert [r.status for r in responses] == [200] * 20
    (line,) = await LineItem.filter(cart_id=cart["id"])
    assert line.quantity == 20


async def test_write_refuses_a_cart_changed_since_it_was_loaded(client: Any, store: Any, cart: dict[str, Any]) -> None:
    loaded = await load_cart(cart["id"])
    # Another process changed the cart in between (its write touched updated_at).
    await Cart.filter(id=cart["id"]).update(updated_at=timezone.now() + timedelta(seconds=1))
    with pytest.raises(Conflict):
        await claim_cart(loaded)


async def test_add_updates_the_payment_collection_and_drops_stale_sessions(
    client: Any, store: Any, cart: dict[str, Any]
) -> None:
    await add_item(client, store, cart["id"], store.variant_ids[0])
    collection = await initiate_payment(client, store, cart["id"])
    assert collection["amount"] == 10.0 and len(collection["payment_sessions"]) == 1
    body = await checked(await add_item(client, store, cart["id"], store.variant_ids[0]), CartResponse)
    refreshed = body["cart"]["payment_collection"]
    assert (refreshed["id"], refreshed["amount"], refreshed["payment_sessions"]) == (collection["id"], 20.0, [])


# -- plugins ---------------------------------------------------------------------------------------


class RecordingPlugin:
    """Records the views the cart hooks receive."""

    def __init__(self) -> None:
        self.calls: list[tuple[CartView, list[ItemToAdd], CustomerView | None]] = []

    @hookimpl
    def validate_add_to_cart(self, cart: CartView, items: list[ItemToAdd], customer: CustomerView | None) -> None:
        self.calls.append((cart, items, customer))


async def test_hooks_receive_views_with_merged_quantities_and_customer(
    client: Any, store: Any, settings: Any, plugins: Any
) -> None:
    recorder = RecordingPlugin()
    plugins.register(recorder)
    customer_id, token = await customer_token(settings)
    cart = await create_cart(client, store, token=token)
    await add_item(client, store, cart["id"], store.variant_ids[0], 2, token=token)
    await add_item(client, store, cart["id"], store.variant_ids[0], 3, token=token)
    cart_view, items, customer = recorder.calls[-1]
    assert isinstance(cart_view, CartView) and cart_view.id == cart["id"]
    assert [i.quantity for i in cart_view.items] == [2]
    (item,) = items
    assert (item.variant.id, item.quantity, item.added_quantity) == (store.variant_ids[0], 5, 3)
    assert item.line_item_id == cart_view.items[0].id
    assert item.variant.product_title == "Shirt"
    assert customer is not None and (customer.id, customer.email) == (customer_id, "ada@example.com")


class Refuser:
    """Refuses mugs for everyone."""

    @hookimpl
    def validate_add_to_cart(self, cart: CartView, items: list[ItemToAdd]) -> None:
        if any(item.variant.sku == "MUG" for item in items):
            raise NotAllowed("Mugs are not for sale to you")


async def test_plugin_refusal_aborts_and_writes_nothing(
    client: Any, store: Any, cart: dict[str, Any], plugins: Any
) -> None:
    plugins.register(Refuser())
    body = await error_of(await add_item(client, store, cart["id"], store.variant_ids[2]), 400)
    assert body == {"type": "not_allowed", "message": "Mugs are not for sale to you"}
    assert await LineItem.filter(cart_id=cart["id"]).count() == 0


class Reserver:
    """Reserves in a fake ERP during validation and registers the release as a compensation."""

    def __init__(self) -> None:
        self.reserved: list[str] = []

    @hookimpl
    async def validate_add_to_cart(self, items: list[ItemToAdd]) -> None:
        for item in items:
            self.reserved.append(item.variant.id)
            current_workflow().register_compensation(self.reserved.remove, item.variant.id)


async def test_hook_compensation_runs_when_a_later_step_fails(
    client: Any, store: Any, cart: dict[str, Any], plugins: Any
) -> None:
    reserver = Reserver()
    plugins.register(reserver)
    dollars_only = await add_variant(store, title="Imported", prices={"usd": "3.00"})
    await error_of(await add_item(client, store, cart["id"], dollars_only), 400)
    assert reserver.reserved == []
    await checked(await add_item(client, store, cart["id"], store.variant_ids[0]), CartResponse)
    assert reserver.reserved == [store.variant_ids[0]]


class ErpPricer:
    """Prices the shirt S variant (first wins over core's database price); leaves the rest."""

    def __init__(self, variant_id: str) -> None:
        self.variant_id = variant_id

    @hookimpl
    def price_line_items(self, cart: CartView, items: list[ItemToAdd]) -> list[LinePrice]:
        return [
            LinePrice(variant_id=i.variant.id, unit_price=Decimal("8.25"), currency_code="EUR", is_custom_price=True)
            for i in items
            if i.variant.id == self.variant_id
        ]


async def test_plugin_price_wins_and_core_prices_the_rest(
    client: Any, store: Any, cart: dict[str, Any], plugins: Any
) -> None:
    plugins.register(ErpPricer(store.variant_ids[0]))
    await add_item(client, store, cart["id"], store.variant_ids[0], 2)
    body = await checked(await add_item(client, store, cart["id"], store.variant_ids[1]), CartResponse)
    by_variant = {i["variant_id"]: i for i in body["cart"]["items"]}
    assert by_variant[store.variant_ids[0]]["unit_price"] == 8.25
    assert by_variant[store.variant_ids[0]]["is_custom_price"] is True
    assert by_variant[store.variant_ids[1]]["unit_price"] == 12.5
    assert body["cart"]["total"] == 29.0


class DownErp:
    @hookimpl
    def price_line_items(self, items: list[ItemToAdd]) -> None:
        raise ErpUnavailable("The ERP is not reachable")


async def test_unavailable_erp_is_503_and_writes_nothing(
    client: Any, store: Any, cart: dict[str, Any], plugins: Any
) -> None:
    plugins.register(DownErp())
    body = await error_of(await add_item(client, store, cart["id"], store.variant_ids[0]), 503)
    assert body["message"] == "The ERP is not reachable"
    assert await LineItem.filter(cart_id=cart["id"]).count() == 0


# -- updating --------------------------------------------------------------------------------------


async def added_line(client: Any, store: Any, cart_id: str, variant_id: str, quantity: int = 1) -> dict[str, Any]:
    body = await checked(await add_item(client, store, cart_id, variant_id, quantity), CartResponse)
    return next(i for i in body["cart"]["items"] if i["variant_id"] == variant_id)


async def test_update_line_item_sets_quantity_and_reprices(client: Any, store: Any, cart: dict[str, Any]) -> None:
    line = await added_line(client, store, cart["id"], store.variant_ids[1])
    resp = await client.post(line_url(cart["id"], line["id"]), json={"quantity": 12}, headers=store.headers())
    (updated,) = (await checked(resp, CartResponse))["cart"]["items"]
    assert (updated["id"], updated["quantity"]) == (line["id"], 12)
    assert (updated["unit_price"], updated["total"]) == (11.0, 132.0)


async def test_update_line_item_metadata(client: Any, store: Any, cart: dict[str, Any]) -> None:
    line = await added_line(client, store, cart["id"], store.variant_ids[0])
    payload = {"quantity": 2, "metadata": {"engraving": "Ada"}}
    resp = await client.post(line_url(cart["id"], line["id"]), json=payload, headers=store.headers())
    (updated,) = (await checked(resp, CartResponse))["cart"]["items"]
    assert updated["metadata"] == {"engraving": "Ada"} and updated["quantity"] == 2


async def test_update_line_item_to_zero_removes_it(client: Any, store: Any, cart: dict[str, Any]) -> None:
    line = await added_line(client, store, cart["id"], store.variant_ids[0])
    resp = await client.post(line_url(cart["id"], line["id"]), json={"quantity": 0}, headers=store.headers())
    body = await checked(resp, CartResponse)
    assert body["cart"]["items"] == [] and body["cart"]["total"] == 0.0
    assert not await LineItem.exists(id=line["id"])


async def test_update_line_item_beyond_stock_is_refused(client: Any, store: Any, cart: dict[str, Any]) -> None:
    line = await added_line(client, store, cart["id"], store.variant_ids[2])
    resp = await client.post(line_url(cart["id"], line["id"]), json={"quantity": 4}, headers=store.headers())
    assert (await error_of(resp, 400))["code"] == "insufficient_inventory"
    resp = await client.post(line_url(cart["id"], line["id"]), json={"quantity": 3}, headers=store.headers())
    assert (await checked(resp, CartResponse))["cart"]["items"][0]["quantity"] == 3


async def test_update_line_item_keeps_a_custom_price(
    client: Any, store: Any, cart: dict[str, Any], plugins: Any
) -> None:
    await LineItem.create(
        cart_id=cart["id"], title="Shirt", quantity=1, unit_price=Decimal("4.00"), is_custom_price=True,
        variant_id=store.variant_ids[0], product_id=store.product_ids[0],
    )  # fmt: skip
    line = (await load_cart(cart["id"])).items[0]
    resp = await client.post(line_url(cart["id"], line.id), json={"quantity": 3}, headers=store.headers())
    (updated,) = (await checked(resp, CartResponse))["cart"]["items"]
    assert (updated["quantity"], updated["unit_price"], updated["is_custom_price"]) == (3, 4.0, True)


@pytest.mark.parametrize("payload", [{"quantity": -1}, {}, {"quantity": 1, "size": "XL"}])
async def test_update_line_item_rejects_invalid_bodies(
    client: Any, store: Any, cart: dict[str, Any], payload: dict[str, Any]
) -> None:
    line = await added_line(client, store, cart["id"], store.variant_ids[0])
    resp = await client.post(line_url(cart["id"], line["id"]), json=payload, headers=store.headers())
    assert (await error_of(resp, 400))["type"] == "invalid_data"


async def test_update_unknown_line_item_is_not_found(client: Any, store: Any, cart: dict[str, Any]) -> None:
    resp = await client.post(line_url(cart["id"], "cali_nope"), json={"quantity": 1}, headers=store.headers())
    assert await error_of(resp, 404) == {"type": "not_found", "message": "Line item with id: cali_nope was not found"}


async def test_update_line_item_of_completed_cart_is_refused(
    client: Any, store: Any, cart: dict[str, Any]
) -> None:
    line = await added_line(client, store, cart["id"], store.variant_ids[0])
    await Cart.filter(id=cart["id"]).update(completed_at=timezone.now())
    resp = await client.post(line_url(cart["id"], line["id"]), json={"quantity": 2}, headers=store.headers())
    assert (await error_of(resp, 400))["message"] == f"Cart {cart['id']} is already completed."


# -- deleting --------------------------------------------------------------------------------------


async def test_delete_line_item_answers_with_the_parent_cart(client: Any, store: Any, cart: dict[str, Any]) -> None:
    line = await added_line(client, store, cart["id"], store.variant_ids[0])
    await added_line(client, store, cart["id"], store.variant_ids[1])
    resp = await client.delete(line_url(cart["id"], line["id"]), headers=store.headers())
    body = await checked(resp, LineItemDeletedResponse)
    assert (body["id"], body["object"], body["deleted"]) == (line["id"], "line-item", True)
    assert body["parent"]["id"] == cart["id"]
    assert [i["variant_id"] for i in body["parent"]["items"]] == [store.variant_ids[1]]
    assert body["parent"]["total"] == 12.5


async def test_delete_unknown_line_item_is_not_found(client: Any, store: Any, cart: dict[str, Any]) -> None:
    resp = await client.delete(line_url(cart["id"], "cali_nope"), headers=store.headers())
    assert (await error_of(resp, 404))["type"] == "not_found"


async def test_delete_line_item_of_completed_cart_is_refused(
    client: Any, store: Any, cart: dict[str, Any]
) -> None:
    line = await added_line(client, store, cart["id"], store.variant_ids[0])
    await Cart.filter(id=cart["id"]).update(completed_at=timezone.now())
    resp = await client.delete(line_url(cart["id"], line["id"]), headers=store.headers())
    assert (await error_of(resp, 400))["type"] == "invalid_data"
    assert await LineItem.exists(id=line["id"])


async def test_delete_line_item_of_another_customers_cart_is_not_found(
    client: Any, store: Any, settings: Any
) -> None:
    _, ada = await customer_token(settings, "ada@example.com")
    _, bob = await customer_token(settings, "bob@example.com")
    cart = await create_cart(client, store, token=ada)
    body = await checked(await add_item(client, store, cart["id"], store.variant_ids[0], token=ada), CartResponse)
    line_id = body["cart"]["items"][0]["id"]
    resp = await client.delete(line_url(cart["id"], line_id), headers=store.headers(bob))
    await error_of(resp, 404)
    assert await LineItem.exists(id=line_id)


async def test_stock_counts_every_line_of_the_variant(client: Any, store: Any, cart: dict[str, Any]) -> None:
    mug = store.variant_ids[2]
    url = f"/store/carts/{cart['id']}/line-items"
    await client.post(url, json={"variant_id": mug, "quantity": 2, "metadata": {"a": 1}}, headers=store.headers())
    resp = await client.post(url, json={"variant_id": mug, "quantity": 2}, headers=store.headers())
    assert (await error_of(resp, 400))["code"] == "insufficient_inventory"
    await ProductVariant.filter(id=mug).update(inventory_quantity=4)
    resp = await client.post(url, json={"variant_id": mug, "quantity": 2}, headers=store.headers())
    await checked(resp, CartResponse)
