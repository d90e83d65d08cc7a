"""Admin orders: list newest first, retrieve."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from core.models import Order, OrderItem
from core.schemas.orders import OrderListResponse, OrderResponse


async def place_order(display_id: int, email: str) -> Order:
    order = await Order.create(
        display_id=display_id,
        email=email,
        currency_code="eur",
        item_total=Decimal("20"),
        subtotal=Decimal("20"),
        total=Decimal("20"),
        shipping_address={"first_name": "Jane", "country_code": "de"},
    )
    await OrderItem.create(
        order=order,
        title="Shirt",
        quantity=2,
        unit_price=Decimal("10"),
        variant_sku="SHIRT-S",
        product_title="Shirt",
    )
    return order


async def test_list_orders_newest_first(admin_api: Any) -> None:
    for number in (1, 2, 3):
        await place_order(number, f"buyer{number}@example.com")
    body = await admin_api.get("/admin/orders", model=OrderListResponse)
    assert [order["display_id"] for order in body["orders"]] == [3, 2, 1]
    assert (body["count"], body["offset"], body["limit"]) == (3, 0, 20)
    first = body["orders"][2]
    assert first["email"] == "buyer1@example.com" and first["total"] == 20.0
    assert [(item["title"], item["quantity"], item["unit_price"]) for item in first["items"]] == [
        ("Shirt", 2, 10.0)
    ]


async def test_list_orders_pages_and_orders(admin_api: Any) -> None:
    for number in (1, 2, 3):
        await place_order(number, f"buyer{number}@example.com")
    page = await admin_api.get("/admin/orders?limit=1&offset=1&order=display_id")
    assert [order["display_id"] for order in page["orders"]] == [2] and page["count"] == 3
    body = await admin_api.get("/admin/orders?order=items", status=400)
    assert body == {"type": "invalid_data", "message": "Order field items is not valid"}


async def test_retrieve_order(admin_api: Any) -> None:
    order = await place_order(7, "jane@example.com")
    body = await admin_api.get(f"/admin/orders/{order.id}", model=OrderResponse)
    assert body["order"]["id"] == order.id and body["order"]["display_id"] == 7
    assert body["order"]["shipping_address"]["first_name"] == "Jane"


async def test_retrieve_unknown_order_is_not_found(admin_api: Any) -> None:
    body = await admin_api.get("/admin/orders/order_nope", status=404)
    assert body == {"type": "not_found", "message": "Order with id: order_nope was not found"}


async def test_an_offset_beyond_a_sql_integer_is_invalid_data(admin_api: Any) -> None:
    # found by scripts/drill_fuzz.py: the offset reached the database, which cannot hold it (500)
    body = await admin_api.get("/admin/orders?offset=36514497472373149696", status=400)
    assert body["type"] == "invalid_data" and "offset" in body["message"]
