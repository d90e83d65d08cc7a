"""Reading orders as a storefront customer sees them: their own, newest first."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import NotFound
from core.models import Order

__all__ = [
    "OrderPage",
    "get_order",
    "list_customer_orders",
]


@dataclass(frozen=True, slots=True)
class OrderPage:
    orders: list[Order]
    count: int


async def list_customer_orders(customer_id: str, *, limit: int, offset: int) -> OrderPage:
    """One page of the customer's orders with their items (three queries)."""
    queryset = Order.filter(customer_id=customer_id)
    count = await queryset.count()
    orders = await queryset.order_by("-created_at", "-id").offset(offset).limit(limit).prefetch_related("items")
    return OrderPage(list(orders), count)


async def get_order(order_id: str, customer_id: str | None) -> Order:
    """The order with its items; another customer's order does not exist for the caller.

    :raises NotFound: for an unknown order or another customer's.
    """
    order = await Order.get_or_none(id=order_id).prefetch_related("items")
    owner = None if order is None else order.customer_id
    if order is None or (owner is not None and customer_id is not None and owner != customer_id):
        raise NotFound(f"Order with id: {order_id} was not found")
    return order
