"""``erpcommerce reconcile`` against the fake ERP: a synced store has no difference, and each kind of
difference between the store and the ERP is reported (catalogue, prices, stock, archive state, orders)."""

from __future__ import annotations

from decimal import Decimal

import pluggy
import pytest

from core.config import Settings
from core.errors import ErpUnavailable
from core.models import Order, Product, ProductVariant
from core.workflows.durable import Engine
from erpcommerce_erp.contract import ErpOption, ErpOrder, ErpPrice, ErpVariant, StockLevel, VariantPrices
from erpcommerce_erp.plugin import ErpPlugin
from erpcommerce_erp.reconcile import reconcile
from erpcommerce_erp.reconcile_report import Difference, ReconcileReport
from tests.plugins.erp.conftest import ErpStore
from tests.plugins.erp.fake_erp import FakeErp, FakeErpOrder
from tests.plugins.erp.orders_support import make_order
from tests.plugins.erp.product_sync_support import cap, catalogue, eur, mug, run_sync, shirt
from tests.workflows.durable_support import make_engine


@pytest.fixture
def erp_options() -> dict[str, object]:
    return {
        "sync_page_size": 2,
        "sync_max_retries": 1,
        "sync_backoff_seconds": 0.001,
        "status_map": {"sale": "pending", "cancel": "canceled"},
    }


@pytest.fixture
def fake_erp() -> FakeErp:
    """The catalogue (Shirt, Mug, Cap), Cap's prices from the price stream, stock for every variant."""
    stock = [StockLevel(variant_external_id=v, qty_available=Decimal(7)) for v in ("P1-S", "P1-M", "P2-1", "P3-R")]
    return FakeErp(
        products=catalogue(),
        price_changes=[
            VariantPrices(variant_external_id="P3-R", prices=[eur("8")]),
            VariantPrices(variant_external_id="P3-B", prices=[eur("8"), eur("7", min_quantity=5)]),
        ],
        stock_changes=stock,
    )


@pytest.fixture
async def synced(settings: Settings, plugins: pluggy.PluginManager, db: None) -> Engine:
    """The store after a sync of the fake's catalogue."""
    engine = make_engine(settings, plugins)
    row = await run_sync(engine)
    assert row.state == "succeeded", row.error
    return engine


async def check(erp_plugin: ErpPlugin, *parts: str) -> ReconcileReport:
    assert erp_plugin.gateway is not None
    return await reconcile(erp_plugin.gateway, erp_plugin.settings, parts=parts or ("products", "stock", "orders"),
                           limit=0)


def kinds(report: ReconcileReport) -> dict[str, int]:
    return dict(report.counts)


def only(report: ReconcileReport, kind: str) -> list[Difference]:
    return [item for item in report.items if item.kind == kind]


# -------------------------------------------------------------------------------------------------
# A synced store
# -------------------------------------------------------------------------------------------------


async def test_a_synced_store_has_no_difference(synced: Engine, erp_plugin: ErpPlugin) -> None:
    report = await check(erp_plugin)
    assert report.total == 0, report.items
    assert report.checked["products"] == 3 and report.checked["variants"] == 5
    assert report.checked["prices"] == 5 and report.checked["stock"] == 4
    assert report.as_json()["ok"] is True


async def test_the_erp_is_read_page_by_page_from_the_start(
    synced: Engine, erp_plugin: ErpPlugin, fake_erp: FakeErp
) -> None:
    fake_erp.log.clear()
    await check(erp_plugin, "products")
    pages = [args for operation, args in fake_erp.log if operation == "list_products"]
    assert pages == [(None, None, 2), (None, "2", 2)]  # never from the sync's cursor


# -------------------------------------------------------------------------------------------------
# Products and variants
# -------------------------------------------------------------------------------------------------


