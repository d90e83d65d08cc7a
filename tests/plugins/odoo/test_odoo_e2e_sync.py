"""Product sync from the fake Odoo over HTTP: the full catalogue, deltas per stream, archiving and restoring."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from core.models import Price, Product, ProductVariant
from erpcommerce_odoo.fake_odoo import FakeOdoo
from tests.plugins.odoo.e2e_support import (  # noqa: F401 - fixtures
    OdooStore,
    erp_options,
    expected_price,
    fake,
    odoo_options,
    odoo_server,
    odoo_store,
    plugins,
    settings,
    sync,
)

PUBLIC_PRICELIST = 1


def streams(row: Any) -> dict[str, dict[str, int]]:
    """Per stream of a SyncRun: what it read and did."""
    names = ("seen", "created", "updated", "unchanged", "archived", "failed")
    return {name: {key: stream[key] for key in names} for name, stream in row.details["streams"].items()}


def set_quantity(fake: FakeOdoo, default_code: str, quantity: float) -> None:
    """Count a variant's quant in WH/Stock again, as an inventory adjustment does."""
    (variant,) = fake.call("product.product", "search", [("default_code", "=", default_code)])
    quant = min(fake.call("stock.quant", "search", [("product_id", "=", variant)]))
    fake.call("stock.quant", "write", [quant], {"inventory_quantity": quantity})
    fake.call("stock.quant", "action_apply_inventory", [quant])


async def live_products() -> dict[str, Product]:
    return {p.external_id: p for p in await Product.filter(external_id__isnull=False, deleted_at__isnull=True)}


async def live_variants() -> dict[str, ProductVariant]:
    return {v.external_id: v for v in await ProductVariant.filter(external_id__isnull=False, deleted_at__isnull=True)}


async def store_prices(variant: ProductVariant) -> list[tuple[Any, Any]]:
    return [(p.amount, p.min_quantity) for p in await Price.filter(variant_id=variant.id).order_by("amount")]


# -------------------------------------------------------------------------------------------------
# Full sync
# -------------------------------------------------------------------------------------------------


async def test_a_full_sync_brings_odoos_catalogue(odoo_store: OdooStore, fake: FakeOdoo) -> None:
    templates = fake.call("product.template", "search_read", [], ["name", "description_sale"])
    variants = fake.call(
        "product.product", "search_read", [("product_tmpl_id.active", "=", True)],
        ["default_code", "barcode", "product_tmpl_id", "free_qty", "allow_out_of_stock_order"],
    )
    assert fake.call("product.template", "search_count", []) == len(templates) == 7
    assert fake.call("product.product", "search_count", []) == len(variants) == 12
    row = odoo_store.first_sync
    assert (row.state, row.created, row.failed) == ("succeeded", 7, 0)

    products = await live_products()
    assert {ext: p.title for ext, p in products.items()} == {str(t["id"]): t["name"] for t in templates}
    assert all(p.status == "published" for p in products.values())
    store_variants = await live_variants()
    assert set(store_variants) == {str(v["id"]) for v in variants}
    for odoo in variants:
        variant = store_variants[str(odoo["id"])]
        assert variant.sku == odoo["default_code"]
        assert variant.barcode == (odoo["barcode"] or None)
        assert variant.product_id == products[str(odoo["product_tmpl_id"][0])].id  # type: ignore[attr-defined]
        # prices: the public pricelist (list price plus attribute extras); stock: free_qty
        assert await store_prices(variant) == [(expected_price(fake, PUBLIC_PRICELIST, odoo["id"], 1), None)]
        assert (variant.manage_inventory, variant.inventory_quantity, variant.allow_backorder) == (
            True, int(odoo["free_qty"]), odoo["allow_out_of_stock_order"]
        )

    chair = products[str(odoo_store.template_id("CHAIR-BLK"))]
    options = {o.title: sorted(v.value for v in await o.values.all()) for o in await chair.options.all()}
    assert options == {"Color": ["Black", "Red", "White"]}
    red = store_variants[str(odoo_store.odoo_id("CHAIR-RED"))]
    assert (red.title, [v.value for v in await red.options.all()]) == ("Red", ["Red"])
    assert await store_prices(red) == [(130, None)]  # 120 + the Red extra of 10


async def test_archived_odoo_records_are_not_sold(odoo_store: OdooStore) -> None:
    tray = await Product.filter(external_id=str(odoo_store.template_id("TRAY"))).first()
    assert tray is None or tray.deleted_at is not None  # archived in Odoo before the first sync
    black_board = await ProductVariant.filter(external_id=str(odoo_store.odoo_id("WB-BLK"))).first()
    assert black_board is None or black_board.deleted_at is not None
    white_board = await ProductVariant.get(external_id=str(odoo_store.odoo_id("WB-WHT")))
    assert white_board.deleted_at is None


async def test_a_second_full_sync_changes_nothing(client: TestClient, odoo_store: OdooStore) -> None:
    before = (await Product.all().count(), await ProductVariant.all().count(), await Price.all().count())
    row = await sync(client, full=True)
    assert (row.state, row.created, row.updated, row.archived, row.failed) == ("succeeded", 0, 0, 0, 0)
    assert (await Product.all().count(), await ProductVariant.all().count(), await Price.all().count()) == before


# -------------------------------------------------------------------------------------------------
# Delta sync
# -------------------------------------------------------------------------------------------------


async def test_a_delta_sync_reads_only_what_changed_in_odoo(
    client: TestClient, odoo_store: OdooStore, fake: FakeOdoo
) -> None:
    lamp = odoo_store.template_id("LAMP")
    # A first delta moves each stream's cursor past the seed's stamp (a record written within the
    # last seconds is read again once: Odoo stamps write_date at second precision).
    fake.call("product.template", "write", [lamp], {"description_sale": "Warm light"})
    set_quantity(fake, "KBD-US", 41)
    settled = await sync(client)
    assert settled.state == "succeeded", settled.error

    fake.call("product.template", "write", [lamp], {"name": "Desk Lamp Pro"})
    white = odoo_store.odoo_id("CHAIR-WHT")
    fake.call("product.pricelist.item", "create", {
        "pricelist_id": PUBLIC_PRICELIST, "applied_on": "0_product_variant", "product_id": white,
        "compute_price": "fixed", "fixed_price": 111.0,
    })
    set_quantity(fake, "KBD-US", 33)
    delta = await sync(client)

    assert delta.state == "succeeded", delta.error
    assert streams(delta) == {
        "products": {"seen": 1, "created": 0, "updated": 1, "unchanged": 0, "archived": 0, "failed": 0},
        "prices": {"seen": 1, "created": 0, "updated": 1, "unchanged": 0, "archived": 0, "failed": 0},
        "stock": {"seen": 1, "created": 0, "updated": 1, "unchanged": 0, "archived": 0, "failed": 0},
    }
    product = await Product.get(external_id=str(lamp))
    assert (product.title, product.description) == ("Desk Lamp Pro", "Warm light")
    chair = await ProductVariant.get(external_id=str(white))
    assert await store_prices(chair) == [(expected_price(fake, PUBLIC_PRICELIST, white, 1), None)] == [(111, None)]
    keyboard = await ProductVariant.get(external_id=str(odoo_store.odoo_id("KBD-US")))
    assert keyboard.inventory_quantity == 33

    assert streams(await sync(client))["products"]["updated"] == 0  # nothing new: nothing rewritten


# -------------------------------------------------------------------------------------------------
# Archive and restore
# -------------------------------------------------------------------------------------------------


async def test_an_archived_template_is_archived_then_restored(
    client: TestClient, odoo_store: OdooStore, fake: FakeOdoo
) -> None:
    desk = odoo_store.template_id("DESK-120")
    variant_ids = {str(i) for i in fake.call("product.product", "search", [("product_tmpl_id", "=", desk)])}
    assert len(variant_ids) == 3

    fake.call("product.template", "write", [desk], {"active": False})
    archived = await sync(client)

    assert archived.state == "succeeded" and archived.archived >= 1
    product = await Product.get(external_id=str(desk))
    assert product.deleted_at is not None
    rows = await ProductVariant.filter(external_id__in=variant_ids)
    assert len(rows) == 3 and all(v.deleted_at is not None for v in rows)
    assert str(desk) not in await live_products()

    fake.call("product.template", "write", [desk], {"active": True})
    restored = await sync(client)

    assert restored.state == "succeeded", restored.error
    product = await Product.get(external_id=str(desk))
    assert (product.deleted_at, product.status) == (None, "published")
    rows = await ProductVariant.filter(external_id__in=variant_ids)
    assert len(rows) == 3 and all(v.deleted_at is None for v in rows)
    assert await Product.filter(external_id=str(desk)).count() == 1  # restored, not duplicated
