"""Product sync, the price and stock streams (each with its own cursor), and dry runs."""

from __future__ import annotations

from decimal import Decimal

import pluggy
import pytest

from core.catalog.cache import catalog_version
from core.config import Settings
from core.models import Price, Product, ProductVariant, SyncCursor, SyncRun
from core.workflows.durable import Engine
from erpcommerce_erp.contract import StockLevel, VariantPrices
from tests.plugins.erp.fake_erp import FakeErp
from tests.plugins.erp.product_sync_support import cap, catalogue, eur, mug, run_sync
from tests.workflows.durable_support import make_engine


@pytest.fixture
def erp_options() -> dict[str, object]:
    return {"sync_page_size": 2, "sync_max_retries": 2, "sync_backoff_seconds": 0.001}


@pytest.fixture
def engine(settings: Settings, plugins: pluggy.PluginManager, db: None) -> Engine:
    return make_engine(settings, plugins)


def stream(row: SyncRun, name: str) -> dict[str, int]:
    data = row.details["streams"][name]
    return {key: data[key] for key in ("seen", "updated", "unchanged", "skipped", "failed", "pages")}


async def prices_of(external_id: str) -> list[tuple[str, Decimal, int | None]]:
    variant = await ProductVariant.get(external_id=external_id)
    rows = await Price.filter(variant_id=variant.id)
    return sorted(((p.currency_code, p.amount, p.min_quantity) for p in rows), key=lambda p: p[1])


async def test_the_price_stream_replaces_prices_from_its_own_cursor(engine: Engine, fake_erp: FakeErp) -> None:
    fake_erp.products = catalogue()
    fake_erp.price_changes = [
        VariantPrices(variant_external_id="P3-R", prices=[eur("7"), eur("6", min_quantity=5)]),
        VariantPrices(variant_external_id="P1-S", prices=[eur("10")]),  # as the product stream said
        VariantPrices(variant_external_id="NOT-SOLD", prices=[eur("1")]),
    ]

    first = await run_sync(engine)

    assert stream(first, "prices") == {"seen": 3, "updated": 1, "unchanged": 1, "skipped": 1, "failed": 0, "pages": 2}
    assert await prices_of("P3-R") == [("eur", Decimal("6"), 5), ("eur", Decimal("7"), None)]
    assert (await SyncCursor.get(name="products:prices")).value == "3"

    fake_erp.price_changes.append(VariantPrices(variant_external_id="P1-S", prices=[eur("8.75")]))
    fake_erp.log.clear()
    second = await run_sync(engine)

    assert [args for name, args in fake_erp.log if name == "list_price_changes"] == [("3", None, 2)]
    assert [args for name, args in fake_erp.log if name == "list_products"] == [("3", None, 2)]
    assert stream(second, "prices") == {"seen": 1, "updated": 1, "unchanged": 0, "skipped": 0, "failed": 0, "pages": 1}
    assert await prices_of("P1-S") == [("eur", Decimal("8.75"), None)]
    assert await prices_of("P3-R") == [("eur", Decimal("6"), 5), ("eur", Decimal("7"), None)]
    assert second.cursors_after["products:prices"] == "4"


async def test_the_stock_stream_sets_quantity_backorder_and_management(engine: Engine, fake_erp: FakeErp) -> None:
    fake_erp.products = catalogue()
    fake_erp.stock_changes = [
        StockLevel(variant_external_id="P1-S", qty_available=Decimal("12.7"), allow_out_of_stock_order=True),
        StockLevel(variant_external_id="P1-M", qty_available=Decimal("-3")),
        StockLevel(variant_external_id="P2-1", qty_available=Decimal("0"), manage_inventory=False),
        StockLevel(variant_external_id="UNKNOWN", qty_available=Decimal("5")),
    ]

    row = await run_sync(engine)

    assert stream(row, "stock") == {"seen": 4, "updated": 2, "unchanged": 1, "skipped": 1, "failed": 0, "pages": 2}
    variants = {v.external_id: v for v in await ProductVariant.all()}
    state = {ext: (v.inventory_quantity, v.allow_backorder, v.manage_inventory) for ext, v in variants.items()}
    assert state["P1-S"] == (12, True, True)
    assert state["P1-M"] == (0, False, True)  # negative ERP stock: nothing to sell
    assert state["P2-1"] == (0, False, False)
    assert (await SyncCursor.get(name="products:stock")).value == "4"

    fake_erp.stock_changes.append(StockLevel(variant_external_id="P1-S", qty_available=Decimal("3")))
    again = await run_sync(engine)

    assert stream(again, "stock")["updated"] == 1
    assert (await ProductVariant.get(external_id="P1-S")).inventory_quantity == 3


