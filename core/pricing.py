"""Core's own pricing: the database price of each variant, as a ``trylast`` hook implementation.

For a variant, currency and quantity the applicable price is the one whose ``min_quantity`` (empty
meaning 1) is the largest not above the quantity and whose ``max_quantity`` (empty meaning no
limit) is not below it. Plugins pricing a variant (an ERP) run first and win.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from core.hookspecs import hookimpl
from core.models import Price
from core.views import CartView, ItemToAdd, LinePrice, PricingPurpose
from core.workflows.cart_statements import select_prices

__all__ = [
    "applicable_price",
    "load_prices",
    "price_line_items",
]


def applicable_price(prices: Iterable[Price], quantity: int) -> Price | None:
    """The price with the highest minimum quantity that applies at ``quantity``, or None."""
    best: Price | None = None
    for price in prices:
        minimum = price.min_quantity or 1
        if minimum > quantity or (price.max_quantity is not None and price.max_quantity < quantity):
            continue
        if best is None or minimum > (best.min_quantity or 1):
            best = price
    return best


async def load_prices(variant_ids: Iterable[str], currency_code: str) -> dict[str, list[Price]]:
    """All prices of these variants in one currency, grouped by variant id (one query)."""
    grouped: dict[str, list[Price]] = {}
    prices = await select_prices(Price, list(variant_ids), currency_code.lower())
    for price in prices:
        grouped.setdefault(price.variant_id, []).append(price)  # type: ignore[attr-defined]
    return grouped


@hookimpl(trylast=True)
async def price_line_items(cart: CartView, items: list[ItemToAdd], purpose: PricingPurpose) -> list[LinePrice]:
    """Database prices, for standard lines only (custom lines are a pricing plugin's)."""
    items = [item for item in items if not item.is_custom_price]
    if purpose == "custom-line-item" or not items:
        return []
    prices = await load_prices({item.variant.id for item in items}, cart.currency_code)
    result = []
    for item in items:
        price = applicable_price(prices.get(item.variant.id, ()), item.quantity)
        if price is not None:
            result.append(
                LinePrice(
                    variant_id=item.variant.id,
                    unit_price=Decimal(price.amount),
                    currency_code=cart.currency_code,
                )
            )
    return result
