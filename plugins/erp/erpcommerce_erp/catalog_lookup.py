"""What the store already holds for one page of ERP products, loaded with one query per table.

Rows are found by ``external_id`` whether archived (soft deleted) or not, so that a product the
ERP re-activates is restored rather than created again. Handles and SKUs are looked up too, since
both are unique in the store (archived rows included).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from tortoise.expressions import Q

from core.catalog.admin import handle_from_title
from core.errors import InvalidData
from core.models import Price, Product, ProductOption, ProductOptionValue, ProductVariant, SalesChannel
from erpcommerce_erp.contract import ErpProduct

__all__ = [
    "Catalogue",
    "SkuHolder",
    "handle_candidates",
    "load_catalogue",
]


@dataclass(frozen=True, slots=True)
class SkuHolder:
    """The variant holding a SKU."""

    variant_id: str
    archived: bool


@dataclass
class Catalogue:
    """The store's rows for one page (see the module doc); ids are the store's."""

    products: dict[str, Product] = field(default_factory=dict)  # by external id
    variants: dict[str, ProductVariant] = field(default_factory=dict)  # by external id
    variants_of: dict[str, list[ProductVariant]] = field(default_factory=lambda: defaultdict(list))
    options: dict[str, dict[str, ProductOption]] = field(default_factory=lambda: defaultdict(dict))
    values: dict[str, dict[str, ProductOptionValue]] = field(default_factory=lambda: defaultdict(dict))
    links: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # variant -> value ids
    prices: dict[str, list[Price]] = field(default_factory=lambda: defaultdict(list))  # by variant id
    handles: dict[str, str] = field(default_factory=dict)  # handle -> product id
    skus: dict[str, SkuHolder] = field(default_factory=dict)
    channel_ids: list[str] = field(default_factory=list)


def _slug(text: str) -> str:
    try:
        return handle_from_title(text)
    except InvalidData:  # nothing to make a handle from
        return ""


def handle_candidates(product: ErpProduct) -> tuple[str, str]:
    """The handles to try, in order: the ERP's (or the slugified title), then that plus the ERP id."""
    suffix = _slug(product.external_id) or "erp"
    base = (product.handle or "").strip() or _slug(product.title) or f"product-{suffix}"
    return base, f"{base}-{suffix}"


async def _load_variants(catalogue: Catalogue, variant_ids: Sequence[str], product_ids: Sequence[str]) -> None:
    rows = await ProductVariant.filter(Q(external_id__in=list(variant_ids)) | Q(product_id__in=list(product_ids)))
    for variant in rows:
        if variant.external_id is not None:
            catalogue.variants[variant.external_id] = variant
        catalogue.variants_of[variant.product_id].append(variant)  # type: ignore[attr-defined]
    ids = [variant.id for variant in rows]
    if not ids:
        return
    for variant_id, value_id in await ProductVariant.filter(id__in=ids).values_list("id", "options__id"):
        if value_id is not None:
            catalogue.links[variant_id].add(value_id)
    for price in await Price.filter(variant_id__in=ids):
        catalogue.prices[price.variant_id].append(price)  # type: ignore[attr-defined]


async def _load_options(catalogue: Catalogue, product_ids: Sequence[str]) -> None:
    if not product_ids:
        return
    for option in await ProductOption.filter(product_id__in=list(product_ids)):
        catalogue.options[option.product_id][option.title] = option  # type: ignore[attr-defined]
    for value in await ProductOptionValue.filter(option__product_id__in=list(product_ids)):
        catalogue.values[value.option_id][value.value] = value  # type: ignore[attr-defined]


async def load_catalogue(page: Sequence[ErpProduct]) -> Catalogue:
    """The store's rows for ``page``: products, variants (of those products, or listed), options,
    option values, variant options, prices, the handles and SKUs the page asks for, sales channels."""
    catalogue = Catalogue()
    external_ids = [product.external_id for product in page]
    for product in await Product.filter(external_id__in=external_ids):
        catalogue.products[product.external_id or ""] = product
    product_ids = [product.id for product in catalogue.products.values()]
    variant_ids = [variant.external_id for product in page for variant in product.variants]
    await _load_variants(catalogue, variant_ids, product_ids)
    await _load_options(catalogue, product_ids)
    handles = [handle for product in page if product.active for handle in handle_candidates(product)]
    if handles:
        catalogue.handles = dict(await Product.filter(handle__in=handles).values_list("handle", "id"))
    skus = [v.sku for product in page if product.active for v in product.variants if v.active and v.sku]
    if skus:
        rows = await ProductVariant.filter(sku__in=skus).values_list("sku", "id", "deleted_at")
        catalogue.skus = {sku: SkuHolder(variant_id, deleted_at is not None) for sku, variant_id, deleted_at in rows}
    if any(product.active and product.external_id not in catalogue.products for product in page):
        catalogue.channel_ids = list(await SalesChannel.all().order_by("created_at").values_list("id", flat=True))
    return catalogue

