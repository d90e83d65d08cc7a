"""Fixtures for the ``erp`` plugin: the plugin and a fake ERP client registered, a store whose
products the fake ERP knows (external ids), ERP prices differing from the store's own."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pluggy
import pytest

from core.config import ErpSettings, Settings
from core.models import Product, ProductVariant
from core.plugins import build_plugin_manager
from erpcommerce_erp.contract import StockLevel
from erpcommerce_erp.plugin import PLUGIN_NAME, ErpPlugin
from tests.conftest import SeededStore
from tests.plugins.erp.fake_erp import FakeErp

WEBHOOK_SECRET = "whsec-test-0123456789abcdef0123456789"


@pytest.fixture
def erp_options() -> dict[str, object]:
    """``[plugins.erp]`` for the test; override the fixture to change it."""
    return {}


@pytest.fixture
def settings(settings: Settings, erp_options: dict[str, object]) -> Settings:
    return settings.model_copy(
        update={
            "erp": ErpSettings(webhook_secret=WEBHOOK_SECRET, price_cache_seconds=30),
            "plugins": {PLUGIN_NAME: dict(erp_options)},
        }
    )


@pytest.fixture
def fake_erp() -> FakeErp:
    return FakeErp()


@pytest.fixture
def erp_plugin() -> ErpPlugin:
    return ErpPlugin()


@pytest.fixture
def plugins(settings: Settings, erp_plugin: ErpPlugin, fake_erp: FakeErp) -> pluggy.PluginManager:
    return build_plugin_manager(settings, load_entry_points=False, extra_plugins=((erp_plugin, PLUGIN_NAME), fake_erp))


@dataclass
class ErpStore:
    """The seeded store (see tests.conftest.seed_store) with ERP ids:
    Shirt = product "T1" (variants S = "V1", M = "V2"), Mug = product "T2" (variant "V3")."""

    store: SeededStore
    fake: FakeErp

    @property
    def shirt_s(self) -> str:
        return self.store.variant_ids[0]

    @property
    def shirt_m(self) -> str:
        return self.store.variant_ids[1]

    @property
    def mug(self) -> str:
        return self.store.variant_ids[2]


@pytest.fixture
async def erp_store(store: SeededStore, fake_erp: FakeErp) -> ErpStore:
    shirt, mug = store.product_ids
    await Product.filter(id=shirt).update(external_id="T1")
    await Product.filter(id=mug).update(external_id="T2")
    for variant_id, external_id in zip(store.variant_ids, ("V1", "V2", "V3"), strict=True):
        await ProductVariant.filter(id=variant_id).update(external_id=external_id)
    # ERP prices differ from the store's (10.00 / 12.50 / 5.00) so tests can tell them apart.
    fake_erp.prices = {
        "V1": [(1, Decimal("9.00"))],
        "V2": [(1, Decimal("11.50")), (10, Decimal("10.00"))],
        "V3": [(1, Decimal("4.50"))],
    }
    fake_erp.stock = {
        "V1": StockLevel(variant_external_id="V1", qty_available=Decimal(100)),
        "V2": StockLevel(variant_external_id="V2", qty_available=Decimal(100)),
        "V3": StockLevel(variant_external_id="V3", qty_available=Decimal(3)),
    }
    return ErpStore(store, fake_erp)
