"""Product reads for the Store and Admin APIs, rendered straight from ``.values()`` rows.

A page of products costs a constant number of queries whatever its size: the page (and a count
when the page does not tell it), options, option values, variants, variant-option links, images,
and, as needed, prices for a region (:mod:`core.catalog.pricing`, the pricing plugins' too when
there are any), all prices and sales channels (admin). No model instances are built on the way.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from core.catalog.paging import fetch_value_page
from core.catalog.pricing import PluginPricing, calculated_prices, plugin_calculated_prices, pricing_currency
from core.catalog.sales_channels import SALES_CHANNEL_FIELDS
from core.errors import InvalidData, NotFound
from core.models import (
    Price,
    Product,
    ProductImage,
    ProductOption,
    ProductOptionValue,
    ProductVariant,
    SalesChannel,
)
from core.schemas.products import AdminProductsQuery, StoreProductsQuery
from core.views import VariantView

__all__ = [
    "PRODUCT_ORDER_FIELDS",
    "get_admin_product",
    "get_store_product",
    "list_admin_products",
    "list_store_products",
    "render_products",
    "store_sales_channels",
]

PRODUCT_FIELDS = (
    "id",
    "title",
    "subtitle",
    "description",
    "handle",
    "status",
    "thumbnail",
    "is_giftcard",
    "discountable",
    "external_id",
    "metadata",
    "created_at",
    "updated_at",
    "deleted_at",
)
VARIANT_FIELDS = (
    "id",
    "title",
    "sku",
    "barcode",
    "external_id",
    "product_id",
    "variant_rank",
    "manage_inventory",
    "allow_backorder",
    "inventory_quantity",
    "metadata",
    "created_at",
    "updated_at",
    "deleted_at",
)
PRODUCT_ORDER_FIELDS = ("id", "title", "handle", "status", "created_at", "updated_at")
# Medusa default fields we do not model yet: always empty.
_UNMODELLED = {
    "collection_id": None,
    "type_id": None,
    "collection": None,
    "type": None,
    "weight": None,
    "length": None,
    "height": None,
    "width": None,
    "hs_code": None,
    "origin_country": None,
    "mid_code": None,
    "material": None,
}


# -------------------------------------------------------------------------------------------------
# Rendering
# -------------------------------------------------------------------------------------------------


async def _options(
    product_ids: list[str],
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, dict[str, Any]]]:
    """Options (with their values) by product id, and every value by its id."""
    options = await (
        ProductOption.filter(product_id__in=product_ids)
        .order_by("created_at", "id")
        .values("id", "title", "product_id")
    )
    values = await (
        ProductOptionValue.filter(option__product_id__in=product_ids)
        .order_by("created_at", "id")
        .values("id", "value", "option_id")
    )
    by_option: dict[str, list[dict[str, Any]]] = {option["id"]: [] for option in options}
    for value in values:
        by_option[value["option_id"]].append(value)
    by_product: dict[str, list[dict[str, Any]]] = {}
    for option in options:
        option["values"] = by_option[option["id"]]
        by_product.setdefault(option["product_id"], []).append(option)
    return by_product, {value["id"]: value for value in values}


async def _variants(product_ids: list[str], values: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The live variants of these products, each with ``options`` (its option values)."""
    variants = await (
        ProductVariant.filter(product_id__in=product_ids, deleted_at=None)
        .order_by("variant_rank", "created_at", "id")
        .values(*VARIANT_FIELDS)
    )
    links = await ProductVariant.filter(id__in=[v["id"] for v in variants]).values_list("id", "options__id")
    position = {value_id: index for index, value_id in enumerate(values)}  # the product options' order
    chosen: dict[str, list[str]] = {variant["id"]: [] for variant in variants}
    for variant_id, value_id in links:
        if value_id is not None:
            chosen[variant_id].append(value_id)
    for variant in variants:
        variant["options"] = [
            values[value_id] for value_id in sorted(chosen[variant["id"]], key=position.__getitem__)
        ]
    return variants


