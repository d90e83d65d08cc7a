"""``/store/orders``: the logged-in customer's orders, and one order by id."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from core.api.endpoint import Access, endpoint
from core.api.store.carts import request_customer_id
from core.keys import AUTH
from core.schemas.carts import CartQuery
from core.schemas.orders import OrderListResponse, OrderResponse, render_order
from core.schemas.paging import ListQuery
from core.workflows.customer_orders import get_order, list_customer_orders

__all__ = [
    "routes",
]

routes = web.RouteTableDef()

TAGS = ("Store Orders",)


@routes.get("/store/orders")
@endpoint(
    query=ListQuery,
    response=OrderListResponse,
    summary="List the customer's orders",
    description="Newest first.",
    tags=TAGS,
    access=Access.CUSTOMER,
    errors=(400, 401),
)
async def list_store_orders(request: web.Request, *, query: ListQuery) -> dict[str, Any]:
    page = await list_customer_orders(request[AUTH].actor_id, limit=query.limit, offset=query.offset)
    return {
        "orders": [render_order(order) for order in page.orders],
        "count": page.count,
        "offset": query.offset,
        "limit": query.limit,
    }


@routes.get("/store/orders/{id}")
@endpoint(query=CartQuery, response=OrderResponse, summary="Retrieve an order", tags=TAGS, errors=(404,))
async def retrieve_store_order(request: web.Request, *, query: CartQuery) -> dict[str, Any]:
    order = await get_order(request.match_info["id"], request_customer_id(request))
    return {"order": render_order(order)}
