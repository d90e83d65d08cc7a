"""Shared fixtures: a migrated database per test (SQLite or PostgreSQL), the app, a seeded store.

The backend comes from ``TEST_DATABASE_URL``: unset (or ``sqlite``) for SQLite, or a
``postgres://`` URL. The schema is built once per session by the real migrations; each test then
gets a copy of the SQLite file, or freshly truncated PostgreSQL tables.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pluggy
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from tortoise import Tortoise, connections

from core.app import create_app
from core.config import AuthSettings, DatabaseSettings, ServerSettings, Settings
from core.countries import ensure_countries
from core.db import init_database, run_migrations
from core.ids import new_token
from core.models import (
    Price,
    Product,
    ProductOption,
    ProductOptionValue,
    ProductVariant,
    PublishableApiKey,
    Region,
    SalesChannel,
)
from core.plugins import build_plugin_manager

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "sqlite")
IS_POSTGRES = TEST_DATABASE_URL.startswith(("postgres://", "postgresql://"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The PostgreSQL pass runs only the tests that use a database: a ``database_url`` fixture,
    or a module that reads ``IS_POSTGRES``/``TEST_DATABASE_URL`` itself (the drills). The others
    (the fake Odoo, configuration, OpenAPI...) behave the same on both and run in the SQLite pass."""
    if not IS_POSTGRES:
        return
    kept: list[pytest.Item] = []
    left: list[pytest.Item] = []
    for item in items:
        module = getattr(item, "module", None)
        reads_backend = module is not None and (hasattr(module, "IS_POSTGRES") or hasattr(module, "TEST_DATABASE_URL"))
        uses_database = "database_url" in getattr(item, "fixturenames", ()) or reads_backend
        (kept if uses_database else left).append(item)
    if left:
        items[:] = kept
        config.hook.pytest_deselected(items=left)


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _drop_postgres_tables(url: str) -> None:
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        if rows:
            names = ", ".join(f'"{row["tablename"]}"' for row in rows)
            await conn.execute(f"DROP TABLE IF EXISTS {names} CASCADE")
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Run the migrations once: a template SQLite file, or the PostgreSQL test database."""
    if IS_POSTGRES:
        _run(_drop_postgres_tables(TEST_DATABASE_URL))
        _run(run_migrations(DatabaseSettings(url=TEST_DATABASE_URL)))
        return TEST_DATABASE_URL
    path = tmp_path_factory.mktemp("template") / "template.db"
    _run(run_migrations(DatabaseSettings(url=f"sqlite://{path}")))
    return str(path)


@pytest.fixture
def database_url(database_template: str, tmp_path: Path) -> str:
    if IS_POSTGRES:
        return database_template
    path = tmp_path / "test.db"
    shutil.copyfile(database_template, path)
    return f"sqlite://{path}"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        server=ServerSettings(environment="development", cors_origins=["http://storefront.test"]),
        database=DatabaseSettings(url=database_url),
        auth=AuthSettings(jwt_secret="test-secret-0123456789abcdef-0123456789"),
    )


async def empty_postgres_tables() -> None:
    """Delete every row of the open PostgreSQL database (but the migration history) and restart
    its sequences. DELETE, not TRUNCATE: TRUNCATE swaps each table's files (~350 ms for the
    schema), DELETE of a test's few rows takes a few ms; foreign keys are not checked meanwhile."""
    conn = connections.get("default")
    tables = await conn.execute_query_dict(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'tortoise_migrations'"
    )
    sequences = await conn.execute_query_dict(
        "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' AND sequencename NOT LIKE 'tortoise%'"
    )
    statements = [
        "SET session_replication_role = replica",
        *(f'DELETE FROM "{row["tablename"]}"' for row in tables),
        *(f'ALTER SEQUENCE "{row["sequencename"]}" RESTART' for row in sequences),
        "SET session_replication_role = DEFAULT",
    ]
    await conn.execute_script(";\n".join(statements))


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[None]:
    """An open, empty, migrated database."""
    await init_database(settings.database)
    if IS_POSTGRES:
        await empty_postgres_tables()
    yield
    await Tortoise.close_connections()


