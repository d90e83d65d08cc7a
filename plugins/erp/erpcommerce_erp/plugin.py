"""The ``erp`` plugin: core's hooks implemented on the ERP client an ERP plugin supplies.

Registered through the ``erpcommerce.plugins`` entry point as ``erp``. The ERP client comes from
the ``erp_client()`` hook (:mod:`erpcommerce_erp.hookspecs`), asked once per process; with no
client (no ERP plugin installed) every hook here does nothing.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

import pluggy

from core.config import Settings
from core.hookspecs import hookimpl
from core.views import CartView, CustomerView, ItemToAdd, LinePrice, PricingPurpose
from erpcommerce_erp import cart_rules, hookspecs, order_export, prices, product_sync, webhook
from erpcommerce_erp.gateway import ErpGateway
from erpcommerce_erp.price_cache import PriceCache
from erpcommerce_erp.reconcile_command import add_reconcile_command
from erpcommerce_erp.settings import ErpPluginSettings, load_plugin_settings

if TYPE_CHECKING:
    from aiohttp import web

    from core.jobs import JobSpec
    from core.syncs import SyncSpec

__all__ = [
    "PLUGIN_NAME",
    "ErpPlugin",
    "erp_plugin",
    "plugin",
]

PLUGIN_NAME = "erp"


class ErpPlugin:
    """The plugin's state in one process: settings, the plugin manager, the gateway to the client."""

    def __init__(self) -> None:
        self.core_settings: Settings | None = None
        self.settings = ErpPluginSettings()
        self.plugin_manager: pluggy.PluginManager | None = None
        self._gateway: ErpGateway | None = None
        self._client_asked = False
        # ERP price quotes, for ``[erp] price_cache_seconds`` (erpcommerce_erp.price_cache).
        self.price_cache = PriceCache()

    # -- state ---------------------------------------------------------------------------------

    @property
    def gateway(self) -> ErpGateway | None:
        """The gateway to this process's ERP client; None when no plugin supplies a client."""
        if not self._client_asked and self.plugin_manager is not None:
            self._client_asked = True
            client = self.plugin_manager.hook.erp_client()
            if client is not None:
                self._gateway = ErpGateway(client, self.settings)
        return self._gateway

    # -- life cycle ----------------------------------------------------------------------------

    @hookimpl
    def add_hookspecs(self, plugin_manager: pluggy.PluginManager) -> None:
        plugin_manager.add_hookspecs(hookspecs)

    @hookimpl
    def configure(self, settings: Settings, plugin_manager: pluggy.PluginManager) -> None:
        self.core_settings = settings
        self.settings = load_plugin_settings(settings)
        self.plugin_manager = plugin_manager
        self._gateway = None
        self._client_asked = False
        self.price_cache = PriceCache(settings.erp.price_cache_seconds)
        if self.settings.prices_in_listings:
            # Only then does a price_variants implementation exist (listings become per customer).
            plugin_manager.register(prices.ListingPrices(self), name=f"{PLUGIN_NAME}.listing-prices")

    @hookimpl
    async def startup(self) -> None:
        if self.gateway is not None:
            await self.gateway.client.start()

    @hookimpl
    async def shutdown(self) -> None:
        if self._gateway is not None:
            await self._gateway.client.close()

    @hookimpl
    def add_commands(self, commands: Any, options: argparse.ArgumentParser) -> None:
        """``erpcommerce reconcile``."""
        add_reconcile_command(commands, options)

    @hookimpl
    def add_routes(self, app: web.Application) -> None:
        webhook.add_routes(self, app)

    @hookimpl
    def register_jobs(self) -> list[JobSpec]:
        return product_sync.jobs(self)

    @hookimpl
    def register_syncs(self) -> list[SyncSpec]:
        return product_sync.syncs(self)

    # -- the cart ------------------------------------------------------------------------------

    @hookimpl
    async def validate_add_to_cart(
        self, cart: CartView, items: list[ItemToAdd], customer: CustomerView | None
    ) -> None:
        await cart_rules.validate_add_to_cart(self, cart, items, customer)

    @hookimpl
    async def price_line_items(
        self, cart: CartView, items: list[ItemToAdd], customer: CustomerView | None, purpose: PricingPurpose
    ) -> list[LinePrice] | None:
        return await prices.price_line_items(self, cart, items, customer, purpose)

    @hookimpl
    async def validate_complete_cart(self, cart: CartView, customer: CustomerView | None) -> None:
        await cart_rules.validate_complete_cart(self, cart, customer)

    # -- orders --------------------------------------------------------------------------------

    @hookimpl
    async def handle_event(self, name: str, payload: dict[str, Any], event_id: str) -> None:
        await order_export.handle_event(self, name, payload, event_id)


def erp_plugin(plugin_manager: pluggy.PluginManager | None) -> ErpPlugin:
    """The ``erp`` plugin registered in ``plugin_manager`` (for durable steps: ``ctx.run.plugins``).

    :raises RuntimeError: when it is not registered.
    """
    found = None if plugin_manager is None else plugin_manager.get_plugin(PLUGIN_NAME)
    if not isinstance(found, ErpPlugin):
        raise RuntimeError(f"the {PLUGIN_NAME!r} plugin is not registered")
    return found


# The instance the entry point registers.
plugin = ErpPlugin()
