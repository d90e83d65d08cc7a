"""Product sync, the catalogue side: creation, idempotent re-runs, deltas, archiving and restoring."""

from __future__ import annotations

from decimal import Decimal

import pluggy
import pytest

from core.config import Settings
from core.models import (
    Price,
    Product,
    ProductOption,
    ProductOptionValue,
    ProductVariant,
    SalesChannel,
    SyncCursor,
)
from core.workflows.durable import Engine
from erpcommerce_erp.contract import ErpOption, ErpVariant
from tests.plugins.erp.fake_erp import FakeErp
from tests.plugins.erp.product_sync_support import cap, catalogue, eur, mug, run_sync, shirt
from tests.workflows.durable_support import make_engine


@pytest.fixture
def erp_options() -> dict[str, object]:
    return {"sync_page_size": 2, "sync_max_retries": 2, "sync_backoff_seconds": 0.001}


@pytest.fixture
def engine(settings: Settings, plugins: pluggy.PluginManager, db: None) -> Engine:
    return make_engine(settings, plugins)


def counts(row: object) -> dict[str, int]:
    names = ("seen", "created", "updated", "unchanged", "archived", "failed")
    return {name: getattr(row, name) for name in names}


async def prices_of(external_id: str) -> list[tuple[str, Decimal, int | None]]:
    variant = await ProductVariant.get(external_id=external_id)
    rows = await Price.filter(variant_id=variant.id).order_by("amount")
    return [(p.currency_code, p.amount, p.min_quantity) for p in rows]


async def option_values_of(external_id: str) -> list[str]:
    variant = await ProductVariant.get(external_id=external_id)
    return sorted(value.value for value in await variant.options.all())


async def row_counts() -> tuple[int, int, int, int, int]:
    return (
        await Product.all().count(),
        await ProductVariant.all().count(),
        await ProductOption.all().count(),
        await ProductOptionValue.all().count(),
        await Price.all().count(),
    )


# -------------------------------------------------------------------------------------------------
# First sync, re-runs, deltas
# -------------------------------------------------------------------------------------------------


async def test_first_sync_creates_products_options_variants_and_prices(engine: Engine, fake_erp: FakeErp) -> None:
    webshop = await SalesChannel.create(name="Webshop")
    b2b = await SalesChannel.create(name="B2B")
    fake_erp.products = catalogue()

    row = await run_sync(engine)

    assert row.state == "succeeded" and row.error is None
    assert counts(row) == {"seen": 3, "created": 3, "updated": 0, "unchanged": 0, "archived": 0, "failed": 0}
    assert row.pages == 4  # products: 2 pages of 2; prices and stock: one empty page each
    products = {p.external_id: p for p in await Product.all()}
    assert {ext: (p.title, p.handle, p.status) for ext, p in products.items()} == {
        "P1": ("Shirt", "shirt", "published"),
        "P2": ("Mug", "mug", "published"),
        "P3": ("Cap", "cap-hat", "published"),
    }
    assert products["P1"].description == "A shirt"
    for product in products.values():  # every existing sales channel, on creation
        assert {c.id for c in await product.sales_channels.all()} == {webshop.id, b2b.id}
    variants = {v.external_id: v for v in await ProductVariant.all()}
    assert {ext: (v.title, v.sku, v.variant_rank) for ext, v in variants.items()} == {
        "P1-S": ("S", "SH-S", 0), "P1-M": ("M", "SH-M", 1), "P2-1": ("Default", "MUG-1", 0),
        "P3-R": ("Red", None, 0), "P3-B": ("Blue", None, 1),
    }
    assert variants["P1-S"].product_id == products["P1"].id  # type: ignore[attr-defined]
    assert await option_values_of("P1-M") == ["M"]
    assert await option_values_of("P3-B") == ["Blue"]
    assert await option_values_of("P2-1") == []
    assert await prices_of("P1-M") == [("eur", Decimal("11"), 10), ("eur", Decimal("12.5"), None)]
    assert await prices_of("P3-R") == []  # no prices in the product stream: the price stream's
    assert fake_erp.calls["list_products"] == 2  # page size 2: one call per page
    cursor = await SyncCursor.get(name="products:products")
    assert (cursor.value, cursor.sync_run_id) == ("3", row.id)
    assert row.cursors_before == {"products:products": None, "products:prices": None, "products:stock": None}
    assert row.cursors_after == {"products:products": "3", "products:prices": "0", "products:stock": "0"}
    assert row.expected == 3