async def test_changed_product_and_variant_fields_are_reported(
    synced: Engine, erp_plugin: ErpPlugin, fake_erp: FakeErp
) -> None:
    variants = list(shirt().variants)
    variants[0] = variants[0].model_copy(update={"sku": "SH-S2", "title": "Small"})
    fake_erp.products[0] = shirt(title="Shirt 2", description=None, variants=variants)
    report = await check(erp_plugin, "products")
    fields = sorted((d.kind, d.external_id, d.field, d.store, d.erp) for d in report.items)
    assert fields == [
        ("product.field", "P1", "description", "A shirt", None),
        ("product.field", "P1", "title", "Shirt", "Shirt 2"),
        ("variant.field", "P1-S", "sku", "SH-S", "SH-S2"),
        ("variant.field", "P1-S", "title", "S", "Small"),
    ]


async def test_changed_options_are_reported(synced: Engine, erp_plugin: ErpPlugin, fake_erp: FakeErp) -> None:
    variants = [v.model_copy(update={"options": {"Size": "L" if v.external_id == "P1-M" else "S"}})
                for v in shirt().variants]
    fake_erp.products[0] = shirt(options=[ErpOption(title="Size", values=["S", "L"])], variants=variants)
    report = await check(erp_plugin, "products")
    assert kinds(report) == {"product.options": 1, "variant.options": 1}
    (variant,) = only(report, "variant.options")
    assert (variant.external_id, variant.store, variant.erp) == ("P1-M", "Size=M", "Size=L")


async def test_products_and_variants_missing_on_either_side_are_reported(
    synced: Engine, erp_plugin: ErpPlugin, fake_erp: FakeErp
) -> None:
    hat = mug(external_id="P9", title="Hat", variants=[ErpVariant(external_id="P9-1", title="Hat", sku="HAT")])
    extra = ErpVariant(external_id="P1-L", title="L", sku="SH-L", options={"Size": "L"}, prices=[eur("14")])
    shirt_l = shirt(options=[ErpOption(title="Size", values=["S", "M", "L"])],
                    variants=[*shirt().variants, extra])
    fake_erp.products = [shirt_l, cap(variants=cap().variants[:1]), hat]  # the Mug and Cap's Blue are gone
    fake_erp.price_changes = fake_erp.price_changes[:1]
    report = await check(erp_plugin, "products")
    found = sorted((d.kind, d.external_id) for d in report.items)
    assert found == [
        ("product.missing_in_erp", "P2"),  # its variant P2-1 is not reported again
        ("product.missing_in_store", "P9"),
        ("product.options", "P1"),
        ("variant.missing_in_erp", "P3-B"),
        ("variant.missing_in_store", "P1-L"),
    ]


async def test_archive_state_differences_are_reported_both_ways(
    synced: Engine, erp_plugin: ErpPlugin, fake_erp: FakeErp
) -> None:
    variants = [shirt().variants[0], shirt().variants[1].model_copy(update={"active": False})]
    fake_erp.products = [shirt(variants=variants), mug(active=False), cap()]
    cap_row = await Product.get(external_id="P3")
    await Product.filter(id=cap_row.id).update(deleted_at=cap_row.created_at)
    report = await check(erp_plugin, "products")
    found = sorted((d.kind, d.external_id) for d in report.items)
    assert ("product.archived_in_erp", "P2") in found
    assert ("product.archived_in_store", "P3") in found
    assert ("variant.archived_in_erp", "P1-M") in found
    assert report.counts["product.archived_in_erp"] == 1 and report.counts["variant.archived_in_erp"] == 1


async def test_a_variant_restored_in_the_store_but_archived_in_the_erp_is_reported(
    synced: Engine, erp_plugin: ErpPlugin, fake_erp: FakeErp
) -> None:
    fake_erp.products[1] = mug(variants=[mug().variants[0].model_copy(update={"active": False})])
    await run_sync(synced, full=True)  # the fake's delta lists only products appended since
    assert (await check(erp_plugin, "products")).total == 0
    await ProductVariant.filter(external_id="P2-1").update(deleted_at=None)
    report = await check(erp_plugin, "products")
    assert kinds(report) == {"variant.archived_in_erp": 1}


