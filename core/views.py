"""Pydantic views handed to hook implementations (never ORM objects).

Fields are only ever added, never renamed: plugins rely on them.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "CartItemView",
    "CartView",
    "CustomerView",
    "ItemToAdd",
    "LinePrice",
    "PricingPurpose",
    "VariantPrice",
    "VariantView",
]

PricingPurpose = Literal["line-item", "custom-line-item", "quantity-update"]


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class VariantView(_View):
    id: str
    title: str
    sku: str | None = None
    external_id: str | None = None
    product_id: str
    product_title: str
    product_external_id: str | None = None
    manage_inventory: bool = False
    allow_backorder: bool = False
    inventory_quantity: int = 0


class CartItemView(_View):
    """A line item already in the cart."""

    id: str
    variant_id: str | None
    product_id: str | None
    quantity: int
    unit_price: Decimal
    is_custom_price: bool = False
    metadata: dict[str, Any] | None = None


class CartView(_View):
    id: str
    region_id: str
    currency_code: str
    email: str | None = None
    customer_id: str | None = None
    sales_channel_id: str | None = None
    completed_at: datetime | None = None
    metadata: dict[str, Any] | None = None
    items: list[CartItemView] = []


class ItemToAdd(_View):
    """An item a request wants to put in the cart.

    ``quantity`` is the quantity the line will have after the change (for an add that merges
    with an existing line: the existing quantity plus the added one).
    """

    variant: VariantView
    quantity: int
    added_quantity: int
    metadata: dict[str, Any] | None = None
    line_item_id: str | None = None
    is_custom_price: bool = False
    """The line is custom-priced: added through ``custom-line-items`` (or merging into such a line)."""


class CustomerView(_View):
    id: str
    email: str
    company_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    metadata: dict[str, Any] | None = None


class LinePrice(_View):
    """The unit price a pricing implementation gives one variant at one quantity."""

    variant_id: str
    unit_price: Decimal
    currency_code: str
    is_custom_price: bool = False
    compare_at_unit_price: Decimal | None = None


class VariantPrice(_View):
    """A listing price for one variant (quantity 1) in one currency."""

    variant_id: str
    amount: Decimal
    currency_code: str
    original_amount: Decimal | None = None