@pytest.fixture
async def aiohttp_client(aiohttp_client: Any, db: None) -> AsyncIterator[Any]:
    """pytest-aiohttp's client factory, whose clients (and apps) are closed before the database.

    An app stops its durable engine (background loops, running runs) in its cleanup, which must
    run while the database is still open.
    """
    clients: list[TestClient] = []

    async def make_client(*args: Any, **kwargs: Any) -> TestClient:
        client = await aiohttp_client(*args, **kwargs)
        clients.append(client)
        return client

    yield make_client
    while clients:
        await clients.pop().close()


@pytest.fixture
def plugins(settings: Settings) -> pluggy.PluginManager:
    """A fresh plugin manager with core's defaults only (no installed plugins)."""
    return build_plugin_manager(settings, load_entry_points=False)


@pytest.fixture
def app(settings: Settings, plugins: pluggy.PluginManager, db: None) -> web.Application:
    return create_app(settings, plugins, manage_database=False)


@pytest.fixture
async def client(aiohttp_client: Any, app: web.Application) -> TestClient:
    return await aiohttp_client(app)


@dataclass
class SeededStore:
    """What :func:`store` created: ids and the publishable key, with request-header helpers."""

    region_id: str
    sales_channel_id: str
    publishable_key: str
    product_ids: list[str]
    variant_ids: list[str]
    prices: dict[str, Decimal] = field(default_factory=dict)

    def headers(self, token: str | None = None) -> dict[str, str]:
        headers = {"x-publishable-api-key": self.publishable_key}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers


async def seed_store() -> SeededStore:
    """A region (EUR: de, fr, dk), a sales channel with a key, and two published products.

    Product 1 "Shirt" has variants S and M at 10.00 and 12.50 EUR (M: 11.00 from 10 items).
    Product 2 "Mug" has one variant at 5.00 EUR, with inventory management (stock 3).
    """
    region = await Region.create(name="Europe", currency_code="eur")
    for country in await ensure_countries(["de", "fr", "dk"]):
        country.region = region
        await country.save(update_fields=["region_id"])
    channel = await SalesChannel.create(name="Webshop")
    key = await PublishableApiKey.create(title="Storefront", token=new_token("pk"))
    await key.sales_channels.add(channel)

    shirt = await Product.create(title="Shirt", handle="shirt", status="published", description="A shirt")
    await shirt.sales_channels.add(channel)
    size = await ProductOption.create(product=shirt, title="Size")
    small = await ProductOptionValue.create(option=size, value="S")
    medium = await ProductOptionValue.create(option=size, value="M")
    shirt_s = await ProductVariant.create(product=shirt, title="S", sku="SHIRT-S", variant_rank=0)
    await shirt_s.options.add(small)
    shirt_m = await ProductVariant.create(product=shirt, title="M", sku="SHIRT-M", variant_rank=1)
    await shirt_m.options.add(medium)
    await Price.create(variant=shirt_s, currency_code="eur", amount=Decimal("10.00"))
    await Price.create(variant=shirt_m, currency_code="eur", amount=Decimal("12.50"))
    await Price.create(variant=shirt_m, currency_code="eur", amount=Decimal("11.00"), min_quantity=10)

    mug = await Product.create(title="Mug", handle="mug", status="published")
    await mug.sales_channels.add(channel)
    mug_v = await ProductVariant.create(
        product=mug, title="Default", sku="MUG", manage_inventory=True, inventory_quantity=3
    )
    await Price.create(variant=mug_v, currency_code="eur", amount=Decimal("5.00"))
    return SeededStore(
        region_id=region.id,
        sales_channel_id=channel.id,
        publishable_key=key.token,
        product_ids=[shirt.id, mug.id],
        variant_ids=[shirt_s.id, shirt_m.id, mug_v.id],
        prices={shirt_s.id: Decimal("10.00"), shirt_m.id: Decimal("12.50"), mug_v.id: Decimal("5.00")},
    )


@pytest.fixture
async def store(db: None) -> SeededStore:
    return await seed_store()
