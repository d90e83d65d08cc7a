"""The aiohttp application factory (no I/O at import; resources live in cleanup contexts)."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator

import pluggy
from aiohttp import web

from core.api.http_metrics import http_metrics_middleware
from core.api.middleware import PUBLISHABLE_KEYS, auth_middleware, cors_middleware, error_middleware
from core.api.openapi import OPENAPI_CACHE, OpenApiCache
from core.api.publishable_keys import PublishableKeyCache
from core.auth.ratelimit import AUTH_ATTEMPTS, SlidingWindowLimiter
from core.catalog.cache import CATALOG_CACHE, ResponseCache
from core.config import Settings
from core.dashboard import setup_dashboard
from core.db import close_database, init_database
from core.keys import ENGINE, PLUGINS, SETTINGS
from core.plugins import build_plugin_manager, call_all
from core.workflows.durable import Engine
from core.workflows.executors import serving_engine

__all__ = [
    "ROUTE_MODULES",
    "create_app",
]

# One module per resource, each exposing ``routes`` (a ``web.RouteTableDef``).
ROUTE_MODULES = (
    "core.api.health",
    "core.api.metrics",
    "core.api.openapi",
    "core.api.auth",
    "core.api.store.regions",
    "core.api.store.products",
    "core.api.store.carts",
    "core.api.store.line_items",
    "core.api.store.payments",
    "core.api.store.shipping_options",
    "core.api.store.customers",
    "core.api.store.orders",
    "core.api.admin.regions",
    "core.api.admin.products",
    "core.api.admin.api_keys",
    "core.api.admin.orders",
    "core.api.admin.customers",
    "core.api.admin.sales_channels",
)


async def _database(app: web.Application) -> AsyncIterator[None]:
    await init_database(app[SETTINGS].database)
    yield
    await close_database()


async def _plugins(app: web.Application) -> AsyncIterator[None]:
    pm = app[PLUGINS]
    await call_all(pm.hook.startup)
    yield
    await call_all(pm.hook.shutdown)


async def _workflows(app: web.Application) -> AsyncIterator[None]:
    # After the plugins' startup, before their shutdown: runs may use what the plugins opened.
    async with serving_engine(app[ENGINE]):
        yield


def create_app(
    settings: Settings,
    plugins: pluggy.PluginManager | None = None,
    *,
    manage_database: bool = True,
) -> web.Application:
    """Build the server application.

    :param plugins: a configured plugin manager; by default one with the installed plugins.
    :param manage_database: open and close the database with the app (tests open it themselves).
    """
    app = web.Application(
        middlewares=[http_metrics_middleware, error_middleware, cors_middleware, auth_middleware],
        client_max_size=settings.server.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[PLUGINS] = plugins if plugins is not None else build_plugin_manager(settings)
    app[PUBLISHABLE_KEYS] = PublishableKeyCache()
    app[CATALOG_CACHE] = ResponseCache(settings.server.catalog_cache_seconds)
    app[OPENAPI_CACHE] = OpenApiCache()
    app[AUTH_ATTEMPTS] = SlidingWindowLimiter(settings.auth.login_attempts_per_minute)
    app[ENGINE] = Engine(settings=settings, plugins=app[PLUGINS])
    if manage_database:
        app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_plugins)
    app.cleanup_ctx.append(_workflows)
    for module_name in ROUTE_MODULES:
        app.router.add_routes(importlib.import_module(module_name).routes)
    setup_dashboard(app)
    app[PLUGINS].hook.add_routes(app=app)
    return app
