"""``erpcommerce reconcile``: compare the store with the ERP and report every difference.

Two parts, each optional: the catalogue (:mod:`erpcommerce_erp.reconcile_catalogue`: products,
variants, options, prices per currency, stock, archive state) and the orders
(:mod:`erpcommerce_erp.reconcile_orders`). Both read the ERP through the plugin's
:class:`~erpcommerce_erp.gateway.ErpGateway` (same timeouts and answer checks as the sync) a page
or a batch at a time. A call the ERP fails transiently is tried again up to :data:`RETRIES` times
(at most ``[plugins.erp] sync_max_retries``), after ``sync_backoff_seconds``, doubling, at most
:data:`MAX_BACKOFF` s; then the error propagates (the command exits 2). A part the ERP client
cannot answer (an optional contract call left ``NotImplementedError``) is recorded in
``report.unchecked`` and the other part goes on. Nothing is written.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from core.errors import ErpUnavailable
from erpcommerce_erp.contract import Page
from erpcommerce_erp.gateway import ErpGateway
from erpcommerce_erp.reconcile_catalogue import CatalogueCheck
from erpcommerce_erp.reconcile_orders import OrderCheck
from erpcommerce_erp.reconcile_report import ReconcileReport
from erpcommerce_erp.settings import ErpPluginSettings

__all__ = [
    "MAX_BACKOFF",
    "PARTS",
    "RETRIES",
    "reconcile",
    "retried",
]

log = logging.getLogger("erpcommerce.erp.reconcile")

PARTS = ("products", "stock", "orders")
RETRIES = 2
MAX_BACKOFF = 10.0
T = TypeVar("T")
Fetch = Callable[[str | None, str | None, int], Awaitable[Page[Any]]]


async def retried(operation: Callable[[], Awaitable[T]], settings: ErpPluginSettings) -> T:
    """``operation()``, tried again while the ERP is unavailable (see the module doc)."""
    retries = min(RETRIES, settings.sync_max_retries)
    for attempt in range(retries + 1):
        try:
            return await operation()
        except ErpUnavailable as exc:
            if attempt == retries:
                raise
            log.warning("reconcile: erp call failed, trying again", extra={"error": str(exc)})
            await asyncio.sleep(min(settings.sync_backoff_seconds * 2**attempt, MAX_BACKOFF))
    raise AssertionError("unreachable")


async def _stream(fetch: Fetch, settings: ErpPluginSettings, apply: Callable[[Sequence[Any]], Awaitable[None]]) -> None:
    """Every page of a stream from the start (cursor None), each handed to ``apply`` in turn."""
    token: str | None = None
    limit = settings.sync_page_size
    while True:
        page = await retried(lambda: fetch(None, token, limit), settings)
        await apply(page.items)
        if page.next_page is None:
            return
        token = page.next_page


async def _catalogue(gateway: ErpGateway, settings: ErpPluginSettings, report: ReconcileReport, *,
                     stock: bool) -> None:
    check = CatalogueCheck(report)
    await _stream(gateway.list_price_changes, settings, check.check_price_page)
    await _stream(gateway.list_products, settings, check.check_product_page)
    if stock:
        await _stream(gateway.list_stock_changes, settings, check.check_stock_page)
    await check.check_store_leftovers()


async def _orders(gateway: ErpGateway, settings: ErpPluginSettings, report: ReconcileReport) -> None:
    check = OrderCheck(gateway, settings, report)
    try:
        await check.run(lambda references: retried(lambda: gateway.list_orders_by_reference(references), settings))
    except NotImplementedError as exc:
        report.unchecked["orders"] = f"{exc or 'not supported by the ERP client'}: orders were not compared"


async def reconcile(
    gateway: ErpGateway,
    settings: ErpPluginSettings,
    *,
    parts: Sequence[str] = PARTS,
    limit: int = 50,
) -> ReconcileReport:
    """Compare the ``parts`` asked for (``products``, ``stock``: with the catalogue; ``orders``).

    :param limit: keep the first ``limit`` differences in the report (0: all); all are counted.
    :raises core.errors.ErpUnavailable: when the ERP stays unreachable.
    :raises core.errors.ConfigError: when the ERP refuses the store's credentials.
    """
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown reconcile parts: {sorted(unknown)}")
    report = ReconcileReport(limit=limit, parts=[part for part in PARTS if part in parts])
    started = time.perf_counter()
    if "products" in parts:
        await _catalogue(gateway, settings, report, stock="stock" in parts)
    if "orders" in parts:
        await _orders(gateway, settings, report)
    report.seconds = time.perf_counter() - started
    return report
