"""Admin orders: list (newest first) and retrieve, in the Store order shape."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from core.api.endpoint import Access, endpoint
from core.catalog.paging import fetch_page
from core.errors import NotFound
from core.models import Order
from core.schemas.orders import OrderListResponse, OrderResponse, render_order
from core.schemas.paging import ListQuery

__all__ = [
    "routes",
]

routes = web.RouteTableDef()

TAGS = ("Admin", "Orders")
ORDER_FIELDS = ("id", "display_id", "created_at", "updated_at", "total", "status", "email")


@routes.get("/admin/orders")
@endpoint(
    query=ListQuery,
    response=OrderListResponse,
    summary="List orders (newest first)",
    tags=TAGS,
    access=Access.ADMIN,
    errors=(400, 401),
)
async def admin_list_orders(request: web.Request, *, query: ListQuery) -> dict[str, Any]:
    orders, count = await fetch_page(
        Order.all().prefetch_related("items"), query, allowed_order=ORDER_FIELDS, default_order="-created_at"
    )
    return {
        "orders": [render_order(order) for order in orders],
        "count": count,
        "offset": query.offset,
        "limit": query.limit,
    }


@routes.get("/admin/orders/{id}")
@endpoint(
    query=ListQuery,
    response=OrderResponse,
    summary="Retrieve an order",
    tags=TAGS,
    access=Access.ADMIN,
    errors=(401, 404),
)
async def admin_retrieve_order(request: web.Request, *, query: ListQuery) -> dict[str, Any]:
    order_id = request.match_info["id"]
    order = await Order.get_or_none(id=order_id).prefetch_related("items")
    if order is None:
        raise NotFound(f"Order with id: {order_id} was not found")
    return {"order": render_order(order)}