# -------------------------------------------------------------------------------------------------
# Prices and stock
# -------------------------------------------------------------------------------------------------


async def test_price_differences_are_reported_per_currency(
    synced: Engine, erp_plugin: ErpPlugin, fake_erp: FakeErp
) -> None:
    usd = ErpPrice(currency_code="usd", amount=Decimal("9.5"))
    fake_erp.price_changes = [
        VariantPrices(variant_external_id="P3-R", prices=[eur("8.5"), usd]),
        fake_erp.price_changes[1],
    ]
    variants = [shirt().variants[0].model_copy(update={"prices": [eur("10"), eur("9", min_quantity=3)]}),
                shirt().variants[1]]
    fake_erp.products[0] = shirt(variants=variants)
    report = await check(erp_plugin, "products")
    found = sorted((d.external_id, d.field, d.store, d.erp) for d in only(report, "price.mismatch"))
    assert found == [
        ("P1-S", "eur", "10", "10, 9 from 3"),
        ("P3-R", "eur", "8", "8.5"),
        ("P3-R", "usd", "none", "9.5"),
    ]
    assert kinds(report) == {"price.mismatch": 3}


async def test_the_price_stream_decides_over_the_product_streams_prices(
    synced: Engine, erp_plugin: ErpPlugin, fake_erp: FakeErp
) -> None:
    fake_erp.price_changes.append(VariantPrices(variant_external_id="P2-1", prices=[eur("6")]))
    await run_sync(synced, full=True)  # the price stream is applied after the product stream: 6 EUR
    report = await check(erp_plugin, "products")
    assert report.total == 0, report.items


async def test_stock_differences_are_reported(synced: Engine, erp_plugin: ErpPlugin, fake_erp: FakeErp) -> None:
    fake_erp.stock_changes[0] = StockLevel(variant_external_id="P1-S", qty_available=Decimal("3.7"),
                                           allow_out_of_stock_order=True)
    report = await check(erp_plugin)
    found = sorted((d.external_id, d.field, d.store, d.erp) for d in only(report, "stock.mismatch"))
    assert found == [("P1-S", "allow_backorder", "False", "True"), ("P1-S", "inventory_quantity", "7", "3")]
    assert (await check(erp_plugin, "products", "stock")).counts["stock.mismatch"] == 2
    no_stock = await reconcile(erp_plugin.gateway, erp_plugin.settings, parts=("products",))  # type: ignore[arg-type]
    assert no_stock.total == 0


# -------------------------------------------------------------------------------------------------
# Orders
# -------------------------------------------------------------------------------------------------


def erp_order(fake: FakeErp, order: Order, status: str = "sale") -> str:
    """An order in the fake ERP made for ``order``; its ERP id."""
    external_id = str(len(fake.orders) + 100)
    sent = ErpOrder(id=order.id, display_id=order.display_id, currency_code="eur", items=[], total=order.total,
                    created_at=order.created_at)
    fake.orders[external_id] = FakeErpOrder(external_id, sent, f"key-{external_id}", status)
    return external_id


@pytest.fixture
def orders_store(erp_store: ErpStore, plugins: pluggy.PluginManager) -> ErpStore:
    """The seeded store with ERP ids, the plugins configured."""
    return erp_store


async def linked_order(store: ErpStore, fake: FakeErp, status: str = "sale") -> tuple[Order, str]:
    order = await make_order(store)
    external_id = erp_order(fake, order, status)
    order.metadata = {"external_id": external_id, "erp_name": f"S{external_id}"}
    await order.save()
    return order, external_id


