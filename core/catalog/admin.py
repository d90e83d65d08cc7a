"""Product writes of the Admin API: create, update, update a variant, soft delete.

Every write runs in one transaction and bumps the catalog version once it has committed, so the
Store API's response cache never serves the old catalog from this process again.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.catalog.cache import bump_catalog_version
from core.catalog.listing import get_admin_product
from core.catalog.sales_channels import existing_sales_channels
from core.catalog.updates import changed_fields
from core.errors import DuplicateError, InvalidData, NotFound
from core.models import (
    Price,
    Product,
    ProductImage,
    ProductOption,
    ProductOptionValue,
    ProductVariant,
)
from core.schemas.products import (
    CreateProductBody,
    CreateVariantBody,
    OptionBody,
    PriceBody,
    UpdateProductBody,
    UpdateVariantBody,
)

__all__ = [
    "create_product",
    "delete_product",
    "handle_from_title",
    "update_product",
    "update_variant",
]

PRODUCT_NULLABLE = ("subtitle", "description", "thumbnail", "external_id", "metadata")
VARIANT_NULLABLE = ("sku", "barcode", "external_id", "metadata")


def handle_from_title(title: str) -> str:
    """A URL handle from a title, in kebab case: ``"Crème Brûlée 2"`` → ``"creme-brulee-2"``.

    :raises InvalidData: when the title has no letter or digit to make one from.
    """
    folded = "".join(ch for ch in unicodedata.normalize("NFKD", title) if not unicodedata.combining(ch))
    handle = re.sub(r"[\W_]+", "-", folded.lower()).strip("-")
    if not handle:
        raise InvalidData(f"A handle cannot be derived from the title '{title}': give one")
    return handle


# -------------------------------------------------------------------------------------------------
# Validation (before anything is written)
# -------------------------------------------------------------------------------------------------


def _check_options(options: Sequence[OptionBody], variants: Sequence[CreateVariantBody]) -> None:
    """Every variant names one value of each product option, and no two variants the same ones."""
    values = {option.title: set(option.values) for option in options}
    if len(values) != len(options):
        raise InvalidData("Product options must have distinct titles")
    for option in options:
        if len(set(option.values)) != len(option.values):
            raise InvalidData(f'Option "{option.title}" has duplicate values')
    seen: dict[tuple[tuple[str, str], ...], str] = {}
    for variant in variants:
        unknown = sorted(variant.options.keys() - values.keys())
        if unknown:
            raise InvalidData(
                f'Variant "{variant.title}" names an option the product does not have: "{unknown[0]}"'
            )
        for title, allowed in values.items():
            if title not in variant.options:
                raise InvalidData(f'Variant "{variant.title}" has no value for option "{title}"')
            value = variant.options[title]
            if value not in allowed:
                raise InvalidData(f'Variant "{variant.title}": "{value}" is not a value of option "{title}"')
        combination = tuple(sorted(variant.options.items()))
        if combination in seen and values:
            raise InvalidData(
                f'Variants "{seen[combination]}" and "{variant.title}" have the same option values'
            )
        seen[combination] = variant.title


def _check_prices(variant_title: str, prices: Sequence[PriceBody]) -> None:
    tiers = set()
    for price in prices:
        if price.max_quantity is not None and price.max_quantity < (price.min_quantity or 1):
            raise InvalidData(f'Variant "{variant_title}": a price has max_quantity below its min_quantity')
        tier = (price.currency_code, price.min_quantity or 1)
        if tier in tiers:
            raise InvalidData(
                f'Variant "{variant_title}" has two {price.currency_code} prices from the same quantity'
            )
        tiers.add(tier)


def _unique_in_body(label: str, values: Iterable[str | None]) -> None:
    seen: set[str] = set()
    for value in values:
        if value is not None and value in seen:
            raise DuplicateError(f"Product variant with {label}: {value}, already exists.")
        if value is not None:
            seen.add(value)


async def _check_free(
    model: type[Product] | type[ProductVariant], field: str, value: str | None, *, own_id: str | None = None
) -> None:
    """:raises DuplicateError: when another row (deleted ones too) holds this unique value."""
    if value is None:
        return
    taken = model.filter(**{field: value})
    if own_id is not None:
        taken = taken.exclude(id=own_id)
    if await taken.exists():
        label = "Product" if model is Product else "Product variant"
        raise DuplicateError(f"{label} with {field}: {value}, already exists.")


# -------------------------------------------------------------------------------------------------
# Writes
# -------------------------------------------------------------------------------------------------


def _price_rows(variant_id: str, prices: Sequence[PriceBody]) -> list[Price]:
    return [Price(variant_id=variant_id, **price.model_dump()) for price in prices]


async def _create_options(
    product: Product, options: Sequence[OptionBody]
) -> dict[str, dict[str, ProductOptionValue]]:
    """The product's options; returns ``{option title: {value: ProductOptionValue}}``."""
    by_title: dict[str, dict[str, ProductOptionValue]] = {}
    for option_body in options:
        option = await ProductOption.create(product=product, title=option_body.title)
        values = [await ProductOptionValue.create(option=option, value=value) for value in option_body.values]
        by_title[option_body.title] = {value.value: value for value in values}
    return by_title