async def _images(product_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    rows = await (
        ProductImage.filter(product_id__in=product_ids)
        .order_by("rank", "created_at", "id")
        .values("id", "url", "rank", "product_id")
    )
    by_product: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_product.setdefault(row.pop("product_id"), []).append(row)
    return by_product


async def _all_prices(variant_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    rows = await (
        Price.filter(variant_id__in=variant_ids)
        .order_by("currency_code", "created_at", "id")
        .values(
            "id",
            "variant_id",
            "currency_code",
            "amount",
            "min_quantity",
            "max_quantity",
            "created_at",
            "updated_at",
        )
    )
    by_variant: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        row["amount"] = float(Decimal(row["amount"]))
        by_variant.setdefault(row["variant_id"], []).append(row)
    return by_variant


async def _sales_channels(product_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    rows = await (
        SalesChannel.filter(products__id__in=product_ids)
        .order_by("created_at", "id")
        .values(*SALES_CHANNEL_FIELDS, product_id="products__id")
    )
    by_product: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_product.setdefault(row.pop("product_id"), []).append(row)
    return by_product


def _variant_views(variants: list[dict[str, Any]], products: list[dict[str, Any]]) -> list[VariantView]:
    """The variant rows as pricing plugins see them."""
    by_id = {product["id"]: product for product in products}
    return [
        VariantView(
            id=variant["id"],
            title=variant["title"],
            sku=variant["sku"],
            external_id=variant["external_id"],
            product_id=variant["product_id"],
            product_title=by_id[variant["product_id"]]["title"],
            product_external_id=by_id[variant["product_id"]]["external_id"],
            manage_inventory=variant["manage_inventory"],
            allow_backorder=variant["allow_backorder"],
            inventory_quantity=variant["inventory_quantity"],
        )
        for variant in variants
    ]


async def _decorate_variants(
    variants: list[dict[str, Any]],
    products: list[dict[str, Any]],
    *,
    currency_code: str | None,
    admin: bool,
    region_id: str | None = None,
    pricing: PluginPricing | None = None,
) -> None:
    variant_ids = [variant["id"] for variant in variants]
    if admin:
        prices = await _all_prices(variant_ids)
        for variant in variants:
            variant["prices"] = prices.get(variant["id"], [])
    elif currency_code is not None:
        if pricing is not None and region_id is not None:
            views = _variant_views(variants, products)
            calculated = await plugin_calculated_prices(views, currency_code, region_id, pricing)
        else:
            calculated = await calculated_prices(variant_ids, currency_code)
        for variant in variants:
            variant["calculated_price"] = calculated[variant["id"]]


async def render_products(
    rows: list[dict[str, Any]],
    *,
    currency_code: str | None = None,
    admin: bool = False,
    region_id: str | None = None,
    pricing: PluginPricing | None = None,
) -> list[dict[str, Any]]:
    """Product dicts (Store shape, or Admin shape with prices and sales channels) for ``PRODUCT_FIELDS`` rows.

    :param currency_code: add ``variants[].calculated_price`` in this currency (Store shape only).
    :param region_id: the region ``currency_code`` is for (with ``pricing``).
    :param pricing: the pricing plugins' prices win over the database's (Store shape only).
    """
    if not rows:
        return []
    product_ids = [row["id"] for row in rows]
    options, values = await _options(product_ids)
    variants = await _variants(product_ids, values)
    await _decorate_variants(
        variants, rows, currency_code=currency_code, admin=admin, region_id=region_id, pricing=pricing
    )
    images = await _images(product_ids)
    channels = await _sales_channels(product_ids) if admin else {}
    by_product: dict[str, list[dict[str, Any]]] = {}
    for variant in variants:
        by_product.setdefault(variant["product_id"], []).append(variant)
    for row in rows:
        row.update(_UNMODELLED)
        row["tags"] = []
        row["images"] = images.get(row["id"], [])
        row["options"] = options.get(row["id"], [])
        row["variants"] = by_product.get(row["id"], [])
        if admin:
            row["sales_channels"] = channels.get(row["id"], [])
    return rows


# -------------------------------------------------------------------------------------------------
# Store API
# -------------------------------------------------------------------------------------------------


def store_sales_channels(requested: Sequence[str] | None, key_channels: Sequence[str]) -> list[str]:
    """The sales channels a store request may see: the requested ones, all within the key's.

    :raises InvalidData: when the key has no channel, or a requested channel is not the key's.
    """
    if requested:
        if not set(requested) <= set(key_channels):
            raise InvalidData("Requested sales channel is not part of the publishable key")
        return list(requested)
    if not key_channels:
        raise InvalidData("Publishable key needs to have a sales channel configured")
    return list(key_channels)


def _visible_in_store(channel_ids: Sequence[str]) -> QuerySet[Product]:
    """Published, not deleted products of these (enabled) sales channels."""
    in_channels = SalesChannel.filter(id__in=list(channel_ids), is_disabled=False).values("products__id")
    return Product.filter(status="published", deleted_at=None, id__in=Subquery(in_channels))


def _filtered(
    queryset: QuerySet[Product], query: StoreProductsQuery | AdminProductsQuery
) -> QuerySet[Product]:
    if query.id:
        queryset = queryset.filter(id__in=query.id)
    if query.handle:
        queryset = queryset.filter(handle__in=query.handle)
    if query.q:
        queryset = queryset.filter(Q(title__icontains=query.q) | Q(description__icontains=query.q))
    return queryset


async def list_store_products(
    query: StoreProductsQuery, key_channels: Sequence[str], pricing: PluginPricing | None = None
) -> dict[str, Any]:
    """``GET /store/products``: ``{"products", "count", "offset", "limit"}``.

    :param pricing: the pricing plugins and the customer asking (None: database prices only).
    """
    channels = store_sales_channels(query.sales_channel_id, key_channels)
    currency = await pricing_currency(query.region_id) if query.region_id else None
    queryset = _filtered(_visible_in_store(channels), query)
    if query.title:
        queryset = queryset.filter(title__in=query.title)
    rows, count = await fetch_value_page(queryset, query, PRODUCT_FIELDS, allowed_order=PRODUCT_ORDER_FIELDS)
    products = await render_products(rows, currency_code=currency, region_id=query.region_id, pricing=pricing)
    return {"products": products, "count": count, "offset": query.offset, "limit": query.limit}


async def get_store_product(
    product_id: str, key_channels: Sequence[str], region_id: str | None, pricing: PluginPricing | None = None
) -> dict[str, Any]:
    """``GET /store/products/{id}``: ``{"product"}``.

    :param pricing: the pricing plugins and the customer asking (None: database prices only).
    :raises NotFound: when the product is not visible through this key.
    """
    channels = store_sales_channels(None, key_channels)
    currency = await pricing_currency(region_id) if region_id else None
    rows = await _visible_in_store(channels).filter(id=product_id).values(*PRODUCT_FIELDS)
    if not rows:
        raise NotFound(f"Product with id: {product_id} was not found")
    (product,) = await render_products(rows, currency_code=currency, region_id=region_id, pricing=pricing)
    return {"product": product}


# -------------------------------------------------------------------------------------------------
# Admin API
# -------------------------------------------------------------------------------------------------


async def list_admin_products(query: AdminProductsQuery) -> dict[str, Any]:
    """``GET /admin/products``: every live product, any status unless filtered."""
    queryset = _filtered(Product.filter(deleted_at=None), query)
    if query.status:
        queryset = queryset.filter(status__in=query.status)
    if query.sales_channel_id:
        in_channels = SalesChannel.filter(id__in=query.sales_channel_id).values("products__id")
        queryset = queryset.filter(id__in=Subquery(in_channels))
    rows, count = await fetch_value_page(queryset, query, PRODUCT_FIELDS, allowed_order=PRODUCT_ORDER_FIELDS)
    products = await render_products(rows, admin=True)
    return {"products": products, "count": count, "offset": query.offset, "limit": query.limit}


async def get_admin_product(product_id: str) -> dict[str, Any]:
    """``{"product"}`` in the Admin shape.

    :raises NotFound: for an unknown or deleted product.
    """
    rows = await Product.filter(id=product_id, deleted_at=None).values(*PRODUCT_FIELDS)
    if not rows:
        raise NotFound(f"Product with id: {product_id} was not found")
    (product,) = await render_products(rows, admin=True)
    return {"product": product}
