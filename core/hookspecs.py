"""Hook specifications: the only way plugins change erpcommerce's behaviour.

Implementations may be ``async def``; core awaits them one after the other, in pluggy's call order
(newest registered first, ``tryfirst``/``trylast`` honoured), through :mod:`core.plugins`. Every
argument is keyword-only and a pydantic view from :mod:`core.views`, never an ORM object.
Arguments are only ever added, never renamed; an implementation may accept fewer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import argparse

    from aiohttp import web

    from core.config import Settings
    from core.jobs import JobSpec
    from core.syncs import SyncSpec
    from core.views import CartView, CustomerView, ItemToAdd, LinePrice, PricingPurpose, VariantPrice, VariantView

__all__ = [
    "PROJECT_NAME",
    "hookimpl",
    "hookspec",
]

PROJECT_NAME = "erpcommerce"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# -------------------------------------------------------------------------------------------------
# Life cycle
# -------------------------------------------------------------------------------------------------


@hookspec
def add_hookspecs(plugin_manager: pluggy.PluginManager) -> None:
    """Add a plugin's own hook specifications, for plugins that other plugins extend.

    Called once, after every plugin is registered and before :func:`configure` (pytest's
    ``pytest_addhooks`` pattern): ``plugin_manager.add_hookspecs(my_hookspecs_module)``.
    ``plugins/erp`` declares ``erp_client()`` this way; an ERP plugin implements it.
    """


@hookspec
def configure(settings: Settings, plugin_manager: pluggy.PluginManager) -> None:
    """Receive the configuration once, right after the plugins are loaded.

    Called in every process (server, worker, CLI) before any other hook. A plugin reads its own
    section, ``settings.plugins["<name>"]``, and validates it.

    :param settings: the whole validated configuration.
    :param plugin_manager: the plugin manager, to call hooks other plugins declared.
    :raises core.errors.ConfigError: when the plugin's section is invalid; start-up stops.
    """


@hookspec
def startup() -> Any:
    """Open the plugin's resources (HTTP sessions, pools); awaited when a process starts.

    Every implementation runs. Paired with :func:`shutdown`.
    """


@hookspec
def shutdown() -> Any:
    """Close what :func:`startup` opened; awaited when a process stops. Every implementation runs."""


@hookspec
def add_routes(app: web.Application) -> None:
    """Add extra routes (webhooks, plugin APIs) to the server's application.

    Called once while the app is built, before it starts. Every implementation runs.

    :param app: the aiohttp application; add routes with ``app.router``.
    """


@hookspec
def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser], options: argparse.ArgumentParser) -> None:
    """Add ``erpcommerce`` sub-commands (``erpcommerce demo`` comes from ``plugins/odoo_example``).

    Called while the command line is parsed, on the plugins found through entry points, before
    any configuration is read (no :func:`configure` yet). A command is
    ``commands.add_parser(name, parents=[options], help=...)`` (``options`` gives it ``--config``
    and ``--log-level``) with ``set_defaults(handler=fn)``, ``fn(args) -> int`` its exit code; it
    loads the configuration with :func:`core.cli.load_command_settings`.
    """


@hookspec
def register_jobs() -> list[JobSpec] | None:
    """Declare scheduled jobs.

    Every implementation runs; the job lists are concatenated. ``config.toml`` may override each
    job's schedule or disable it under ``[jobs.<name>]``.

    :return: job specs (name, cron expression, coroutine function), or None.
    """


@hookspec
def register_syncs() -> list[SyncSpec] | None:
    """Declare synchronisations from another system (``erpcommerce sync <name>``).

    Every implementation runs; names must be unique. A sync is a durable workflow that records its
    progress and counts through :mod:`core.syncs`; the CLI starts it and shows its progress.
    """


# -------------------------------------------------------------------------------------------------
# Carts
# -------------------------------------------------------------------------------------------------


@hookspec
def validate_add_to_cart(cart: CartView, items: list[ItemToAdd], customer: CustomerView | None) -> None:
    """Check that items may be added to (or have their quantity changed in) a cart.

    Runs inside the add-to-cart and update-line-item workflows, before anything is written.
    **Every** implementation runs, in order; the first to raise aborts the workflow (and runs the
    compensations registered so far).

    :param cart: the cart as it is before the change.
    :param items: the items with the quantity each line will have after the change.
    :param customer: the logged-in customer, or None for a guest.
    :raises core.errors.NotAllowed: to refuse, with a message naming what is refused
        (``code="insufficient_inventory"`` for stock).
    :raises core.errors.ErpUnavailable: when the decision needs a system that is down (503).
    """


@hookspec
def price_line_items(
    cart: CartView, items: list[ItemToAdd], customer: CustomerView | None, purpose: PricingPurpose
) -> list[LinePrice] | None:
    """Price items about to be written to a cart.

    Every implementation runs, in order; for each variant the first price given wins. Core's own
    database price lookup is a ``trylast`` implementation, so a plugin (an ERP) overrides it for
    the variants it prices and leaves the rest to it.

    :param purpose: why the items are priced: ``"line-item"`` (``POST .../line-items``, or cart
        creation with items), ``"custom-line-item"`` (``POST .../custom-line-items``: only a price
        with ``is_custom_price=True`` is accepted) or ``"quantity-update"``
        (``POST .../line-items/{id}``; a custom-priced line keeps its price unless an
        implementation gives it a new custom price).
    :return: prices for some of the variants, or None to leave them all to later implementations.
    :raises core.errors.ErpUnavailable: when prices cannot be had now (503, nothing written).
    """


@hookspec
def price_variants(
    variants: list[VariantView], currency_code: str, region_id: str, customer: CustomerView | None
) -> list[VariantPrice] | None:
    """Price variants for a product listing (``variants[].calculated_price``).

    Only implementations that price listings differently from the database (an ERP pricing per
    customer) implement it; for each variant the first price given wins, the rest keep the
    database price. When any plugin implements it, listings are cached per customer.

    :return: prices for some of the variants, or None.
    :raises core.errors.ErpUnavailable: when prices cannot be had now (503).
    """


@hookspec
def validate_complete_cart(cart: CartView, customer: CustomerView | None) -> None:
    """Check a cart before it becomes an order.

    Runs inside the complete-cart workflow before the order is created. **Every** implementation
    runs, in order; the first to raise aborts the completion and nothing is written.

    :raises core.errors.NotAllowed: to refuse (400).
    :raises core.errors.ErpUnavailable: when the check needs a system that is down (503).
    """


# -------------------------------------------------------------------------------------------------
# Events
# -------------------------------------------------------------------------------------------------


@hookspec
def handle_event(name: str, payload: dict[str, Any], event_id: str) -> Any:
    """React to an event such as ``order.placed`` (payload ``{"id": order_id}``).

    Delivery is at least once, each subscriber on its own durable run (:mod:`core.events`);
    implementations must be idempotent (use ``event_id`` or the order id as an idempotency key).
    Every implementation runs. A :class:`~core.errors.RetryableError` is retried with backoff;
    any other error fails this subscriber's delivery run (visible with ``erpcommerce runs``).

    :param name: the event name.
    :param payload: the event payload, JSON-serialisable.
    :param event_id: the outbox event's id, the same on every delivery of this event.
    """
