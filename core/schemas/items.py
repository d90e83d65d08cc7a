"""Response models shared by carts and orders: addresses and the fields of an item.

An order item is a snapshot of a cart line item, so both render through :func:`item_fields`
(amounts as JSON numbers in major units, with Medusa's per-item totals: no taxes or discounts yet).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from core.models import Address, LineItem, OrderItem

__all__ = [
    "TotalsOut",
    "ADDRESS_FIELDS",
    "AddressOut",
    "ItemOut",
    "address_snapshot",
    "item_fields",
    "render_address",
    "render_address_snapshot",
]

ADDRESS_FIELDS = (
    "first_name",
    "last_name",
    "phone",
    "company",
    "address_1",
    "address_2",
    "city",
    "country_code",
    "province",
    "postal_code",
    "metadata",
)


class TotalsOut(BaseModel):
    """The totals carts and orders share (major units; taxes and shipping are 0 for now)."""

    total: float
    subtotal: float
    tax_total: float
    discount_total: float
    discount_subtotal: float
    discount_tax_total: float
    original_total: float
    original_tax_total: float
    item_total: float
    item_subtotal: float
    item_tax_total: float
    original_item_total: float
    original_item_subtotal: float
    original_item_tax_total: float
    shipping_total: float
    shipping_subtotal: float
    shipping_tax_total: float
    original_shipping_total: float
    original_shipping_subtotal: float
    original_shipping_tax_total: float


class AddressOut(BaseModel):
    """A cart's shipping or billing address (an order keeps a snapshot, without timestamps)."""

    id: str | None
    first_name: str | None
    last_name: str | None
    phone: str | None
    company: str | None
    address_1: str | None
    address_2: str | None
    city: str | None
    country_code: str | None
    province: str | None
    postal_code: str | None
    metadata: dict[str, Any] | None
    created_at: datetime | None
    updated_at: datetime | None


class ItemOut(BaseModel):
    """The fields a cart line item and an order item have in common."""

    id: str
    title: str
    subtitle: str | None
    thumbnail: str | None
    quantity: int
    unit_price: float
    compare_at_unit_price: float | None
    is_custom_price: bool
    is_tax_inclusive: bool
    is_giftcard: bool
    requires_shipping: bool
    variant_id: str | None
    product_id: str | None
    product_title: str | None
    product_description: str | None
    product_subtitle: str | None
    product_handle: str | None
    product_type: str | None
    product_type_id: str | None
    product_collection: str | None
    variant_title: str | None
    variant_sku: str | None
    variant_barcode: str | None
    metadata: dict[str, Any] | None
    subtotal: float
    total: float
    original_total: float
    original_subtotal: float
    tax_total: float
    original_tax_total: float
    discount_total: float
    discount_subtotal: float
    discount_tax_total: float
    tax_lines: list[dict[str, Any]]
    adjustments: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


def render_address(address: Address | None) -> dict[str, Any] | None:
    """An address row as :class:`AddressOut`, or None."""
    if address is None:
        return None
    data: dict[str, Any] = {"id": address.id}
    for name in ADDRESS_FIELDS:
        data[name] = getattr(address, name)
    data["created_at"] = address.created_at
    data["updated_at"] = address.updated_at
    return data


def address_snapshot(address: Address | None) -> dict[str, Any] | None:
    """The JSON-storable copy of an address an order keeps (no timestamps)."""
    if address is None:
        return None
    data: dict[str, Any] = {"id": address.id}
    for name in ADDRESS_FIELDS:
        data[name] = getattr(address, name)
    return data


def render_address_snapshot(snapshot: dict[str, Any] | None) -> dict[str, Any] | None:
    """An order's stored address snapshot as :class:`AddressOut` (missing keys become None)."""
    if snapshot is None:
        return None
    data: dict[str, Any] = {"id": snapshot.get("id")}
    for name in ADDRESS_FIELDS:
        data[name] = snapshot.get(name)
    data["created_at"] = None
    data["updated_at"] = None
    return data


def item_fields(item: LineItem | OrderItem) -> dict[str, Any]:
    """The :class:`ItemOut` fields of a line item or an order item, totals included."""
    subtotal = float(Decimal(item.unit_price) * item.quantity)
    compare_at = getattr(item, "compare_at_unit_price", None)
    return {
        "id": item.id,
        "title": item.title,
        "subtitle": item.subtitle,
        "thumbnail": item.thumbnail,
        "quantity": item.quantity,
        "unit_price": float(item.unit_price),
        "compare_at_unit_price": None if compare_at is None else float(compare_at),
        "is_custom_price": item.is_custom_price,
        "is_tax_inclusive": item.is_tax_inclusive,
        "is_giftcard": False,
        "requires_shipping": item.requires_shipping,
        "variant_id": item.variant_id,
        "product_id": item.product_id,
        "product_title": item.product_title,
        "product_description": getattr(item, "product_description", None),
        "product_subtitle": getattr(item, "product_subtitle", None),
        "product_handle": item.product_handle,
        "product_type": None,
        "product_type_id": None,
        "product_collection": None,
        "variant_title": item.variant_title,
        "variant_sku": item.variant_sku,
        "variant_barcode": getattr(item, "variant_barcode", None),
        "metadata": item.metadata,
        "subtotal": subtotal,
        "total": subtotal,
        "original_total": subtotal,
        "original_subtotal": subtotal,
        "tax_total": 0.0,
        "original_tax_total": 0.0,
        "discount_total": 0.0,
        "discount_subtotal": 0.0,
        "discount_tax_total": 0.0,
        "tax_lines": [],
        "adjustments": [],
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }
