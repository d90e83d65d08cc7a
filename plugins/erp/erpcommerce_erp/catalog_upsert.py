"""One page of the ERP's product stream applied to the catalogue, by external id (DESIGN §7).

For each ERP product (rows found by external id, archived ones included):

- inactive in the ERP: the store's product and its variants are archived (soft deleted);
- active: created, or updated where it differs: title, subtitle, description, thumbnail,
  ``metadata`` (when the ERP gives one), ``status = "published"``, restored when archived. The
  handle is the ERP's, or the slugified title, made unique with the ERP id when taken; an existing
  product keeps its handle unless the ERP gives another. A new product joins every existing sales
  channel;
- options and values are made to match the ERP's (missing ones created, others deleted);
- variants are upserted by external id (moved when the ERP moved one to another product); those
  the ERP marks inactive or no longer lists are archived; their option values are made to match;
- prices: when the ERP gives a variant's prices, they replace the store's (else the price stream
  owns them). Stock is the stock stream's.

A product the store cannot take as sent (options that do not match its variants, a SKU another
live variant holds, a duplicate in the page, no free handle) is counted failed and logged; the
rest of the page goes on. The page is planned against one lookup (:mod:`catalog_lookup`, one query
per table) and written with a few bulk statements in the caller's transaction; a dry run only
counts the plan. New rows are planned as plain tuples (:mod:`catalog_rows`) and inserted with one
prepared statement per table (:func:`~erpcommerce_erp.bulk_sql.execute_many`): a first full sync
creates nearly every row, and ORM objects cost several times the statements.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tortoise import connections

from core.models import (
    Price,
    Product,
    ProductOption,
    ProductOptionValue,
    ProductVariant,
)
from core.syncs import SyncCounts
from erpcommerce_erp.bulk_sql import BATCH, execute_many
from erpcommerce_erp.catalog_lookup import Catalogue, handle_candidates, load_catalogue
from erpcommerce_erp.catalog_rows import (
    INSERT_OPTION,
    INSERT_OPTION_VALUE,
    INSERT_PRICE,
    INSERT_PRODUCT,
    INSERT_VARIANT,
    Row,
    option_row,
    option_value_row,
    price_row,
    product_row,
    variant_row,
)
from erpcommerce_erp.contract import ErpPrice, ErpProduct, ErpVariant

__all__ = [
    "AMOUNT_PLACES",
    "BATCH",
    "PriceKey",
    "apply_product_page",
    "archive_unlisted_products",
    "price_key",
]

log = logging.getLogger("erpcommerce.erp.sync")

PRODUCT_FIELDS = ("title", "subtitle", "description", "thumbnail", "handle", "status", "metadata", "deleted_at",
                  "updated_at")
VARIANT_FIELDS = ("product_id", "title", "sku", "barcode", "variant_rank", "metadata", "deleted_at", "updated_at")
AMOUNT_PLACES = Decimal("0.0001")  # the store keeps amounts to 4 decimals

PriceKey = tuple[str, Decimal, int, int]


class Rejected(Exception):
    """The store cannot take this ERP product as sent; the message says why."""


@dataclass
class CatalogWrites:
    """Everything one page changes, gathered while planning, written in bulk."""

    now: datetime
    new_products: list[Row] = field(default_factory=list)
    changed_products: dict[str, Product] = field(default_factory=dict)
    channel_links: list[tuple[str, str]] = field(default_factory=list)
    archived_products: list[str] = field(default_factory=list)
    new_options: list[Row] = field(default_factory=list)
    new_values: list[Row] = field(default_factory=list)
    dropped_options: list[str] = field(default_factory=list)
    dropped_values: list[str] = field(default_factory=list)
    new_variants: list[Row] = field(default_factory=list)
    changed_variants: dict[str, ProductVariant] = field(default_factory=dict)
    archived_variants: set[str] = field(default_factory=set)
    freed_skus: set[str] = field(default_factory=set)  # archived variants giving their SKU away
    relinked: list[str] = field(default_factory=list)  # existing variants whose option values change
    links: list[tuple[str, str]] = field(default_factory=list)
    repriced: list[str] = field(default_factory=list)  # existing variants whose prices are replaced
    new_prices: list[Row] = field(default_factory=list)


def price_key(currency_code: str, amount: Decimal, min_quantity: int | None, max_quantity: int | None) -> PriceKey:
    """A price as compared between the ERP and the store."""
    return currency_code, amount.quantize(AMOUNT_PLACES), min_quantity or 0, max_quantity or 0


def _erp_price_keys(prices: Iterable[ErpPrice]) -> list[PriceKey]:
    return sorted(price_key(p.currency_code, p.amount, p.min_quantity, p.max_quantity) for p in prices)


def _store_price_keys(prices: Iterable[Price]) -> list[PriceKey]:
    return sorted(price_key(p.currency_code, p.amount, p.min_quantity, p.max_quantity) for p in prices)


def _assign(row: Any, values: dict[str, Any]) -> bool:
    """Set the values that differ on ``row``; whether any did."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


