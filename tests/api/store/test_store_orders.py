"""``/store/orders``: a customer's orders, and one order by id."""

from __future__ import annotations

from typing import Any

from core.schemas.orders import OrderListResponse, OrderResponse

from .carts_support import checked, complete, create_cart, customer_token, error_of, initiate_payment


async def place_order(client: Any, store: Any, token: str | None = None, quantity: int = 1) -> dict[str, Any]:
    items = [{"variant_id": store.variant_ids[0], "quantity": quantity}]
    cart = await create_cart(client, store, token=token, items=items)
    await initiate_payment(client, store, cart["id"], token=token)
    order: dict[str, Any] = (await (await complete(client, store, cart["id"], token=token)).json())["order"]
    return order


async def test_list_orders_needs_a_customer_token(client: Any, store: Any) -> None:
    resp = await client.get("/store/orders", headers=store.headers())
    assert (resp.status, await resp.json()) == (401, {"message": "Unauthorized"})


async def test_list_orders_shows_own_orders_newest_first_and_paged(client: Any, store: Any, settings: Any) -> None:
    _, ada = await customer_token(settings, "ada@example.com")
    _, bob = await customer_token(settings, "bob@example.com")
    mine = [await place_order(client, store, ada, quantity=n) for n in (1, 2, 3)]
    await place_order(client, store, bob)
    await place_order(client, store)
    body = await checked(await client.get("/store/orders", headers=store.headers(ada)), OrderListResponse)
    assert [o["id"] for o in body["orders"]] == [o["id"] for o in reversed(mine)]
    assert (body["count"], body["offset"], body["limit"]) == (3, 0, 20)
    assert body["orders"][0]["items"][0]["quantity"] == 3
    resp = await client.get("/store/orders?limit=1&offset=1", headers=store.headers(ada))
    page = await checked(resp, OrderListResponse)
    assert ([o["id"] for o in page["orders"]], page["count"]) == ([mine[1]["id"]], 3)


async def test_retrieve_order(client: Any, store: Any, settings: Any) -> None:
    _, ada = await customer_token(settings)
    placed = await place_order(client, store, ada)
    body = await checked(await client.get(f"/store/orders/{placed['id']}", headers=store.headers(ada)), OrderResponse)
    assert body["order"] == placed


async def test_guest_order_is_readable_by_id(client: Any, store: Any) -> None:
    placed = await place_order(client, store)
    body = await checked(await client.get(f"/store/orders/{placed['id']}", headers=store.headers()), OrderResponse)
    assert body["order"]["id"] == placed["id"] and body["order"]["customer_id"] is None


async def test_another_customers_order_is_not_found(client: Any, store: Any, settings: Any) -> None:
    _, ada = await customer_token(settings, "ada@example.com")
    _, bob = await customer_token(settings, "bob@example.com")
    placed = await place_order(client, store, ada)
    body = await error_of(await client.get(f"/store/orders/{placed['id']}", headers=store.headers(bob)), 404)
    assert body == {"type": "not_found", "message": f"Order with id: {placed['id']} was not found"}


async def test_unknown_order_is_not_found(client: Any, store: Any) -> None:
    await error_of(await client.get("/store/orders/order_nope", headers=store.headers()), 404)
