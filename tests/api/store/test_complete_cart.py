"""``POST /store/carts/{id}/complete``: the complete-cart workflow."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from typing import Any

from tortoise import timezone

from core.api.store.carts import CompleteCartResponse
from core.errors import NotAllowed
from core.hookspecs import hookimpl
from core.models import Cart, Event, LineItem, Order, OrderItem, PaymentCollection, PaymentSession, ProductVariant
from core.schemas.carts import CartResponse
from core.views import CartView, CustomerView
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

ADDRESS = {"first_name": "Ada", "city": "Berlin", "country_code": "de"}


async def ready_cart(
    client: Any, store: Any, items: list[tuple[str, int]] | None = None, token: str | None = None, **body: Any
) -> dict[str, Any]:
    """A cart with items (a shirt and two mugs by default) and a payment session."""
    wanted = items if items is not None else [(store.variant_ids[0], 1), (store.variant_ids[2], 2)]
    payload = [{"variant_id": variant, "quantity": quantity} for variant, quantity in wanted]
    cart = await create_cart(client, store, token=token, items=payload, **body)
    await initiate_payment(client, store, cart["id"], token=token)
    return cart


async def test_complete_cart_places_the_order(client: Any, store: Any, settings: Any) -> None:
    customer_id, token = await customer_token(settings)
    cart = await ready_cart(client, store, token=token, shipping_address=ADDRESS, metadata={"ref": "x"})
    body = await checked(await complete(client, store, cart["id"], token=token), CompleteCartResponse)
    order = body["order"]
    assert body["type"] == "order" and order["id"].startswith("order_")
    assert (order["display_id"], order["status"], order["payment_status"]) == (1, "pending", "authorized")
    assert (order["fulfillment_status"], order["cart_id"]) == ("not_fulfilled", cart["id"])
    assert order["customer_id"] == customer_id
    assert (order["email"], order["currency_code"], order["region_id"]) == ("ada@example.com", "eur", store.region_id)
    assert (order["sales_channel_id"], order["metadata"]) == (store.sales_channel_id, {"ref": "x"})
    assert (order["total"], order["subtotal"], order["item_total"], order["tax_total"], order["shipping_total"]) == (
        20.0, 20.0, 20.0, 0.0, 0.0,
    )  # fmt: skip
    assert order["shipping_address"]["city"] == "Berlin" and order["billing_address"] is None
    items = {i["variant_id"]: i for i in order["items"]}
    mug = items[store.variant_ids[2]]
    assert (mug["title"], mug["quantity"], mug["unit_price"], mug["total"], mug["order_id"]) == (
        "Mug", 2, 5.0, 10.0, order["id"],
    )  # fmt: skip
    assert mug["line_item_id"] in {i["id"] for i in cart["items"]}


async def test_completion_writes_cart_stock_payment_and_event(client: Any, store: Any) -> None:
    cart = await ready_cart(client, store)
    order = (await (await complete(client, store, cart["id"])).json())["order"]
    assert (await Cart.get(id=cart["id"])).completed_at is not None
    assert (await ProductVariant.get(id=store.variant_ids[2])).inventory_quantity == 1
    assert (await ProductVariant.get(id=store.variant_ids[0])).inventory_quantity == 0  # unmanaged: untouched
    assert (await PaymentCollection.get(cart_id=cart["id"])).status == "authorized"
    assert {s.status for s in await PaymentSession.all()} == {"authorized"}
    (event,) = await Event.all()
    # Delivered at once by the app's in-process executor (tests/test_events.py covers the delivery).
    assert (event.name, event.payload) == ("order.placed", {"id": order["id"]})
    assert await OrderItem.filter(order_id=order["id"]).count() == 2
    shown = (await checked(await client.get(f"/store/carts/{cart['id']}", headers=store.headers()), CartResponse))
    assert shown["cart"]["completed_at"] is not None


async def test_display_ids_are_sequential(client: Any, store: Any) -> None:
    display_ids = []
    for _ in range(3):
        cart = await ready_cart(client, store, items=[(store.variant_ids[0], 1)])
        display_ids.append((await (await complete(client, store, cart["id"])).json())["order"]["display_id"])
    assert display_ids == [1, 2, 3]


async def test_completing_twice_returns_the_same_order(client: Any, store: Any) -> None:
    cart = await ready_cart(client, store)
    first = await checked(await complete(client, store, cart["id"]), CompleteCartResponse)
    second = await checked(await complete(client, store, cart["id"]), CompleteCartResponse)
    assert second == first
    assert (await Order.all().count(), await Event.all().count()) == (1, 1)
    assert (await ProductVariant.get(id=store.variant_ids[2])).inventory_quantity == 1


async def test_concurrent_completions_make_one_order(client: Any, store: Any) -> None:
    cart = await ready_cart(client, store)
    responses = await asyncio.gather(*(complete(client, store, cart["id"]) for _ in range(10)))
    bodies = [await r.json() for r in responses]
    orders = {b["order"]["id"] for r, b in zip(responses, bodies, strict=True) if r.status == 200}
    assert len(orders) == 1
    assert all(r.status in (200, 409) for r in responses)
    assert (await Order.all().count(), await Event.all().count()) == (1, 1)
    assert (await ProductVariant.get(id=store.variant_ids[2])).inventory_quantity == 1


async def test_completion_held_by_another_request_is_a_conflict(client: Any, store: Any) -> None:
    cart = await ready_cart(client, store)
    await Cart.filter(id=cart["id"]).update(completing_until=timezone.now() + timedelta(seconds=30))
    body = await error_of(await complete(client, store, cart["id"]), 409)
    assert body["type"] == "conflict" and body["code"] == "invalid_state_error"
    assert await Order.all().count() == 0


async def test_expired_completion_lease_does_not_block(client: Any, store: Any) -> None:
    cart = await ready_cart(client, store)
    await Cart.filter(id=cart["id"]).update(completing_until=timezone.now() - timedelta(seconds=1))
    await checked(await complete(client, store, cart["id"]), CompleteCartResponse)
    assert (await Cart.get(id=cart["id"])).completing_until is None


async def test_cart_without_items_cannot_complete_and_stays_usable(client: Any, store: Any) -> None:
    cart = await create_cart(client, store)
    body = await error_of(await complete(client, store, cart["id"]), 400)
    assert body == {"type": "invalid_data", "message": "Cannot complete a cart with no items"}
    assert (await Cart.get(id=cart["id"])).completing_until is None
    await checked(await add_item(client, store, cart["id"], store.variant_ids[0]), CartResponse)


async def test_cart_without_payment_collection_cannot_complete(client: Any, store: Any) -> None:
    cart = await create_cart(client, store, items=[{"variant_id": store.variant_ids[0], "quantity": 1}])
    body = await error_of(await complete(client, store, cart["id"]), 400)
    assert body["message"] == "Payment collection has not been initiated for cart"


async def test_cart_without_payment_session_cannot_complete(client: Any, store: Any) -> None:
    cart = await create_cart(client, store, items=[{"variant_id": store.variant_ids[0], "quantity": 1}])
    await client.post("/store/payment-collections", json={"cart_id": cart["id"]}, headers=store.headers())
    body = await error_of(await complete(client, store, cart["id"]), 400)
    assert body["message"] == "Payment sessions are required to complete cart"


async def test_free_cart_completes_without_payment(client: Any, store: Any) -> None:
    free = await add_variant(store, title="Sticker", prices={"eur": "0"})
    cart = await create_cart(client, store, items=[{"variant_id": free, "quantity": 1}])
    body = await checked(await complete(client, store, cart["id"]), CompleteCartResponse)
    assert (body["order"]["total"], body["order"]["payment_status"]) == (0.0, "not_paid")


async def test_complete_unknown_or_foreign_cart_is_not_found(client: Any, store: Any, settings: Any) -> None:
    assert (await error_of(await complete(client, store, "cart_nope"), 404))["message"] == (
        "Cart with id 'cart_nope' not found"
    )
    _, ada = await customer_token(settings, "ada@example.com")
    _, bob = await customer_token(settings, "bob@example.com")
    cart = await ready_cart(client, store, token=ada)
    await error_of(await complete(client, store, cart["id"], token=bob), 404)
    assert (await Cart.get(id=cart["id"])).completing_until is None
    await checked(await complete(client, store, cart["id"], token=ada), CompleteCartResponse)
    await error_of(await complete(client, store, cart["id"], token=bob), 404)


async def test_stock_gone_since_adding_refuses_completion_and_writes_nothing(client: Any, store: Any) -> None:
    cart = await ready_cart(client, store)
    await ProductVariant.filter(id=store.variant_ids[2]).update(inventory_quantity=1)
    body = await error_of(await complete(client, store, cart["id"]), 400)
    assert (body["type"], body["code"]) == ("not_allowed", "insufficient_inventory")
    stored = await Cart.get(id=cart["id"])
    assert (stored.completed_at, stored.completing_until) == (None, None)
    assert (await Order.all().count(), await Event.all().count()) == (0, 0)
    assert (await ProductVariant.get(id=store.variant_ids[2])).inventory_quantity == 1


async def test_last_unit_goes_to_one_of_two_concurrent_carts(client: Any, store: Any) -> None:
    await ProductVariant.filter(id=store.variant_ids[2]).update(inventory_quantity=2)
    carts = [await ready_cart(client, store, items=[(store.variant_ids[2], 2)]) for _ in range(2)]
    responses = await asyncio.gather(*(complete(client, store, cart["id"]) for cart in carts))
    assert sorted(r.status for r in responses) == [200, 400]
    assert (await ProductVariant.get(id=store.variant_ids[2])).inventory_quantity == 0


async def test_failure_inside_the_order_transaction_leaves_nothing_behind(client: Any, store: Any) -> None:
    cart = await ready_cart(client, store)
    # An order already holds the display id the counter hands out next: the order insert fails.
    blocker = await Order.create(display_id=1, currency_code="eur")
    body = await error_of(await complete(client, store, cart["id"]), 409)
    assert body["type"] == "conflict"
    stored = await Cart.get(id=cart["id"])
    assert (stored.completed_at, stored.completing_until) == (None, None)
    assert (await ProductVariant.get(id=store.variant_ids[2])).inventory_quantity == 3
    assert await Order.all().count() == 1 and await Event.all().count() == 0
    assert (await PaymentCollection.get(cart_id=cart["id"])).status == "not_paid"
    await blocker.delete()
    await checked(await complete(client, store, cart["id"]), CompleteCartResponse)


class CompletionGate:
    """Refuses carts over 15 EUR, after registering an ERP hold it must release on failure."""

    def __init__(self) -> None:
        self.holds: list[str] = []
        self.seen: list[tuple[CartView, CustomerView | None]] = []

    @hookimpl
    async def validate_complete_cart(self, cart: CartView, customer: CustomerView | None) -> None:
        self.seen.append((cart, customer))
        self.holds.append(cart.id)
        current_workflow().register_compensation(self.holds.remove, cart.id)
        if sum(item.unit_price * item.quantity for item in cart.items) > Decimal(15):
            raise NotAllowed("Orders over 15 EUR need approval")


async def test_plugin_refusal_aborts_completion_and_compensates(
    client: Any, store: Any, settings: Any, plugins: Any
) -> None:
    gate = CompletionGate()
    plugins.register(gate)
    customer_id, token = await customer_token(settings)
    cart = await ready_cart(client, store, token=token)
    body = await error_of(await complete(client, store, cart["id"], token=token), 400)
    assert body == {"type": "not_allowed", "message": "Orders over 15 EUR need approval"}
    assert gate.holds == []
    cart_view, customer = gate.seen[0]
    assert (cart_view.id, len(cart_view.items), customer.id if customer else None) == (cart["id"], 2, customer_id)
    assert (await Cart.get(id=cart["id"])).completing_until is None
    line = await LineItem.get(cart_id=cart["id"], variant_id=store.variant_ids[2])
    resp = await client.post(
        f"/store/carts/{cart['id']}/line-items/{line.id}", json={"quantity": 0}, headers=store.headers(token)
    )
    assert resp.status == 200
    await initiate_payment(client, store, cart["id"], token=token)
    await checked(await complete(client, store, cart["id"], token=token), CompleteCartResponse)
    assert gate.holds == [cart["id"]]


async def test_complete_accepts_an_empty_json_body(client: Any, store: Any) -> None:
    cart = await ready_cart(client, store)
    headers = {**store.headers(), "content-type": "application/json"}
    resp = await client.post(f"/store/carts/{cart['id']}/complete?fields=*items", data=b"", headers=headers)
    await checked(resp, CompleteCartResponse)