# -------------------------------------------------------------------------------------------------
# Checks (before anything of a product is planned)
# -------------------------------------------------------------------------------------------------


def _check_options(product: ErpProduct) -> None:
    titles = [option.title for option in product.options]
    if len(set(titles)) != len(titles):
        raise Rejected("its options do not have distinct titles")
    for option in product.options:
        if len(set(option.values)) != len(option.values):
            raise Rejected(f'option "{option.title}" has duplicate values')
    values = {option.title: set(option.values) for option in product.options}
    combinations: set[tuple[tuple[str, str], ...]] = set()
    for variant in product.variants:
        if not variant.active:
            continue
        if set(variant.options) != set(values):
            raise Rejected(f'variant {variant.external_id} does not give one value for each option {sorted(values)}')
        for title, value in variant.options.items():
            if value not in values[title]:
                raise Rejected(f'variant {variant.external_id}: "{value}" is not a value of option "{title}"')
        combination = tuple(sorted(variant.options.items()))
        if values and combination in combinations:
            raise Rejected(f"variant {variant.external_id} has the same option values as another variant")
        combinations.add(combination)


def _check_prices(variant: ErpVariant) -> None:
    tiers: set[tuple[str, int]] = set()
    for price in variant.prices or ():
        if price.max_quantity is not None and price.max_quantity < (price.min_quantity or 1):
            raise Rejected(f"variant {variant.external_id} has a price whose max_quantity is below its min_quantity")
        tier = (price.currency_code, price.min_quantity or 1)
        if tier in tiers:
            raise Rejected(f"variant {variant.external_id} has two {price.currency_code} prices from one quantity")
        tiers.add(tier)


# -------------------------------------------------------------------------------------------------
# Planning
# -------------------------------------------------------------------------------------------------


