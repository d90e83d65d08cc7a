"""Cart request bodies, the cart response and :func:`render_cart`.

:func:`render_cart` renders a :class:`~core.workflows.cart_data.LoadedCart` without any query.
Totals follow Medusa's field names; there are no taxes, discounts or shipping yet, so those are 0
and every total equals the sum of the items' subtotals.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.emails import EmailAddress
from core.schemas.items import AddressOut, ItemOut, TotalsOut, item_fields, render_address
from core.schemas.payments import PaymentCollectionOut, render_payment_collection
from core.schemas.regions import CountryOut

if TYPE_CHECKING:
    from core.workflows.cart_data import LoadedCart

__all__ = [
    "AddLineItemBody",
    "AddressIn",
    "CartOut",
    "CartQuery",
    "CartRegionOut",
    "CartResponse",
    "CreateCartBody",
    "LineItemDeletedResponse",
    "LineItemOut",
    "NewLineItem",
    "UpdateCartBody",
    "UpdateLineItemBody",
    "render_cart",
]

MAX_QUANTITY = 1_000_000
MAX_ITEMS_PER_REQUEST = 100


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AddressIn(_Body):
    """An address payload; ``id`` names the cart's existing address to update."""

    id: str | None = Field(default=None, max_length=64)
    first_name: str | None = Field(default=None, max_length=255)
    last_name: str | None = Field(default=None, max_length=255)
    phone: str | None = Field(default=None, max_length=64)
    company: str | None = Field(default=None, max_length=255)
    address_1: str | None = Field(default=None, max_length=255)
    address_2: str | None = Field(default=None, max_length=255)
    city: str | None = Field(default=None, max_length=255)
    country_code: str | None = Field(default=None, min_length=2, max_length=2)
    province: str | None = Field(default=None, max_length=255)
    postal_code: str | None = Field(default=None, max_length=32)
    metadata: dict[str, Any] | None = None

    @field_validator("country_code")
    @classmethod
    def _lower_country(cls, value: str | None) -> str | None:
        return value.lower() if value is not None else None


class NewLineItem(_Body):
    """An item of ``POST /store/carts`` (``items``)."""

    variant_id: str = Field(min_length=1, max_length=64)
    quantity: int = Field(gt=0, le=MAX_QUANTITY)
    metadata: dict[str, Any] | None = None


class _CartFields(_Body):
    email: EmailAddress | None = None
    region_id: str | None = Field(default=None, max_length=64)
    sales_channel_id: str | None = Field(default=None, max_length=64)
    shipping_address: AddressIn | None = None
    billing_address: AddressIn | None = None
    metadata: dict[str, Any] | None = None
    promo_codes: list[str] | None = None
    locale: str | None = Field(default=None, max_length=16)
    additional_data: dict[str, Any] | None = None


class CreateCartBody(_CartFields):
    """``POST /store/carts``: every field optional (the region defaults to the oldest one)."""

    currency_code: str | None = Field(default=None, min_length=3, max_length=3)
    items: list[NewLineItem] | None = Field(default=None, max_length=MAX_ITEMS_PER_REQUEST)


class UpdateCartBody(_CartFields):
    """``POST /store/carts/{id}``: only the fields sent change (``email: null`` clears it)."""


class AddLineItemBody(_Body):
    """``POST /store/carts/{id}/line-items``."""

    variant_id: str = Field(min_length=1, max_length=64)
    quantity: int = Field(gt=0, le=MAX_QUANTITY)
    metadata: dict[str, Any] | None = None
    additional_data: dict[str, Any] | None = None


class AddCustomLineItemBody(_Body):
    """``POST /store/carts/{id}/custom-line-items``: the price comes from the ERP, not the request."""

    variant_id: str = Field(min_length=1, max_length=64)
    quantity: int = Field(gt=0, le=MAX_QUANTITY)
    metadata: dict[str, Any] | None = None


class UpdateLineItemBody(_Body):
    """``POST /store/carts/{id}/line-items/{line_id}``: quantity 0 removes the item."""

    quantity: int = Field(ge=0, le=MAX_QUANTITY)
    metadata: dict[str, Any] | None = None
    additional_data: dict[str, Any] | None = None


