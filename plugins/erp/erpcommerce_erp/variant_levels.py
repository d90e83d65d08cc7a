"""The price and stock streams of product sync applied to variants, one page at a time.

Both streams name variants by their ERP id. A variant the store does not have (the ERP sells more
than the shop carries, or its product failed to sync) is counted ``skipped``, not failed: these
streams cover the ERP's whole range. Archived variants are updated too, so that they are right
when the ERP re-activates them. A dry run only counts.

- prices: the ERP's list replaces the variant's store prices (unchanged when equal);
- stock: ``inventory_quantity`` = ``qty_available`` rounded down (never below 0),
  ``allow_backorder`` = ``allow_out_of_stock_order``, ``manage_inventory`` as the ERP says.

These streams run over the ERP's whole range on a full sync, so they are written in hand-written
SQL with bound parameters (building ORM queries cost more than running them; see
:mod:`erpcommerce_erp.bulk_sql`): a page reads its current values in one lookup (per ``BATCH``
ids), compares, and writes only what changed: stock with one statement executed for all changed
rows, prices as one delete (per ``BATCH`` variants) and one insert executed for all new rows, in
the caller's transaction.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tortoise import connections

from core.syncs import SyncCounts
from erpcommerce_erp.bulk_sql import execute_many, run_in
from erpcommerce_erp.catalog_rows import INSERT_PRICE, Row, price_row
from erpcommerce_erp.catalog_upsert import AMOUNT_PLACES, PriceKey, price_key
from erpcommerce_erp.contract import StockLevel, VariantPrices

__all__ = [
    "apply_price_page",
    "apply_stock_page",
    "inventory_quantity",
]

SELECT_VARIANTS = (
    "SELECT id, external_id, inventory_quantity, allow_backorder, manage_inventory "
    "FROM product_variant WHERE external_id IN ({marks})"
)
"""Values: external ids."""

SELECT_PRICES = (
    "SELECT variant_id, currency_code, amount, min_quantity, max_quantity FROM price WHERE variant_id IN ({marks})"
)
"""Values: variant ids."""

UPDATE_STOCK = (
    "UPDATE product_variant SET inventory_quantity = ?, allow_backorder = ?, manage_inventory = ?, updated_at = ? "
    "WHERE id = ?"
)
"""Values per row: inventory_quantity, allow_backorder, manage_inventory, updated_at, id."""

DELETE_PRICES = "DELETE FROM price WHERE variant_id IN ({marks})"
"""Values: variant ids."""



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
    connection = connections.get("default")
    variants = {row["external_id"]: row["id"] for row in await run_in(connection, SELECT_VARIANTS, list(last))}
    current: dict[str, list[PriceKey]] = defaultdict(list)
    for row in await run_in(connection, SELECT_PRICES, list(variants.values())):
        current[row["variant_id"]].append(
            price_key(row["currency_code"], Decimal(str(row["amount"])), row["min_quantity"], row["max_quantity"])
        )
    now = datetime.now(UTC)
    replaced: list[str] = []
    rows: list[Row] = []
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
            price_row(variant_id, p.currency_code, p.amount.quantize(AMOUNT_PLACES), p.min_quantity, p.max_quantity,
                      now)
            for p in record.prices
        )
    if not dry_run:
        await run_in(connection, DELETE_PRICES, replaced)
        await execute_many(connection, INSERT_PRICE, rows)
    return counts


async def apply_stock_page(page: Sequence[StockLevel], *, dry_run: bool) -> SyncCounts:
    """Set the stock fields of the page's variants from the ERP; return what it did."""
    counts = SyncCounts(seen=len(page))
    last = _last_by_variant(page)
    connection = connections.get("default")
    variants = {row["external_id"]: row for row in await run_in(connection, SELECT_VARIANTS, list(last))}
    now = datetime.now(UTC)
    changed: list[list[Any]] = []
    for index, level in enumerate(page):
        variant = variants.get(level.variant_external_id)
        if variant is None or last[level.variant_external_id] != index:
            counts.skipped += 1
            continue
        wanted = (inventory_quantity(level), level.allow_out_of_stock_order, level.manage_inventory)
        stored = (variant["inventory_quantity"], bool(variant["allow_backorder"]), bool(variant["manage_inventory"]))
        if wanted == stored:
            counts.unchanged += 1
            continue
        counts.updated += 1
        changed.append([*wanted, now, variant["id"]])
    if not dry_run:
        await execute_many(connection, UPDATE_STOCK, changed)
    return counts