async def test_rerun_with_nothing_changed_duplicates_nothing(engine: Engine, fake_erp: FakeErp) -> None:
    fake_erp.products = catalogue()
    await run_sync(engine)
    before = await row_counts()

    delta = await run_sync(engine)
    full = await run_sync(engine, full=True)

    assert counts(delta) == {"seen": 0, "created": 0, "updated": 0, "unchanged": 0, "archived": 0, "failed": 0}
    assert counts(full) == {"seen": 3, "created": 0, "updated": 0, "unchanged": 3, "archived": 0, "failed": 0}
    assert await row_counts() == before == (3, 5, 2, 4, 4)


async def test_delta_sync_reads_from_the_cursor_and_updates_by_external_id(
    engine: Engine, fake_erp: FakeErp
) -> None:
    fake_erp.products = catalogue()
    await run_sync(engine)
    fake_erp.log.clear()
    # The ERP's stream lists changed products again, after the cursor.
    changed = shirt(
        title="Shirt Deluxe",
        options=[ErpOption(title="Size", values=["S", "M", "L"])],
        variants=[
            ErpVariant(external_id="P1-S", title="Small", sku="SH-S", options={"Size": "S"}, prices=[eur("9.5")]),
            ErpVariant(external_id="P1-M", title="M", sku="SH-M", options={"Size": "L"},
                       prices=[eur("12.5"), eur("11", min_quantity=10)]),
        ],
    )
    new = mug(external_id="P4", title="Mug", variants=[ErpVariant(external_id="P4-1", title="Default")])
    fake_erp.products += [changed, new]

    row = await run_sync(engine)

    assert counts(row) == {"seen": 2, "created": 1, "updated": 1, "unchanged": 0, "archived": 0, "failed": 0}
    assert [args for name, args in fake_erp.log if name == "list_products"] == [("3", None, 2)]
    shirt_row = await Product.get(external_id="P1")
    assert (shirt_row.title, shirt_row.handle) == ("Shirt Deluxe", "shirt")  # the handle stays
    assert (await ProductVariant.get(external_id="P1-S")).title == "Small"
    assert await prices_of("P1-S") == [("eur", Decimal("9.5"), None)]
    assert await option_values_of("P1-M") == ["L"]
    new_row = await Product.get(external_id="P4")
    assert new_row.handle == "mug-p4"  # "mug" is taken: made unique with the ERP id
    assert await Product.filter(external_id="P1").count() == 1
    assert (await SyncCursor.get(name="products:products")).value == "5"


async def test_a_product_the_store_already_has_is_taken_over_by_external_id(
    engine: Engine, fake_erp: FakeErp
) -> None:
    existing = await Product.create(title="Old shirt", handle="old-shirt", status="draft", external_id="P1")
    fake_erp.products = [shirt()]

    row = await run_sync(engine)

    assert (row.created, row.updated) == (0, 1)
    product = await Product.get(id=existing.id)
    assert (product.title, product.status, product.handle) == ("Shirt", "published", "old-shirt")
    assert await Product.all().count() == 1


# -------------------------------------------------------------------------------------------------
# Archiving and restoring
# -------------------------------------------------------------------------------------------------


async def test_a_product_the_erp_deactivates_is_archived_and_restored_when_it_comes_back(
    engine: Engine, fake_erp: FakeErp
) -> None:
    fake_erp.products = catalogue()
    await run_sync(engine)

    fake_erp.products.append(mug(active=False))
    archived = await run_sync(engine)

    assert (archived.archived, archived.updated) == (1, 0)
    product = await Product.get(external_id="P2")
    assert product.deleted_at is not None
    assert (await ProductVariant.get(external_id="P2-1")).deleted_at is not None

    fake_erp.products.append(mug())
    restored = await run_sync(engine)

    assert (restored.updated, restored.created) == (1, 0)
    assert (await Product.get(external_id="P2")).deleted_at is None
    assert (await ProductVariant.get(external_id="P2-1")).deleted_at is None
    assert await Product.filter(external_id="P2").count() == 1