async def test_orders_in_step_with_the_erp_have_no_difference(
    orders_store: ErpStore, erp_plugin: ErpPlugin, fake_erp: FakeErp
) -> None:
    await linked_order(orders_store, fake_erp)
    canceled, _ = await linked_order(orders_store, fake_erp, "cancel")
    await Order.filter(id=canceled.id).update(status="canceled")
    before_export = await make_order(orders_store)
    await Order.filter(id=before_export.id).update(status="canceled")  # cancelled before export: not in the ERP
    report = await check(erp_plugin, "orders")
    assert report.total == 0, report.items
    assert report.checked["orders"] == 3


async def test_each_kind_of_order_difference_is_reported(
    orders_store: ErpStore, erp_plugin: ErpPlugin, fake_erp: FakeErp
) -> None:
    missing = await make_order(orders_store)
    duplicated, first = await linked_order(orders_store, fake_erp)
    second = erp_order(fake_erp, duplicated)
    canceled_in_erp, cancel_id = await linked_order(orders_store, fake_erp, "cancel")
    unlinked = await make_order(orders_store)
    unlinked_id = erp_order(fake_erp, unlinked)
    wrong_link, _ = await linked_order(orders_store, fake_erp)
    await Order.filter(id=wrong_link.id).update(metadata={"external_id": "999"})
    report = await check(erp_plugin, "orders")
    found = sorted((d.kind, d.store_id, d.external_id) for d in report.items)
    assert found == sorted([
        ("order.missing_in_erp", missing.id, None),
        ("order.duplicated", duplicated.id, f"{first}, {second}"),
        ("order.status", canceled_in_erp.id, cancel_id),
        ("order.unlinked", unlinked.id, unlinked_id),
        ("order.link", wrong_link.id, "999"),
    ])
    (status,) = only(report, "order.status")
    assert (status.store, status.erp) == ("pending", "canceled")
    (gone,) = only(report, "order.missing_in_erp")
    assert gone.detail == "no export run"


async def test_an_order_cancelled_in_the_store_but_live_in_the_erp_is_reported(
    orders_store: ErpStore, erp_plugin: ErpPlugin, fake_erp: FakeErp
) -> None:
    order, external_id = await linked_order(orders_store, fake_erp)
    await Order.filter(id=order.id).update(status="canceled")
    report = await check(erp_plugin, "orders")
    (difference,) = report.items
    assert (difference.kind, difference.store, difference.erp) == ("order.status", "canceled", "pending")


async def test_an_erp_client_that_cannot_list_orders_leaves_them_unchecked(
    orders_store: ErpStore, erp_plugin: ErpPlugin, fake_erp: FakeErp
) -> None:
    await make_order(orders_store)
    fake_erp.fail("list_orders_by_reference", NotImplementedError("FakeERP cannot list orders"))
    report = await check(erp_plugin, "orders")
    assert report.total == 0
    assert report.unchecked == {"orders": "FakeERP cannot list orders: orders were not compared"}
    assert report.as_json()["ok"] is False


async def test_an_unreachable_erp_fails_the_reconcile(synced: Engine, erp_plugin: ErpPlugin, fake_erp: FakeErp) -> None:
    fake_erp.down = True
    with pytest.raises(ErpUnavailable, match="could not be reached"):
        await check(erp_plugin, "products")


async def test_a_transient_failure_is_tried_again(synced: Engine, erp_plugin: ErpPlugin, fake_erp: FakeErp) -> None:
    fake_erp.fail("list_products", ConnectionResetError("reset"), times=1)
    report = await check(erp_plugin, "products")
    assert report.total == 0


async def test_the_report_keeps_the_first_differences_and_counts_all(
    synced: Engine, erp_plugin: ErpPlugin, fake_erp: FakeErp
) -> None:
    fake_erp.products = []
    assert erp_plugin.gateway is not None
    report = await reconcile(erp_plugin.gateway, erp_plugin.settings, parts=("products",), limit=2)
    assert report.total == 3 and len(report.items) == 2
    assert report.as_json()["truncated"] == 1