class PagePlan:
    """Plans one page against the store's rows; :attr:`writes` is what to write, :attr:`counts` the outcome."""

    def __init__(self, catalogue: Catalogue, page: Sequence[ErpProduct], now: datetime) -> None:
        self.catalogue = catalogue
        self.writes = CatalogWrites(now)
        self.counts = SyncCounts(seen=len(page))
        self.claimed_products: set[str] = set()
        self.claimed_variants: set[str] = set()
        self.claimed_skus: set[str] = set()
        self.claimed_handles: set[str] = set()
        self.listed = {v.external_id for p in page if p.active for v in p.variants if v.active}
        self.leaving = self._leaving(page)

    def _leaving(self, page: Sequence[ErpProduct]) -> set[str]:
        """Ids of the live variants this page archives (their SKUs may go to others)."""
        leaving = set()
        for erp_product in page:
            product = self.catalogue.products.get(erp_product.external_id)
            rows = list(self.catalogue.variants_of.get(product.id, ())) if product is not None else []
            rows += [self.catalogue.variants[v.external_id] for v in erp_product.variants
                     if not v.active and v.external_id in self.catalogue.variants]
            leaving.update(row.id for row in rows if row.external_id not in self.listed)
        return leaving

    def plan(self, page: Sequence[ErpProduct]) -> None:
        """Plan every product of the page, counting each one's outcome."""
        for erp_product in page:
            try:
                outcome = self._plan_product(erp_product)
            except Rejected as exc:
                log.warning(
                    "erp product rejected by the store",
                    extra={"external_id": erp_product.external_id, "reason": str(exc)},
                )
                outcome = "failed"
            setattr(self.counts, outcome, getattr(self.counts, outcome) + 1)

    def _plan_product(self, erp_product: ErpProduct) -> str:
        if erp_product.external_id in self.claimed_products:
            raise Rejected("it is listed twice in one page")
        self.claimed_products.add(erp_product.external_id)
        existing = self.catalogue.products.get(erp_product.external_id)
        if not erp_product.active:
            if existing is None:
                return "skipped"
            if existing.deleted_at is not None:
                return "unchanged"
            self.writes.archived_products.append(existing.id)
            return "archived"
        _check_options(erp_product)
        freed = self._check_variants(erp_product, existing)
        handle = self._handle(erp_product, existing)
        self.writes.freed_skus.update(freed)
        product_id, changed = self._plan_fields(erp_product, existing, handle)
        values = self._plan_options(erp_product, product_id, existing is None)
        changed = bool(values[1]) or changed
        for rank, variant in enumerate(erp_product.variants):
            changed = self._plan_variant(variant, product_id, rank, values[0]) or changed
        if existing is not None:
            changed = self._archive_unlisted_variants(product_id) or changed
        return "created" if existing is None else "updated" if changed else "unchanged"

    def _check_variants(self, erp_product: ErpProduct, existing: Product | None) -> set[str]:
        """Check the active variants' ids, SKUs and prices; return the variant ids to free SKUs from."""
        ids: set[str] = set()
        skus: set[str] = set()
        freed: set[str] = set()
        for variant in erp_product.variants:
            if not variant.active:
                continue
            if variant.external_id in ids or variant.external_id in self.claimed_variants:
                raise Rejected(f"variant {variant.external_id} is listed twice")
            ids.add(variant.external_id)
            _check_prices(variant)
            if variant.sku is None:
                continue
            if variant.sku in skus or variant.sku in self.claimed_skus:
                raise Rejected(f"SKU {variant.sku} is given to two variants")
            skus.add(variant.sku)
            holder = self.catalogue.skus.get(variant.sku)
            own = self.catalogue.variants.get(variant.external_id)
            if holder is None or (own is not None and holder.variant_id == own.id):
                continue
            if not (holder.archived or holder.variant_id in self.leaving):
                raise Rejected(f"SKU {variant.sku} belongs to another product variant ({holder.variant_id})")
            freed.add(holder.variant_id)
        self.claimed_variants.update(ids)
        self.claimed_skus.update(skus)
        return freed

    def _handle(self, erp_product: ErpProduct, existing: Product | None) -> str:
        if existing is not None and (erp_product.handle is None or erp_product.handle.strip() == existing.handle):
            return existing.handle
        candidates = handle_candidates(erp_product)
        for candidate in candidates:
            holder = self.catalogue.handles.get(candidate)
            mine = holder is None or (existing is not None and holder == existing.id)
            if mine and candidate not in self.claimed_handles:
                self.claimed_handles.add(candidate)
                return candidate
        if existing is not None:
            log.warning("erp product keeps its handle: the ERP's is taken",
                        extra={"external_id": erp_product.external_id, "handle": candidates[0]})
            return existing.handle
        raise Rejected(f"the handles {' and '.join(candidates)} belong to other products")

    def _plan_fields(self, erp_product: ErpProduct, existing: Product | None, handle: str) -> tuple[str, bool]:
        """The product's id (a new one when created); whether it is created or changed."""
        now = self.writes.now
        fields: dict[str, Any] = {
            "title": erp_product.title,
            "subtitle": erp_product.subtitle,
            "description": erp_product.description,
            "thumbnail": erp_product.thumbnail,
            "handle": handle,
            "status": "published",
            "deleted_at": None,
        }
        if erp_product.metadata is not None:
            fields["metadata"] = erp_product.metadata
        if existing is None:
            row = product_row(fields, erp_product.external_id, now)
            self.writes.new_products.append(row)
            self.writes.channel_links.extend((row[0], channel) for channel in self.catalogue.channel_ids)
            return row[0], True
        if not _assign(existing, fields):
            return existing.id, False
        existing.updated_at = now
        self.writes.changed_products[existing.id] = existing
        return existing.id, True

    def _plan_options(
        self, erp_product: ErpProduct, product_id: str, created: bool
    ) -> tuple[dict[str, dict[str, str]], bool]:
        """The product's option value ids by option title and value; whether any option changed."""
        now = self.writes.now
        current = {} if created else self.catalogue.options.get(product_id, {})
        by_title: dict[str, dict[str, str]] = {}
        changed = False
        for erp_option in erp_product.options:
            option = current.get(erp_option.title)
            values = {} if option is None else self.catalogue.values.get(option.id, {})
            if option is None:
                new_option = option_row(product_id, erp_option.title, now)
                self.writes.new_options.append(new_option)
                option_id, changed = new_option[0], True
            else:
                option_id = option.id
            by_title[erp_option.title] = {}
            for value in erp_option.values:
                stored = values.get(value)
                if stored is None:
                    new_value = option_value_row(option_id, value, now)
                    self.writes.new_values.append(new_value)
                    by_title[erp_option.title][value] = new_value[0]
                    changed = True
                else:
                    by_title[erp_option.title][value] = stored.id
            dropped = [row.id for value, row in values.items() if value not in by_title[erp_option.title]]
            self.writes.dropped_values.extend(dropped)
            changed = changed or bool(dropped)
        dropped = [option.id for title, option in current.items() if title not in by_title]
        self.writes.dropped_options.extend(dropped)
        return by_title, changed or bool(dropped)

    def _plan_variant(
        self, variant: ErpVariant, product_id: str, rank: int, values: dict[str, dict[str, str]]
    ) -> bool:
        """Plan one ERP variant of ``product``; whether it changes anything."""
        own = self.catalogue.variants.get(variant.external_id)
        if not variant.active:
            return self._archive_variant(own) if own is not None and own.external_id not in self.listed else False
        fields: dict[str, Any] = {
            "product_id": product_id,
            "title": variant.title,
            "sku": variant.sku,
            "barcode": variant.barcode,
            "variant_rank": rank,
            "deleted_at": None,
        }
        if variant.metadata is not None:
            fields["metadata"] = variant.metadata
        if own is None:
            new_variant = variant_row(fields, variant.external_id, self.writes.now)
            self.writes.new_variants.append(new_variant)
            variant_id, changed = new_variant[0], True
        else:
            variant_id, changed = own.id, _assign(own, fields)
            if changed:
                own.updated_at = self.writes.now
                self.writes.changed_variants[own.id] = own
        wanted = {values[title][value] for title, value in variant.options.items()}
        if own is None or wanted != self.catalogue.links.get(variant_id, set()):
            if own is not None:
                self.writes.relinked.append(variant_id)
            self.writes.links.extend((variant_id, value_id) for value_id in sorted(wanted))
            changed = True
        return self._plan_prices(variant, variant_id, own is None) or changed

    def _plan_prices(self, variant: ErpVariant, variant_id: str, created: bool) -> bool:
        if variant.prices is None:
            return False
        current = [] if created else self.catalogue.prices.get(variant_id, [])
        if not created and _erp_price_keys(variant.prices) == _store_price_keys(current):
            return False
        if not created:
            self.writes.repriced.append(variant_id)
        now = self.writes.now
        self.writes.new_prices.extend(
            price_row(variant_id, p.currency_code, p.amount.quantize(AMOUNT_PLACES), p.min_quantity, p.max_quantity,
                      now)
            for p in variant.prices
        )
        return True

    def _archive_variant(self, row: ProductVariant) -> bool:
        if row.deleted_at is not None or row.id in self.writes.archived_variants:
            return False
        self.writes.archived_variants.add(row.id)
        return True

    def _archive_unlisted_variants(self, product_id: str) -> bool:
        """Archive the product's live variants that no active ERP variant of the page is."""
        changed = False
        for row in self.catalogue.variants_of.get(product_id, ()):
            if row.external_id not in self.listed:
                changed = self._archive_variant(row) or changed
        return changed


