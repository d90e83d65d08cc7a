"""Product request/response models: Medusa's Store product shape, the Admin additions, admin bodies.

Fields Medusa returns by default that we do not model yet (collection, type, tags, dimensions)
are always ``null``/empty so storefronts reading them keep working.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.schemas.paging import SearchListQuery, ValueList
from core.schemas.sales_channels import SalesChannelOut

__all__ = [
    "PRODUCT_STATUSES",
    "AdminProductListResponse",
    "AdminProductOut",
    "AdminProductResponse",
    "AdminProductsQuery",
    "AdminVariantOut",
    "CalculatedPriceOut",
    "CreateProductBody",
    "CreateVariantBody",
    "PriceBody",
    "PriceOut",
    "ProductDeletedResponse",
    "ProductQuery",
    "SalesChannelRef",
    "StoreProductListResponse",
    "StoreProductOut",
    "StoreProductResponse",
    "StoreProductsQuery",
    "UpdateProductBody",
    "UpdateVariantBody",
]

PRODUCT_STATUSES = ("draft", "proposed", "published", "rejected")
ProductStatus = Literal["draft", "proposed", "published", "rejected"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -------------------------------------------------------------------------------------------------
# Responses
# -------------------------------------------------------------------------------------------------


class ImageOut(_Out):
    id: str
    url: str
    rank: int


class OptionValueOut(_Out):
    """A value of a product option; in a variant's ``options`` it is the value the variant has."""

    id: str
    value: str
    option_id: str


class OptionOut(_Out):
    id: str
    title: str
    product_id: str
    values: list[OptionValueOut]


class PriceDetailOut(_Out):
    id: str
    price_list_id: None
    price_list_type: None
    min_quantity: int | None
    max_quantity: int | None


class CalculatedPriceOut(_Out):
    """Medusa's ``BaseCalculatedPriceSet`` (no price lists or taxes yet: original = calculated)."""

    id: str
    calculated_amount: float
    original_amount: float
    currency_code: str
    is_calculated_price_tax_inclusive: bool
    is_calculated_price_price_list: bool
    is_original_price_tax_inclusive: bool
    is_original_price_price_list: bool
    calculated_price: PriceDetailOut
    original_price: PriceDetailOut


class PriceOut(_Out):
    id: str
    variant_id: str
    currency_code: str
    amount: float
    min_quantity: int | None
    max_quantity: int | None
    created_at: datetime
    updated_at: datetime


class _VariantOut(_Out):
    id: str
    title: str
    sku: str | None
    barcode: str | None
    external_id: str | None
    product_id: str
    variant_rank: int
    manage_inventory: bool
    allow_backorder: bool
    inventory_quantity: int
    metadata: dict[str, Any] | None
    options: list[OptionValueOut]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class StoreVariantOut(_VariantOut):
    """``calculated_price`` is present when a region was given; null without a price in its currency."""

    calculated_price: CalculatedPriceOut | None = None


class AdminVariantOut(_VariantOut):
    prices: list[PriceOut]


class _ProductOut(_Out):
    id: str
    title: str
    subtitle: str | None
    description: str | None
    handle: str
    status: ProductStatus
    thumbnail: str | None
    is_giftcard: bool
    discountable: bool
    external_id: str | None
    metadata: dict[str, Any] | None
    collection_id: None
    type_id: None
    collection: None
    type: None
    tags: list[Any]
    weight: None
    length: None
    height: None
    width: None
    hs_code: None
    origin_country: None
    mid_code: None
    material: None
    images: list[ImageOut]
    options: list[OptionOut]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class StoreProductOut(_ProductOut):
    variants: list[StoreVariantOut]


class AdminProductOut(_ProductOut):
    variants: list[AdminVariantOut]
    sales_channels: list[SalesChannelOut]


class StoreProductResponse(_Out):
    product: StoreProductOut


class StoreProductListResponse(_Out):
    products: list[StoreProductOut]
    count: int
    offset: int
    limit: int


class AdminProductResponse(_Out):
    product: AdminProductOut


class AdminProductListResponse(_Out):
    products: list[AdminProductOut]
    count: int
    offset: int
    limit: int


class ProductDeletedResponse(_Out):
    id: str
    object: Literal["product"]
    deleted: bool


# -------------------------------------------------------------------------------------------------
# Queries
# -------------------------------------------------------------------------------------------------


