"""The price and stock streams of product sync applied to variants, one page at a time.

Both streams name variants by their ERP id. A variant the store does not have (the ERP sells more
than the shop carries, or its product failed to sync) is counted ``skipped``, not failed: these
streams cover the ERP's whole range. Archived variants are updated too, so that they are right
when the ERP re-activates them. Each page costs one lookup query and a few bulk writes, in the
caller's transaction; a dry run only counts.

- prices: the ERP's list replaces the variant's store prices (unchanged when equal);
- stock: ``inventory_quantity`` = ``qty_available`` rounded down (never below 0),
  ``allow_backorder`` = ``allow_out_of_stock_order``, ``manage_inventory`` as the ERP says.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

from core.models import Price, ProductVariant
from core.syncs import SyncCounts
from erpcommerce_erp.catalog_upsert import AMOUNT_PLACES, BATCH, PriceKey, price_key
from erpcommerce_erp.contract import StockLevel, VariantPrices

__all__ = [
    "apply_price_page",
    "apply_stock_page",
    "inventory_quantity",
]

STOCK_FIELDS = ("inventory_quantity", "allow_backorder", "manage_inventory", "updated_at")


def inventory_quantity(level: StockLevel) -> int:
    """The store's whole quantity for an ERP quantity: rounded down, never negative."""
    return max(0, math.floor(level.qty_available))


def _last_by_variant(records: Sequence[VariantPrices] | Sequence[StockLevel]) -> dict[str, int]:
    """Index of each variant's last record in the page (a later record wins)."""
    return {record.variant_external_id: index for index, record in enumerate(records)}


async def apply_price_page(page: Sequence[VariantPrices], *, dry_run: bool) -> SyncCounts:
    """Replace the prices of the page's variants with the ERP's; return what it did."""
    counts = SyncCounts(seen=len(page))
    last = _last_by_variant(page)
    variants = dict(
        await ProductVariant.filter(external_id__in=list(last)).values_list("external_id", "id")
    )
    current: dict[str, list[PriceKey]] = defaultdict(list)
    for price in await Price.filter(variant_id__in=list(variants.values())):
        current[price.variant_id].append(  # type: ignore[attr-defined]
            price_key(price.currency_code, price.amount, price.min_quantity, price.max_quantity)
        )
    now = datetime.now(UTC)
    replaced: list[str] = []
    rows: list[Price] = []
    for index, record in enumerate(page):
        variant_id = variants.get(record.variant_external_id)
        if variant_id is None or last[record.variant_external_id] != index:
            counts.skipped += 1
            continue
        wanted = sorted(price_key(p.currency_code, p.amount, p.min_quantity, p.max_quantity) for p in record.prices)
        if wanted == sorted(current.get(variant_id, [])):
            counts.unchanged += 1
            continue
        counts.updated += 1
        replaced.append(variant_id)
        rows.extend(
            Price(variant_id=variant_id, currency_code=p.currency_code, amount=p.amount.quantize(AMOUNT_PLACES),
                  min_quantity=p.min_quantity, max_quantity=p.max_quantity, created_at=now, updated_at=now)
            for p in record.prices
        )
    if not dry_run and replaced:
        await Price.filter(variant_id__in=replaced).delete()
        if rows:
            await Price.bulk_create(rows, batch_size=BATCH)
    return counts


async def apply_stock_page(page: Sequence[StockLevel], *, dry_run: bool) -> SyncCounts:
    """Set the stock fields of the page's variants from the ERP; return what it did."""
    counts = SyncCounts(seen=len(page))
    last = _last_by_variant(page)
    variants = {
        variant.external_id: variant
        for variant in await ProductVariant.filter(external_id__in=list(last)).only(
            "id", "external_id", "inventory_quantity", "allow_backorder", "manage_inventory", "updated_at"
        )
    }
    now = datetime.now(UTC)
    changed: list[ProductVariant] = []
    for index, level in enumerate(page):
        variant = variants.get(level.variant_external_id)
        if variant is None or last[level.variant_external_id] != index:
            counts.skipped += 1
            continue
        wanted = (inventory_quantity(level), level.allow_out_of_stock_order, level.manage_inventory)
        if wanted == (variant.inventory_quantity, variant.allow_backorder, variant.manage_inventory):
            counts.unchanged += 1
            continue
        counts.updated += 1
        variant.inventory_quantity, variant.allow_backorder, variant.manage_inventory = wanted
        variant.updated_at = now
        changed.append(variant)
    if not dry_run and changed:
        await ProductVariant.bulk_update(changed, fields=STOCK_FIELDS, batch_size=BATCH)
    return counts
