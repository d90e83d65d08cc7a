"""Product sync of a larger catalogue: many products per page, written in bulk, re-read unchanged."""

from __future__ import annotations

from decimal import Decimal

import pluggy
import pytest

from core.config import Settings
from core.models import Price, Product, ProductOption, ProductOptionValue, ProductVariant
from core.workflows.durable import Engine
from erpcommerce_erp.contract import ErpOption, ErpProduct, ErpVariant, VariantPrices
from tests.plugins.erp.fake_erp import FakeErp
from tests.plugins.erp.product_sync_support import eur, run_sync, shirt
from tests.workflows.durable_support import make_engine

PRODUCTS = 120
SIZES = ErpOption(title="Size", values=["S", "M", "L"])


@pytest.fixture
def erp_options() -> dict[str, object]:
    return {"sync_page_size": 50}


@pytest.fixture
def engine(settings: Settings, plugins: pluggy.PluginManager, db: None) -> Engine:
    return make_engine(settings, plugins)


def shirts() -> list[ErpProduct]:
    return [
        shirt(
            external_id=f"P{n}", title=f"Shirt {n}", options=[SIZES],
            variants=[
                ErpVariant(external_id=f"P{n}-{size}", title=size, sku=f"SH{n}-{size}", options={"Size": size},
                           prices=None if size == "S" else [eur(f"{n}.5")])  # S: the price stream's
                for size in SIZES.values
            ],
        )
        for n in range(PRODUCTS)
    ]


async def test_a_large_catalogue_is_synced_in_pages_and_rerun_unchanged(engine: Engine, fake_erp: FakeErp) -> None:
    fake_erp.products = shirts()
    fake_erp.price_changes = [
        VariantPrices(variant_external_id=f"P{n}-S", prices=[eur("1"), eur("0.9", min_quantity=10)])
        for n in range(PRODUCTS)
    ]

    row = await run_sync(engine)
    again = await run_sync(engine, full=True)

    assert (row.created, row.pages) == (PRODUCTS, 3 + 3 + 1)  # products, prices, stock
    assert fake_erp.calls["list_products"] == 3 + 3  # one ERP call per page of 50
    assert (again.seen, again.unchanged, again.created, again.updated) == (PRODUCTS * 2, PRODUCTS * 2, 0, 0)
    counts = (
        await Product.all().count(), await ProductVariant.all().count(), await ProductOption.all().count(),
        await ProductOptionValue.all().count(), await Price.all().count(),
    )
    assert counts == (PRODUCTS, PRODUCTS * 3, PRODUCTS, PRODUCTS * 3, PRODUCTS * 4)
    variant = await ProductVariant.get(external_id="P119-L")
    assert [value.value for value in await variant.options.all()] == ["L"]
    prices = await Price.filter(variant__external_id="P7-S").values_list("amount", flat=True)
    assert sorted(prices) == [Decimal("0.9"), Decimal("1")]
    assert await Price.filter(variant__external_id="P7-M").values_list("amount", flat=True) == [Decimal("7.5")]