async def test_archived_variants_still_get_prices_and_stock(engine: Engine, fake_erp: FakeErp) -> None:
    fake_erp.products = [mug()]
    await run_sync(engine)
    fake_erp.products.append(mug(active=False))
    fake_erp.price_changes = [VariantPrices(variant_external_id="P2-1", prices=[eur("6")])]
    fake_erp.stock_changes = [StockLevel(variant_external_id="P2-1", qty_available=Decimal("9"))]

    row = await run_sync(engine)

    assert stream(row, "prices")["updated"] == 1 and stream(row, "stock")["updated"] == 1
    variant = await ProductVariant.get(external_id="P2-1")
    assert (variant.deleted_at is not None, variant.inventory_quantity) == (True, 9)
    assert await prices_of("P2-1") == [("eur", Decimal("6"), None)]


async def test_a_dry_run_reads_and_counts_but_writes_nothing(engine: Engine, fake_erp: FakeErp) -> None:
    fake_erp.products = catalogue()
    fake_erp.price_changes = [VariantPrices(variant_external_id="P1-S", prices=[eur("1")])]
    fake_erp.stock_changes = [StockLevel(variant_external_id="P1-S", qty_available=Decimal("1"))]
    version = catalog_version()

    row = await run_sync(engine, dry_run=True)

    assert row.state == "succeeded" and row.dry_run
    assert (row.seen, row.created, row.pages) == (5, 3, 4)
    assert stream(row, "prices")["skipped"] == 1  # the variant would only exist after a real sync
    assert await Product.all().count() == 0
    assert await SyncCursor.all().count() == 0
    assert fake_erp.calls["list_products"] == 2  # everything was read
    assert catalog_version() == version  # nothing changed: cached listings stay valid

    await run_sync(engine)
    assert catalog_version() > version  # a page that changed the catalogue invalidates the cache
    fake_erp.products = [mug(title="Big mug")]
    dry_full = await run_sync(engine, full=True, dry_run=True)

    assert (dry_full.updated, dry_full.archived) == (1, 2)  # would update the mug, archive P1 and P3
    assert await Product.filter(deleted_at=None).count() == 3
    assert (await Product.get(external_id="P2")).title == "Mug"
    assert (await SyncCursor.get(name="products:products")).value == "3"


async def test_a_delta_products_page_brings_the_live_stock_of_its_variants(engine: Engine, fake_erp: FakeErp) -> None:
    # A variant the store creates or restores may have stock no stock-stream change announces
    # (Odoo: a variant left active under an archived template comes back with it unwritten).
    fake_erp.products = [mug()]
    fake_erp.stock = {"P2-1": StockLevel(variant_external_id="P2-1", qty_available=Decimal("4"))}
    await run_sync(engine)
    assert fake_erp.calls["get_stock"] == 0  # a full run reads all stock through the stock stream
    assert (await ProductVariant.get(external_id="P2-1")).manage_inventory is False  # nothing in the stream

    fake_erp.products.append(cap(variants=[*cap().variants[:1], cap().variants[1].model_copy(update={"active": False})]))
    fake_erp.stock["P3-R"] = StockLevel(variant_external_id="P3-R", qty_available=Decimal("7"),
                                        allow_out_of_stock_order=True)
    version = catalog_version()
    row = await run_sync(engine)

    assert [args for name, args in fake_erp.log if name == "get_stock"] == [["P3-R"]]  # live variants only
    red = await ProductVariant.get(external_id="P3-R")
    assert (red.inventory_quantity, red.allow_backorder, red.manage_inventory) == (7, True, True)
    assert row.state == "succeeded" and catalog_version() > version
    assert (await ProductVariant.get(external_id="P2-1")).manage_inventory is False  # not on the page


async def test_the_stock_of_a_delta_page_is_retried_while_the_erp_is_unavailable(
    engine: Engine, fake_erp: FakeErp
) -> None:
    fake_erp.products = [mug()]
    await run_sync(engine)
    fake_erp.products.append(cap())
    fake_erp.stock["P3-B"] = StockLevel(variant_external_id="P3-B", qty_available=Decimal("2"))
    fake_erp.fail("get_stock", ConnectionResetError("reset"), times=1)

    row = await run_sync(engine)

    assert row.state == "succeeded" and fake_erp.calls["get_stock"] == 2
    assert (await ProductVariant.get(external_id="P3-B")).inventory_quantity == 2