# -------------------------------------------------------------------------------------------------
# Writing
# -------------------------------------------------------------------------------------------------


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


async def _insert_pairs(table: str, columns: tuple[str, str], rows: Sequence[tuple[str, str]]) -> None:
    sql = f"INSERT INTO {table} ({columns[0]}, {columns[1]}) VALUES (?, ?)"
    await execute_many(connections.get("default"), sql, rows)


async def _delete_links(variant_ids: Sequence[str]) -> None:
    connection = connections.get("default")
    postgres = connection.capabilities.dialect == "postgres"
    for chunk in _chunks(variant_ids):
        marks = ", ".join(f"${n}" if postgres else "?" for n in range(1, len(chunk) + 1))
        await connection.execute_query(
            f"DELETE FROM product_variant_option WHERE product_variant_id IN ({marks})", list(chunk)
        )


async def _archive(w: CatalogWrites) -> None:
    stamp = {"deleted_at": w.now, "updated_at": w.now}
    if w.freed_skus:
        await ProductVariant.filter(id__in=sorted(w.freed_skus)).update(sku=None, updated_at=w.now)
    if w.archived_products:
        await Product.filter(id__in=w.archived_products).update(**stamp)
        await ProductVariant.filter(product_id__in=w.archived_products, deleted_at=None).update(**stamp)
    if w.archived_variants:
        await ProductVariant.filter(id__in=sorted(w.archived_variants)).update(**stamp)
    if w.dropped_options:
        await ProductOption.filter(id__in=w.dropped_options).delete()
    if w.dropped_values:
        await ProductOptionValue.filter(id__in=w.dropped_values).delete()


