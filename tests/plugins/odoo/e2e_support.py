"""End-to-end fixtures: the fake Odoo served over HTTP, the store configured to use it, synced from it.

Everything goes over real HTTP: the store's Odoo client posts JSON-RPC to the fake Odoo
(``aiohttp_server``), storefront calls go to the store app (the ``client`` fixture of
tests/conftest.py, itself a real server), and the fake's automation-rule webhooks post back to it.

A test module imports the fixtures it uses (``from tests.plugins.odoo.e2e_support import ...``,
``# noqa: F401``) and overrides ``erp_options`` (``[plugins.erp]``) or ``odoo_options``
(``[plugins.odoo]``) to change settings, as tests/plugins/erp/conftest.py does. ``odoo_store``
gives the seeded store (tests.conftest.seed_store) after a first product sync from the demo
catalogue (see :mod:`erpcommerce_odoo.fake_odoo.seed`): its variants by Odoo ``default_code``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pluggy
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from core.config import ErpSettings, Settings
from core.keys import ENGINE
from core.models import Customer, ProductVariant, SyncRun
from core.plugins import build_plugin_manager
from core.syncs import start_sync
from erpcommerce_erp.plugin import PLUGIN_NAME as ERP, ErpPlugin
from erpcommerce_odoo.fake_odoo import FakeOdoo, create_app, fake_of
from erpcommerce_odoo.plugin import PLUGIN_NAME as ODOO, OdooPlugin
from tests.api.store.carts_support import customer_token
from tests.conftest import SeededStore
from tests.polling import wait_until

__all__ = [
    "WEBHOOK_SECRET",
    "OdooStore",
    "erp_options",
    "expected_price",
    "fake",
    "money",
    "odoo_options",
    "odoo_server",
    "odoo_store",
    "plugins",
    "settings",
    "signed_in",
    "sync",
]

WEBHOOK_SECRET = "whsec-odoo-e2e-0123456789abcdef0123456789"
CENT = Decimal("0.01")


# -------------------------------------------------------------------------------------------------
# Settings and plugins
# -------------------------------------------------------------------------------------------------


@pytest.fixture
def erp_options() -> dict[str, object]:
    """``[plugins.erp]`` for the test; override the fixture to change it."""
    return {}


@pytest.fixture
def odoo_options() -> dict[str, object]:
    """``[plugins.odoo]`` beyond the fake's address and credentials; override to change it."""
    return {}


@pytest.fixture
async def odoo_server(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> TestServer:
    """The fake Odoo with the demo catalogue, served on a free port (webhooks retried quickly)."""
    return await aiohttp_server(create_app("demo", webhook_backoff=0.01))


@pytest.fixture
def fake(odoo_server: TestServer) -> FakeOdoo:
    """The served fake Odoo's data, faults and webhooks."""
    assert isinstance(odoo_server.app, web.Application)
    return fake_of(odoo_server.app)


@pytest.fixture
def settings(
    settings: Settings, odoo_server: TestServer, erp_options: dict[str, object], odoo_options: dict[str, object]
) -> Settings:
    """The test settings with ``[plugins.odoo]`` pointed at the fake and ``[erp] webhook_secret`` set."""
    odoo = {
        "url": str(odoo_server.make_url("")).rstrip("/"),
        "database": "demo",
        "login": "admin",
        "password": "admin",
        # Odoo's request time limit, which an order create that failed waits out before it is
        # retried (130 s by default): the fake's requests end quickly.
        "request_time_limit_seconds": 0.05,
        **odoo_options,
    }
    return settings.model_copy(
        update={
            "erp": ErpSettings(webhook_secret=WEBHOOK_SECRET, price_cache_seconds=0),
            "plugins": {ERP: dict(erp_options), ODOO: odoo},
        }
    )


@pytest.fixture
def plugins(settings: Settings) -> pluggy.PluginManager:
    """Core's defaults, the ``erp`` plugin and a fresh ``odoo`` plugin."""
    return build_plugin_manager(
        settings, load_entry_points=False, extra_plugins=((ErpPlugin(), ERP), (OdooPlugin(), ODOO))
    )


# -------------------------------------------------------------------------------------------------
# The store, synced from the fake Odoo
# -------------------------------------------------------------------------------------------------


async def sync(client: TestClient, *, full: bool = False) -> SyncRun:
    """Run the products sync through the store's own runner (as the daily job does); its finished row."""
    row = await start_sync(client.app[ENGINE], "products", full=full, trigger="test")

    async def finished() -> bool:
        return await SyncRun.filter(id=row.id).exclude(state="running").exists()

    await wait_until(finished)
    return await SyncRun.get(id=row.id)


@dataclass
class OdooStore:
    """The seeded store after its first sync from the fake Odoo."""

    store: SeededStore
    fake: FakeOdoo
    first_sync: SyncRun

    def odoo_id(self, default_code: str) -> int:
        """The Odoo ``product.product`` id of a demo variant (archived ones too)."""
        ids = self.fake.call("product.product", "search", [("default_code", "=", default_code)],
                             context={"active_test": False})
        assert len(ids) == 1, (default_code, ids)
        return int(ids[0])

    def template_id(self, default_code: str) -> int:
        """The Odoo ``product.template`` id of a demo variant."""
        return int(self.fake.records("product.product")[self.odoo_id(default_code)]["product_tmpl_id"])

    async def variant(self, default_code: str) -> str:
        """The store variant id of a demo variant (found by its Odoo id)."""
        found = await ProductVariant.get(external_id=str(self.odoo_id(default_code)))
        return found.id


@pytest.fixture
async def odoo_store(client: TestClient, store: SeededStore, fake: FakeOdoo) -> OdooStore:
    """The seeded store (region EUR, a sales channel) with the demo catalogue synced from the fake."""
    row = await sync(client)
    assert row.state == "succeeded", row.error
    return OdooStore(store=store, fake=fake, first_sync=row)


# -------------------------------------------------------------------------------------------------
# Customers and prices
# -------------------------------------------------------------------------------------------------


async def signed_in(settings: Settings, email: str, company_name: str | None = None) -> str:
    """A store customer with ``email`` (and company) and their bearer token."""
    customer_id, token = await customer_token(settings, email)
    await Customer.filter(id=customer_id).update(company_name=company_name)
    return token


def expected_price(fake: FakeOdoo, pricelist_id: int, variant_id: int, quantity: int) -> Decimal:
    """What the fake Odoo's own pricelist engine gives, to the cent."""
    pricelists: Any = fake.db["product.pricelist"]
    price = pricelists.price(pricelist_id, variant_id, quantity, fake.db.now())
    return Decimal(str(price)).quantize(CENT, ROUND_HALF_UP)


def money(value: Any) -> Decimal:
    """A JSON amount to the cent."""
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)