class CartQuery(BaseModel):
    """``fields`` is accepted; the full default field set is always returned."""

    model_config = ConfigDict(extra="ignore")

    fields: str | None = None


class LineItemOut(ItemOut):
    cart_id: str


class CartRegionOut(BaseModel):
    id: str
    name: str
    currency_code: str
    automatic_taxes: bool
    countries: list[CountryOut]


class CartOut(TotalsOut):
    id: str
    region_id: str
    currency_code: str
    email: str | None
    customer_id: str | None
    sales_channel_id: str | None
    shipping_address_id: str | None
    billing_address_id: str | None
    locale: str | None
    completed_at: datetime | None
    metadata: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    item_discount_total: float
    shipping_discount_total: float
    credit_line_total: float
    credit_line_subtotal: float
    credit_line_tax_total: float
    region: CartRegionOut
    items: list[LineItemOut]
    shipping_address: AddressOut | None
    billing_address: AddressOut | None
    shipping_methods: list[dict[str, Any]]
    promotions: list[dict[str, Any]]
    credit_lines: list[dict[str, Any]]
    payment_collection: PaymentCollectionOut | None


class CartResponse(BaseModel):
    cart: CartOut


class LineItemDeletedResponse(BaseModel):
    """``DELETE /store/carts/{id}/line-items/{line_id}``: Medusa names the cart ``parent``."""

    id: str
    object: str
    deleted: bool
    parent: CartOut


_ZERO_TOTALS = (
    "tax_total", "discount_total", "discount_subtotal", "discount_tax_total", "original_tax_total",
    "item_tax_total", "item_discount_total", "original_item_tax_total", "shipping_total",
    "shipping_subtotal", "shipping_tax_total", "shipping_discount_total", "original_shipping_total",
    "original_shipping_subtotal", "original_shipping_tax_total", "credit_line_total",
    "credit_line_subtotal", "credit_line_tax_total",
)  # fmt: skip
_ITEM_TOTALS = (
    "total", "subtotal", "original_total", "item_total", "item_subtotal", "original_item_total",
    "original_item_subtotal",
)  # fmt: skip


def _totals(item_total: Decimal) -> dict[str, float]:
    amount = float(item_total)
    totals = dict.fromkeys(_ZERO_TOTALS, 0.0)
    totals.update(dict.fromkeys(_ITEM_TOTALS, amount))
    return totals


def render_cart(loaded: LoadedCart) -> dict[str, Any]:
    """The Store API ``cart`` object (:class:`CartOut`) of a loaded cart; no query."""
    cart = loaded.cart
    region = loaded.region
    items = []
    for item in loaded.items:
        data = item_fields(item)
        data["cart_id"] = cart.id
        items.append(data)
    return {
        "id": cart.id,
        "region_id": region.id,
        "currency_code": cart.currency_code,
        "email": cart.email,
        "customer_id": cart.customer_id,  # type: ignore[attr-defined]
        "sales_channel_id": cart.sales_channel_id,  # type: ignore[attr-defined]
        "shipping_address_id": cart.shipping_address_id,  # type: ignore[attr-defined]
        "billing_address_id": cart.billing_address_id,  # type: ignore[attr-defined]
        "locale": cart.locale,
        "completed_at": cart.completed_at,
        "metadata": cart.metadata,
        "created_at": cart.created_at,
        "updated_at": cart.updated_at,
        **_totals(loaded.item_total()),
        "region": {
            "id": region.id,
            "name": region.name,
            "currency_code": region.currency_code,
            "automatic_taxes": region.automatic_taxes,
            "countries": loaded.countries,
        },
        "items": items,
        "shipping_address": render_address(loaded.shipping_address),
        "billing_address": render_address(loaded.billing_address),
        "shipping_methods": [],
        "promotions": [],
        "credit_lines": [],
        "payment_collection": render_payment_collection(loaded.payment_collection, loaded.payment_sessions),
    }