async def write_catalogue(w: CatalogWrites) -> None:
    """Write a planned page: archives first (freeing SKUs), then products, options, variants, prices."""
    connection = connections.get("default")
    await _archive(w)
    await execute_many(connection, INSERT_PRODUCT, w.new_products)
    await _insert_pairs("product_sales_channel", ("product_id", "saleschannel_id"), w.channel_links)
    if w.changed_products:
        await Product.bulk_update(list(w.changed_products.values()), fields=PRODUCT_FIELDS, batch_size=BATCH)
    await execute_many(connection, INSERT_OPTION, w.new_options)
    await execute_many(connection, INSERT_OPTION_VALUE, w.new_values)
    if w.changed_variants:  # before the new ones: a SKU may move from a changed variant to a new one
        await ProductVariant.bulk_update(list(w.changed_variants.values()), fields=VARIANT_FIELDS, batch_size=BATCH)
    await execute_many(connection, INSERT_VARIANT, w.new_variants)
    if w.relinked:
        await _delete_links(w.relinked)
    await _insert_pairs("product_variant_option", ("product_variant_id", "productoptionvalue_id"), w.links)
    if w.repriced:
        await Price.filter(variant_id__in=w.repriced).delete()
    await execute_many(connection, INSERT_PRICE, w.new_prices)


# -------------------------------------------------------------------------------------------------
# Entry points
# -------------------------------------------------------------------------------------------------


async def apply_product_page(page: Sequence[ErpProduct], *, dry_run: bool) -> SyncCounts:
    """Apply one page of ERP products (in the caller's transaction); return what it did.

    :param dry_run: count only, write nothing.
    """
    plan = PagePlan(await load_catalogue(page), page, datetime.now(UTC))
    plan.plan(page)
    if not dry_run:
        await write_catalogue(plan.writes)
    return plan.counts


async def archive_unlisted_products(listed: Iterable[str], *, dry_run: bool) -> int:
    """Archive the live ERP-linked products whose external id is not in ``listed`` (a full listing);
    return how many (would be) archived."""
    keep = set(listed)
    rows = await Product.filter(deleted_at=None).exclude(external_id=None).values_list("id", "external_id")
    gone = [product_id for product_id, external_id in rows if external_id not in keep]
    if gone and not dry_run:
        now = datetime.now(UTC)
        for chunk in _chunks(gone):
            await Product.filter(id__in=list(chunk)).update(deleted_at=now, updated_at=now)
            await ProductVariant.filter(product_id__in=list(chunk), deleted_at=None).update(
                deleted_at=now, updated_at=now
            )
    if gone:
        log.info("erp products no longer listed archived", extra={"count": len(gone), "dry_run": dry_run})
    return len(gone)
