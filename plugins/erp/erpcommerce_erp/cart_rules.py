"""The ERP's say on a cart: on add-to-cart and before completion.

- on add (and quantity updates): the purchase restriction (:mod:`~erpcommerce_erp.restrictions`)
  for the items' products, the ERP stock (:mod:`~erpcommerce_erp.stock`) for the items' variants,
  counting what the cart already holds of them;
- at completion: the same for every line, and the price re-check
  (:mod:`~erpcommerce_erp.price_check`).

Each enabled check is one ERP call, whatever the number of items; the calls of one hook run
concurrently, and their failures are raised in a fixed order (restriction, stock, prices) so the
answer does not depend on which call returned first.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Iterable
from typing import TYPE_CHECKING, Any

from core.inventory import cart_quantities
from core.models import ProductVariant
from core.views import CartView, CustomerView, ItemToAdd
from erpcommerce_erp.price_check import PricedLine, check_line_prices, rechecked
from erpcommerce_erp.restrictions import check_purchases
from erpcommerce_erp.stock import check_stock

if TYPE_CHECKING:
    from erpcommerce_erp.plugin import ErpPlugin

__all__ = [
    "erp_lines",
    "validate_add_to_cart",
    "validate_complete_cart",
]


async def validate_add_to_cart(
    erp: ErpPlugin, cart: CartView, items: list[ItemToAdd], customer: CustomerView | None
) -> None:
    """Refuse items the customer's company may not buy, or that the ERP's stock cannot cover.

    :raises core.errors.NotAllowed: naming the company and product, or ``insufficient_inventory``.
    :raises core.errors.ErpUnavailable: when the ERP cannot be asked (503, nothing written).
    """
    gateway = erp.gateway
    if gateway is None or not items:
        return
    checks: list[Awaitable[None]] = []
    if erp.settings.restrict_purchases:
        products = {
            item.variant.product_external_id: item.variant.product_title
            for item in items
            if item.variant.product_external_id
        }
        checks.append(check_purchases(gateway, products, customer))
    if erp.settings.check_inventory:
        checks.append(check_stock(gateway, _wanted_on_add(cart, items)))
    await _run_all(checks)


async def validate_complete_cart(erp: ErpPlugin, cart: CartView, customer: CustomerView | None) -> None:
    """Refuse a cart with a product the company may not buy, missing ERP stock or a changed ERP price.

    :raises core.errors.NotAllowed: as on add, or code ``price_changed``.
    :raises core.errors.ErpUnavailable: when the ERP cannot be asked (503, no order).
    """
    gateway = erp.gateway
    settings = erp.settings
    enabled = settings.restrict_purchases or settings.check_inventory or settings.recheck_prices_at_completion
    if gateway is None or not enabled or not cart.items:
        return
    lines = await erp_lines(cart)
    checks: list[Awaitable[None]] = []
    if settings.restrict_purchases:
        products = {line.product_external_id: line.product_title for line in lines if line.product_external_id}
        checks.append(check_purchases(gateway, products, customer))
    if settings.check_inventory:
        wanted: Counter[str] = Counter()
        for line in lines:
            wanted[line.variant_external_id] += line.item.quantity
        checks.append(check_stock(gateway, wanted))
    if settings.recheck_prices_at_completion:
        priced = [line for line in lines if rechecked(settings, line)]
        checks.append(check_line_prices(gateway, erp.price_cache, priced, cart.currency_code, customer))
    await _run_all(checks)


async def erp_lines(cart: CartView) -> list[PricedLine]:
    """The cart's lines whose variant the ERP knows, with its external ids and names (one query)."""
    variant_ids = list(dict.fromkeys(item.variant_id for item in cart.items if item.variant_id is not None))
    if not variant_ids:
        return []
    rows: list[dict[str, Any]] = await ProductVariant.filter(id__in=variant_ids).values(
        "id", "title", "external_id", "product__external_id", "product__title"
    )
    variants = {row["id"]: row for row in rows if row["external_id"]}
    lines = []
    for item in cart.items:
        row = variants.get(item.variant_id or "")
        if row is not None:
            lines.append(
                PricedLine(
                    item=item,
                    variant_external_id=row["external_id"],
                    product_external_id=row["product__external_id"],
                    product_title=row["product__title"],
                    variant_title=row["title"],
                )
            )
    return lines


def _wanted_on_add(cart: CartView, items: Iterable[ItemToAdd]) -> Counter[str]:
    """Per ERP variant: what the cart will hold of it once ``items`` are applied."""
    items = list(items)
    quantities = cart_quantities(cart, items)
    wanted: Counter[str] = Counter()
    seen: set[str] = set()
    for item in items:
        variant = item.variant
        if variant.external_id and variant.id not in seen:
            seen.add(variant.id)
            wanted[variant.external_id] += quantities[variant.id]
    return wanted


async def _run_all(checks: list[Awaitable[None]]) -> None:
    """Await the checks concurrently; raise the first failure in list order."""
    if len(checks) == 1:
        await checks[0]
        return
    for result in await asyncio.gather(*checks, return_exceptions=True):
        if isinstance(result, BaseException):
            raise result
