"""The catalogue half of ``erpcommerce reconcile``: the store's products against the ERP's streams.

It reads the same three streams the product sync reads, from the start (cursor None: the whole
catalogue), one page at a time, and compares each page with the store's rows for it (looked up
in one query per table, as the sync does: :func:`~erpcommerce_erp.catalog_lookup.load_catalogue`):

1. prices (:meth:`check_price_page`): each listed variant's store prices, per currency. The price
   stream is authoritative: the sync applies it after the product stream;
2. products (:meth:`check_product_page`): missing on either side, archive state, the fields the
   sync writes, options and their values, variants (missing, archived, moved, title/sku/barcode,
   option values), and the prices the product stream carries for variants the price stream did
   not list;
3. stock (:meth:`check_stock_page`): quantity, backorders and whether stock is managed;
4. then the store's live ERP-linked products and variants the ERP did not list at all
   (:meth:`check_store_leftovers`), read in id order, :data:`BATCH` rows at a time.

Memory: one ERP page and its store rows at a time, plus the ERP ids seen (strings), which step 4
needs to tell what the ERP no longer lists.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from core.models import Price, Product, ProductVariant
from erpcommerce_erp.catalog_lookup import Catalogue, load_catalogue
from erpcommerce_erp.catalog_upsert import BATCH, PriceKey, price_key
from erpcommerce_erp.contract import ErpPrice, ErpProduct, ErpVariant, StockLevel, VariantPrices
from erpcommerce_erp.reconcile_report import ReconcileReport, format_prices
from erpcommerce_erp.variant_levels import inventory_quantity

__all__ = [
    "CatalogueCheck",
]

PRODUCT_FIELDS = ("title", "subtitle", "description", "thumbnail")
VARIANT_FIELDS = ("title", "sku", "barcode")


def _by_currency(keys: Sequence[PriceKey]) -> dict[str, list[PriceKey]]:
    grouped: dict[str, list[PriceKey]] = defaultdict(list)
    for key in keys:
        grouped[key[0]].append(key)
    return {currency: sorted(values) for currency, values in grouped.items()}


def _erp_keys(prices: Sequence[ErpPrice]) -> list[PriceKey]:
    return [price_key(p.currency_code, p.amount, p.min_quantity, p.max_quantity) for p in prices]


def _store_keys(prices: Sequence[Price]) -> list[PriceKey]:
    return [price_key(p.currency_code, p.amount, p.min_quantity, p.max_quantity) for p in prices]


class CatalogueCheck:
    """Compares the catalogue page by page, adding what differs to ``report`` (see the module doc)."""

    def __init__(self, report: ReconcileReport) -> None:
        self.report = report
        self.seen_products: set[str] = set()
        self.seen_variants: set[str] = set()
        self.priced: set[str] = set()  # variants the price stream listed
        self.missing_products: set[str] = set()  # store ids of products reported missing in the ERP

    # -- prices ----------------------------------------------------------------------------------

    def compare_prices(self, external_id: str, store_id: str, store: Sequence[PriceKey],
                       erp: Sequence[PriceKey]) -> None:
        """One difference per currency whose price list differs."""
        mine, theirs = _by_currency(store), _by_currency(erp)
        for currency in sorted(set(mine) | set(theirs)):
            if mine.get(currency, []) != theirs.get(currency, []):
                self.report.add("price.mismatch", external_id, store_id=store_id, field=currency,
                                store=format_prices(mine.get(currency, [])), erp=format_prices(theirs.get(currency, [])))

    async def check_price_page(self, page: Sequence[VariantPrices]) -> None:
        """Each listed variant the store has (archived too, as the sync updates those): its prices."""
        last = {record.variant_external_id: record for record in page}  # a later record wins, as in the sync
        self.priced.update(last)
        rows = await ProductVariant.filter(external_id__in=list(last)).values_list("id", "external_id")
        variant_ids = dict(rows)
        current: dict[str, list[PriceKey]] = defaultdict(list)
        for price in await Price.filter(variant_id__in=list(variant_ids)):
            current[price.variant_id].append(  # type: ignore[attr-defined]
                price_key(price.currency_code, price.amount, price.min_quantity, price.max_quantity)
            )
        for variant_id, external_id in variant_ids.items():
            self.report.checked["prices"] += 1
            self.compare_prices(external_id, variant_id, current.get(variant_id, []), _erp_keys(last[external_id].prices))

    # -- products --------------------------------------------------------------------------------

    async def check_product_page(self, page: Sequence[ErpProduct]) -> None:
        """Every product of the page against the store's rows for it."""
        catalogue = await load_catalogue(page)
        for product in page:
            self.report.checked["products"] += 1
            self.seen_products.add(product.external_id)
            self.seen_variants.update(variant.external_id for variant in product.variants)
            self._check_product(product, catalogue)

    def _check_product(self, erp: ErpProduct, catalogue: Catalogue) -> None:
        row = catalogue.products.get(erp.external_id)
        report = self.report
        if not erp.active:
            if row is not None and row.deleted_at is None:
                report.add("product.archived_in_erp", erp.external_id, store_id=row.id)
            return
        if row is None:
            report.add("product.missing_in_store", erp.external_id, store=None, erp=erp.title)
            return
        if row.deleted_at is not None:
            report.add("product.archived_in_store", erp.external_id, store_id=row.id, erp=erp.title)
            return
        for name in PRODUCT_FIELDS:
            report.compare("product.field", erp.external_id, row.id, name, getattr(row, name), getattr(erp, name))
        report.compare("product.field", erp.external_id, row.id, "status", row.status, "published")
        if erp.handle is not None:
            report.compare("product.field", erp.external_id, row.id, "handle", row.handle, erp.handle.strip())
        if erp.metadata is not None:
            report.compare("product.field", erp.external_id, row.id, "metadata", row.metadata, erp.metadata)
        values = self._check_options(erp, row, catalogue)
        for variant in erp.variants:
            self._check_variant(variant, row, catalogue, values)

    def _check_options(self, erp: ErpProduct, row: Product, catalogue: Catalogue) -> dict[str, tuple[str, str]]:
        """Compare the options; return the store's option values of the product by value id."""
        store: dict[str, list[str]] = {}
        by_id: dict[str, tuple[str, str]] = {}
        for title, option in catalogue.options.get(row.id, {}).items():
            values = catalogue.values.get(option.id, {})
            store[title] = sorted(values)
            by_id.update({value.id: (title, name) for name, value in values.items()})
        wanted = {option.title: sorted(option.values) for option in erp.options}
        if store != wanted:
            self.report.add("product.options", erp.external_id, store_id=row.id, field="options",
                            store=_options_text(store), erp=_options_text(wanted))
        return by_id

    def _check_variant(self, erp: ErpVariant, product: Product, catalogue: Catalogue,
                       values: dict[str, tuple[str, str]]) -> None:
        report = self.report
        row = catalogue.variants.get(erp.external_id)
        report.checked["variants"] += 1
        if not erp.active:
            if row is not None and row.deleted_at is None:
                report.add("variant.archived_in_erp", erp.external_id, store_id=row.id)
            return
        if row is None:
            report.add("variant.missing_in_store", erp.external_id, erp=erp.title,
                       detail=f"of ERP product {product.external_id}")
            return
        if row.deleted_at is not None:
            report.add("variant.archived_in_store", erp.external_id, store_id=row.id, erp=erp.title)
            return
        if row.product_id != product.id:  # type: ignore[attr-defined]
            report.add("variant.product", erp.external_id, store_id=row.id, field="product",
                       store=row.product_id, erp=product.id)  # type: ignore[attr-defined]
            return
        for name in VARIANT_FIELDS:
            report.compare("variant.field", erp.external_id, row.id, name, getattr(row, name), getattr(erp, name))
        if erp.metadata is not None:
            report.compare("variant.field", erp.external_id, row.id, "metadata", row.metadata, erp.metadata)
        linked = dict(values[value_id] for value_id in catalogue.links.get(row.id, set()) if value_id in values)
        if linked != erp.options:
            report.add("variant.options", erp.external_id, store_id=row.id, field="options",
                       store=_pairs_text(linked), erp=_pairs_text(erp.options))
        if erp.prices is not None and erp.external_id not in self.priced:
            report.checked["prices"] += 1
            self.compare_prices(erp.external_id, row.id, _store_keys(catalogue.prices.get(row.id, [])),
                                _erp_keys(erp.prices))

    # -- stock -----------------------------------------------------------------------------------

    async def check_stock_page(self, page: Sequence[StockLevel]) -> None:
        """Each listed variant the store has: quantity (rounded down), backorders, managed."""
        last = {level.variant_external_id: level for level in page}
        rows = await ProductVariant.filter(external_id__in=list(last)).values(
            "id", "external_id", "inventory_quantity", "allow_backorder", "manage_inventory"
        )
        for row in rows:
            level = last[row["external_id"]]
            self.report.checked["stock"] += 1
            external_id, store_id = row["external_id"], row["id"]
            compare = self.report.compare
            compare("stock.mismatch", external_id, store_id, "inventory_quantity", row["inventory_quantity"],
                    inventory_quantity(level))
            compare("stock.mismatch", external_id, store_id, "allow_backorder", bool(row["allow_backorder"]),
                    level.allow_out_of_stock_order)
            compare("stock.mismatch", external_id, store_id, "manage_inventory", bool(row["manage_inventory"]),
                    level.manage_inventory)

    # -- what only the store has -----------------------------------------------------------------

    async def check_store_leftovers(self) -> None:
        """Live ERP-linked products and variants the ERP did not list (a variant of a product
        reported so is not reported again)."""
        async for rows in _live_linked(Product, ("id", "external_id")):
            for store_id, external_id in rows:
                if external_id not in self.seen_products:
                    self.missing_products.add(store_id)
                    self.report.add("product.missing_in_erp", external_id, store_id=store_id)
        async for rows in _live_linked(ProductVariant, ("id", "external_id", "product_id")):
            for store_id, external_id, product_id in rows:
                if external_id not in self.seen_variants and product_id not in self.missing_products:
                    self.report.add("variant.missing_in_erp", external_id, store_id=store_id)


async def _live_linked(model: Any, fields: tuple[str, ...]) -> Any:
    """Batches of ``fields`` of the live rows of ``model`` that have an external id, in id order."""
    after = ""
    while True:
        rows = await (model.filter(deleted_at=None, id__gt=after).exclude(external_id=None)
                      .order_by("id").limit(BATCH).values_list(*fields))
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def _options_text(options: dict[str, list[str]]) -> str:
    return "; ".join(f"{title}: {', '.join(values)}" for title, values in sorted(options.items())) or "none"


def _pairs_text(pairs: dict[str, str]) -> str:
    return ", ".join(f"{title}={value}" for title, value in sorted(pairs.items())) or "none"