async def _create_variants(
    product: Product, body: CreateProductBody, values: dict[str, dict[str, ProductOptionValue]]
) -> None:
    prices: list[Price] = []
    for rank, variant_body in enumerate(body.variants):
        fields = variant_body.model_dump(exclude={"options", "prices"})
        if fields["variant_rank"] is None:
            fields["variant_rank"] = rank
        variant = await ProductVariant.create(product=product, **fields)
        chosen = [values[title][value] for title, value in variant_body.options.items()]
        if chosen:
            await variant.options.add(*chosen)
        prices.extend(_price_rows(variant.id, variant_body.prices))
    if prices:
        await Price.bulk_create(prices)


async def _check_new_product(body: CreateProductBody, handle: str) -> None:
    _check_options(body.options, body.variants)
    for variant in body.variants:
        _check_prices(variant.title, variant.prices)
    _unique_in_body("sku", (variant.sku for variant in body.variants))
    _unique_in_body("external_id", (variant.external_id for variant in body.variants))
    await _check_free(Product, "handle", handle)
    await _check_free(Product, "external_id", body.external_id)
    for variant in body.variants:
        await _check_free(ProductVariant, "sku", variant.sku)
        await _check_free(ProductVariant, "external_id", variant.external_id)


async def create_product(body: CreateProductBody) -> dict[str, Any]:
    """``POST /admin/products``: ``{"product"}`` in the Admin shape.

    :raises InvalidData: for inconsistent options/variants/prices or unknown sales channels.
    :raises DuplicateError: for a handle, sku or external id already in use.
    """
    handle = body.handle or handle_from_title(body.title)
    await _check_new_product(body, handle)
    channels = await existing_sales_channels(ref.id for ref in body.sales_channels or ())
    fields = body.model_dump(
        exclude={"handle", "images", "options", "variants", "sales_channels"}, exclude_none=True
    )
    try:
        async with in_transaction():
            product = await Product.create(handle=handle, **fields)
            if channels:
                await product.sales_channels.add(*channels)
            images = [
                ProductImage(product=product, url=image.url, rank=rank)
                for rank, image in enumerate(body.images)
            ]
            if images:
                await ProductImage.bulk_create(images)
            values = await _create_options(product, body.options)
            await _create_variants(product, body, values)
    except IntegrityError:
        raise DuplicateError("A product with this handle, sku or external id already exists.") from None
    bump_catalog_version()
    return await get_admin_product(product.id)


async def _live_product(product_id: str) -> Product:
    product = await Product.filter(id=product_id, deleted_at=None).select_for_update().first()
    if product is None:
        raise NotFound(f"Product with id: {product_id} was not found")
    return product


async def update_product(product_id: str, body: UpdateProductBody) -> dict[str, Any]:
    """``POST /admin/products/{id}``: the fields given; ``sales_channels`` replaces the product's."""
    changes = changed_fields(body, nullable=PRODUCT_NULLABLE, exclude=("sales_channels",))
    channels = (
        await existing_sales_channels(ref.id for ref in body.sales_channels)
        if body.sales_channels is not None
        else None
    )
    try:
        async with in_transaction():
            product = await _live_product(product_id)
            await _check_free(Product, "handle", changes.get("handle"), own_id=product.id)
            await _check_free(Product, "external_id", changes.get("external_id"), own_id=product.id)
            if changes:
                product.update_from_dict(changes)
                await product.save()
            if channels is not None:
                await product.sales_channels.clear()
                if channels:
                    await product.sales_channels.add(*channels)
    except IntegrityError:
        raise DuplicateError("A product with this handle or external id already exists.") from None
    bump_catalog_version()
    return await get_admin_product(product_id)


async def update_variant(product_id: str, variant_id: str, body: UpdateVariantBody) -> dict[str, Any]:
    """``POST /admin/products/{id}/variants/{variant_id}``: the parent product as ``{"product"}``."""
    changes = changed_fields(body, nullable=VARIANT_NULLABLE, exclude=("prices",))
    if body.prices is not None:
        _check_prices(changes.get("title", variant_id), body.prices)
    try:
        async with in_transaction():
            await _live_product(product_id)
            variant = await ProductVariant.get_or_none(id=variant_id, product_id=product_id, deleted_at=None)
            if variant is None:
                raise NotFound(f"Product variant with id: {variant_id} was not found")
            await _check_free(ProductVariant, "sku", changes.get("sku"), own_id=variant.id)
            await _check_free(ProductVariant, "external_id", changes.get("external_id"), own_id=variant.id)
            if changes:
                variant.update_from_dict(changes)
                await variant.save()
            if body.prices is not None:
                await Price.filter(variant_id=variant.id).delete()
                if body.prices:
                    await Price.bulk_create(_price_rows(variant.id, body.prices))
    except IntegrityError:
        raise DuplicateError("A product variant with this sku or external id already exists.") from None
    bump_catalog_version()
    return await get_admin_product(product_id)


async def delete_product(product_id: str) -> dict[str, Any]:
    """``DELETE /admin/products/{id}``: soft delete (the product and its variants leave the store)."""
    now = datetime.now(timezone.utc)
    async with in_transaction():
        product = await _live_product(product_id)
        await ProductVariant.filter(product_id=product.id, deleted_at=None).update(deleted_at=now)
        await Product.filter(id=product.id).update(deleted_at=now)
    bump_catalog_version()
    return {"id": product_id, "object": "product", "deleted": True}