class ProductQuery(BaseModel):
    """``GET /store/products/{id}``: ``region_id`` adds ``variants[].calculated_price``."""

    model_config = ConfigDict(extra="ignore")

    fields: str | None = None
    region_id: str | None = None


class StoreProductsQuery(SearchListQuery):
    """``GET /store/products``: published products of the key's sales channels.

    ``q`` searches title and description; ``region_id`` adds ``variants[].calculated_price``.
    """

    limit: int = Field(default=50, ge=0, le=1000)
    id: ValueList = None
    handle: ValueList = None
    title: ValueList = None
    sales_channel_id: ValueList = None
    region_id: str | None = None


class AdminProductsQuery(SearchListQuery):
    """``GET /admin/products``: every status unless ``status`` filters; deleted products never."""

    limit: int = Field(default=50, ge=0, le=1000)
    id: ValueList = None
    handle: ValueList = None
    status: ValueList = None
    sales_channel_id: ValueList = None

    @field_validator("status")
    @classmethod
    def _known_statuses(cls, statuses: list[str] | None) -> list[str] | None:
        for status in statuses or ():
            if status not in PRODUCT_STATUSES:
                raise ValueError(f"status must be one of {', '.join(PRODUCT_STATUSES)}")
        return statuses


# -------------------------------------------------------------------------------------------------
# Admin bodies
# -------------------------------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PriceBody(_Body):
    """A variant price in major units; ``min_quantity``/``max_quantity`` make quantity breaks."""

    currency_code: str = Field(min_length=3, max_length=3)
    amount: Decimal = Field(ge=0, max_digits=20, decimal_places=4)
    min_quantity: int | None = Field(default=None, ge=1)
    max_quantity: int | None = Field(default=None, ge=1)

    @field_validator("currency_code")
    @classmethod
    def _lower(cls, code: str) -> str:
        return code.lower()


class ImageBody(_Body):
    url: str = Field(min_length=1, max_length=1024)


class OptionBody(_Body):
    title: str = Field(min_length=1, max_length=255)
    values: list[str] = Field(min_length=1)


class SalesChannelRef(_Body):
    id: str


class _VariantFields(_Body):
    sku: str | None = Field(default=None, max_length=255)
    barcode: str | None = Field(default=None, max_length=255)
    external_id: str | None = Field(default=None, max_length=255)
    variant_rank: int | None = None
    metadata: dict[str, Any] | None = None


class CreateVariantBody(_VariantFields):
    """A new variant; ``options`` names a value of every product option (``{"Size": "S"}``)."""

    title: str = Field(min_length=1, max_length=255)
    manage_inventory: bool = False
    allow_backorder: bool = False
    inventory_quantity: int = 0
    options: dict[str, str] = Field(default_factory=dict)
    prices: list[PriceBody] = Field(default_factory=list)


class UpdateVariantBody(_VariantFields):
    """``POST /admin/products/{id}/variants/{variant_id}``: ``prices``, when given, replaces them all."""

    title: str | None = Field(default=None, min_length=1, max_length=255)
    manage_inventory: bool | None = None
    allow_backorder: bool | None = None
    inventory_quantity: int | None = None
    prices: list[PriceBody] | None = None


class _ProductFields(_Body):
    subtitle: str | None = Field(default=None, max_length=255)
    description: str | None = None
    handle: str | None = Field(default=None, min_length=1, max_length=255)
    thumbnail: str | None = Field(default=None, max_length=1024)
    is_giftcard: bool | None = None
    discountable: bool | None = None
    external_id: str | None = Field(default=None, max_length=255)
    metadata: dict[str, Any] | None = None
    sales_channels: list[SalesChannelRef] | None = None


class CreateProductBody(_ProductFields):
    """``POST /admin/products``; the handle defaults to the title in kebab case."""

    title: str = Field(min_length=1, max_length=255)
    status: ProductStatus = "draft"
    images: list[ImageBody] = Field(default_factory=list)
    options: list[OptionBody] = Field(default_factory=list)
    variants: list[CreateVariantBody] = Field(default_factory=list)


class UpdateProductBody(_ProductFields):
    """``POST /admin/products/{id}``: ``sales_channels``, when given, replaces them."""

    title: str | None = Field(default=None, min_length=1, max_length=255)
    status: ProductStatus | None = None