async def test_variants_missing_or_inactive_in_the_erp_are_archived(engine: Engine, fake_erp: FakeErp) -> None:
    fake_erp.products = catalogue()
    await run_sync(engine)
    red, blue = cap().variants
    fake_erp.products += [
        shirt(variants=[shirt().variants[0]]),  # M no longer listed
        cap(variants=[red, blue.model_copy(update={"active": False})]),
    ]

    row = await run_sync(engine)

    assert (row.updated, row.archived) == (2, 0)
    live = set(await ProductVariant.filter(deleted_at=None).values_list("external_id", flat=True))
    assert live == {"P1-S", "P2-1", "P3-R"}
    assert await ProductVariant.all().count() == 5


async def test_full_sync_archives_erp_products_no_longer_listed(engine: Engine, fake_erp: FakeErp) -> None:
    own = await Product.create(title="Store only", handle="store-only", status="published")
    fake_erp.products = catalogue()
    await run_sync(engine)
    fake_erp.products = [shirt(), cap()]

    delta = await run_sync(engine)
    assert delta.archived == 0  # a delta sync cannot know what is gone
    full = await run_sync(engine, full=True)

    assert counts(full) == {"seen": 2, "created": 0, "updated": 0, "unchanged": 2, "archived": 1, "failed": 0}
    assert (await Product.get(external_id="P2")).deleted_at is not None
    assert (await ProductVariant.get(external_id="P2-1")).deleted_at is not None
    assert (await Product.get(id=own.id)).deleted_at is None  # not linked to the ERP: left alone
    assert (await Product.get(external_id="P1")).deleted_at is None


async def test_a_new_variant_takes_the_sku_of_an_archived_one(engine: Engine, fake_erp: FakeErp) -> None:
    fake_erp.products = [mug()]
    await run_sync(engine)
    fake_erp.products.append(mug(variants=[ErpVariant(external_id="P2-2", title="Default", sku="MUG-1")]))

    row = await run_sync(engine)

    assert (row.updated, row.failed) == (1, 0)
    old, new = await ProductVariant.get(external_id="P2-1"), await ProductVariant.get(external_id="P2-2")
    assert (old.deleted_at is not None, old.sku) == (True, None)
    assert (new.deleted_at, new.sku) == (None, "MUG-1")


# -------------------------------------------------------------------------------------------------
# Records the store cannot take
# -------------------------------------------------------------------------------------------------


async def test_a_malformed_record_is_counted_failed_and_the_page_goes_on(
    engine: Engine, fake_erp: FakeErp, caplog: pytest.LogCaptureFixture
) -> None:
    await ProductVariant.create(
        product=await Product.create(title="Other", handle="other"), title="X", sku="TAKEN"
    )
    bad_option = cap(variants=[ErpVariant(external_id="P3-G", title="Green", options={"Color": "Green"})])
    bad_sku = mug(variants=[ErpVariant(external_id="P2-1", title="Default", sku="TAKEN")])
    fake_erp.products = [shirt(), shirt(title="Twice"), bad_option, bad_sku]  # pages of 2

    row = await run_sync(engine)

    assert row.state == "succeeded"
    assert counts(row) == {"seen": 4, "created": 1, "updated": 0, "unchanged": 0, "archived": 0, "failed": 3}
    assert set(await Product.exclude(external_id=None).values_list("external_id", flat=True)) == {"P1"}
    reasons = [getattr(record, "reason", "") for record in caplog.records]
    assert any('"Green" is not a value of option "Color"' in reason for reason in reasons)
    assert any("SKU TAKEN belongs to another product variant" in reason for reason in reasons)
    assert any("listed twice in one page" in reason for reason in reasons)

