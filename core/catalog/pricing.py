"""The prices product listings show: ``variants[].calculated_price`` for a region.

:func:`calculated_prices` reads the database price at quantity 1 (:mod:`core.pricing`). When a
plugin implements ``price_variants`` (an ERP pricing per customer), :func:`plugin_pricing` says so
for a request and :func:`plugin_calculated_prices` lets the plugins' prices win over the database's
(the response cache key must then include the customer: see :mod:`core.api.store.products`).
Without such a plugin listings take the database path alone, exactly as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pluggy

from core.errors import InvalidData
from core.models import Price, Region
from core.plugins import call_all
from core.pricing import applicable_price, load_prices
from core.views import VariantPrice, VariantView
from core.workflows.cart_data import customer_view, load_customer

__all__ = [
    "PluginPricing",
    "calculated_prices",
    "plugin_calculated_prices",
    "plugin_pricing",
    "pricing_currency",
]

LISTING_QUANTITY = 1


async def pricing_currency(region_id: str) -> str:
    """The currency prices are shown in for ``region_id``.

    :raises InvalidData: for an unknown or deleted region (Medusa's message).
    """
    currency = (
        await Region.filter(id=region_id, deleted_at=None).first().values_list("currency_code", flat=True)
    )
    if currency is None:
        raise InvalidData(f"Region with id {region_id} not found when populating the pricing context")
    return str(currency)


def _price_detail(price_id: str, min_quantity: int | None = None, max_quantity: int | None = None) -> dict[str, Any]:
    return {
        "id": price_id,
        "price_list_id": None,
        "price_list_type": None,
        "min_quantity": min_quantity,
        "max_quantity": max_quantity,
    }


def _price_shape(
    price_id: str,
    amount: float,
    original: float,
    currency_code: str,
    detail: dict[str, Any],
    original_detail: dict[str, Any],
) -> dict[str, Any]:
    """Medusa's ``calculated_price`` object (no price lists, no taxes)."""
    return {
        "id": price_id,
        "calculated_amount": amount,
        "original_amount": original,
        "currency_code": currency_code,
        "is_calculated_price_tax_inclusive": False,
        "is_calculated_price_price_list": False,
        "is_original_price_tax_inclusive": False,
        "is_original_price_price_list": False,
        "calculated_price": detail,
        "original_price": original_detail,
    }


def _calculated_price(price: Price, currency_code: str) -> dict[str, Any]:
    amount = float(Decimal(price.amount))
    detail = _price_detail(price.id, price.min_quantity, price.max_quantity)
    return _price_shape(price.id, amount, amount, currency_code, detail, dict(detail))


async def calculated_prices(
    variant_ids: Sequence[str], currency_code: str
) -> dict[str, dict[str, Any] | None]:
    """Each variant's ``calculated_price`` at quantity 1 in ``currency_code`` (None: no price). One query."""
    if not variant_ids:
        return {}
    prices = await load_prices(variant_ids, currency_code)
    result: dict[str, dict[str, Any] | None] = {}
    for variant_id in variant_ids:
        price = applicable_price(prices.get(variant_id, ()), LISTING_QUANTITY)
        result[variant_id] = _calculated_price(price, currency_code) if price is not None else None
    return result


# -------------------------------------------------------------------------------------------------
# Plugin prices (price_variants)
# -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PluginPricing:
    """The ``price_variants`` hook and the customer a listing is for (None: a guest)."""

    hook: pluggy.HookCaller
    customer_id: str | None


def plugin_pricing(plugins: pluggy.PluginManager, customer_id: str | None) -> PluginPricing | None:
    """The plugins' listing prices for ``customer_id``, or None when no plugin implements ``price_variants``."""
    hook = plugins.hook.price_variants
    if not hook.get_hookimpls():
        return None
    return PluginPricing(hook, customer_id)


def _plugin_calculated_price(
    price: VariantPrice, database: dict[str, Any] | None, currency_code: str
) -> dict[str, Any]:
    """A plugin's price as ``calculated_price``; ``original_amount`` is the plugin's, else the database's."""
    amount = float(price.amount)
    if price.original_amount is not None:
        original = float(price.original_amount)
    else:
        original = database["original_amount"] if database is not None else amount
    detail = _price_detail(price.variant_id)
    return _price_shape(
        database["id"] if database is not None else price.variant_id,
        amount,
        original,
        currency_code,
        detail,
        dict(database["original_price"]) if database is not None else dict(detail),
    )


async def plugin_calculated_prices(
    variants: Sequence[VariantView], currency_code: str, region_id: str, pricing: PluginPricing
) -> dict[str, dict[str, Any] | None]:
    """Like :func:`calculated_prices`, the plugins' prices winning (the first given per variant).

    One ``price_variants`` call per implementation for the whole page.

    :raises core.errors.ErpUnavailable: when a plugin cannot price now (503).
    """
    result = await calculated_prices([variant.id for variant in variants], currency_code)
    if not variants:
        return result
    answers = await call_all(
        pricing.hook,
        variants=list(variants),
        currency_code=currency_code,
        region_id=region_id,
        customer=customer_view(await load_customer(pricing.customer_id)),
    )
    chosen: dict[str, VariantPrice] = {}
    for answer in answers:
        for price in answer:
            if price.currency_code.lower() == currency_code.lower() and price.variant_id in result:
                chosen.setdefault(price.variant_id, price)
    for variant_id, price in chosen.items():
        result[variant_id] = _plugin_calculated_price(price, result[variant_id], currency_code)
    return result
