"""Order responses: ``{"order": {...}}`` and ``{"orders": [...], count, offset, limit}``.

:func:`render_order` takes an :class:`~core.models.Order` whose ``items`` are prefetched
(``Order.filter(...).prefetch_related("items")``) and issues no query.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from core.models import Order, OrderItem
from core.schemas.items import AddressOut, ItemOut, TotalsOut, item_fields, render_address_snapshot

__all__ = [
    "OrderItemOut",
    "OrderListResponse",
    "OrderOut",
    "OrderResponse",
    "render_order",
]


class OrderItemOut(ItemOut):
    """An order item: the snapshot of a cart line item at completion."""

    order_id: str
    line_item_id: str | None


class OrderOut(TotalsOut):
    id: str
    display_id: int
    cart_id: str | None
    status: str
    fulfillment_status: str
    payment_status: str
    email: str | None
    currency_code: str
    region_id: str | None
    customer_id: str | None
    sales_channel_id: str | None
    metadata: dict[str, Any] | None
    items: list[OrderItemOut]
    shipping_address: AddressOut | None
    billing_address: AddressOut | None
    shipping_methods: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime
    canceled_at: datetime | None


class OrderResponse(BaseModel):
    order: OrderOut


class OrderListResponse(BaseModel):
    orders: list[OrderOut]
    count: int
    offset: int
    limit: int


def _totals(order: Order) -> dict[str, float]:
    item_total = float(order.item_total)
    shipping = float(order.shipping_total)
    tax = float(order.tax_total)
    discount = float(order.discount_total)
    return {
        "total": float(order.total),
        "subtotal": float(order.subtotal),
        "tax_total": tax,
        "discount_total": discount,
        "discount_subtotal": discount,
        "discount_tax_total": 0.0,
        "original_total": float(Decimal(order.total) + Decimal(order.discount_total)),
        "original_tax_total": tax,
        "item_total": item_total,
        "item_subtotal": item_total,
        "item_tax_total": 0.0,
        "original_item_total": item_total,
        "original_item_subtotal": item_total,
        "original_item_tax_total": 0.0,
        "shipping_total": shipping,
        "shipping_subtotal": shipping,
        "shipping_tax_total": 0.0,
        "original_shipping_total": shipping,
        "original_shipping_subtotal": shipping,
        "original_shipping_tax_total": 0.0,
    }


def render_order(order: Order, items: Iterable[OrderItem] | None = None) -> dict[str, Any]:
    """An order as :class:`OrderOut` (no query).

    :param items: the order's items; by default ``order.items``, which must be prefetched.
    """
    rendered = []
    for item in sorted(order.items if items is None else items, key=lambda i: i.id):
        data = item_fields(item)
        data["order_id"] = order.id
        data["line_item_id"] = item.line_item_id
        rendered.append(data)
    return {
        "id": order.id,
        "display_id": order.display_id,
        "cart_id": order.cart_id,
        "status": order.status,
        "fulfillment_status": order.fulfillment_status,
        "payment_status": order.payment_status,
        "email": order.email,
        "currency_code": order.currency_code,
        "region_id": order.region_id,
        "customer_id": order.customer_id,
        "sales_channel_id": order.sales_channel_id,
        "metadata": order.metadata,
        **_totals(order),
        "items": rendered,
        "shipping_address": render_address_snapshot(order.shipping_address),
        "billing_address": render_address_snapshot(order.billing_address),
        "shipping_methods": [],
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "canceled_at": order.canceled_at,
    }
