"""The prices product listings show: ``variants[].calculated_price`` for a region.

:func:`calculated_prices` is the only place listings price variants. Today it reads the database
price at quantity 1 (:mod:`core.pricing`); when an ERP prices listings it is the one call to route
through the pricing hook (and the response cache key must then include whatever the price depends
on, such as the customer).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from core.errors import InvalidData
from core.models import Price, Region
from core.pricing import applicable_price, load_prices

__all__ = [
    "calculated_prices",
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


def _price_detail(price: Price) -> dict[str, Any]:
    return {
        "id": price.id,
        "price_list_id": None,
        "price_list_type": None,
        "min_quantity": price.min_quantity,
        "max_quantity": price.max_quantity,
    }


def _calculated_price(price: Price, currency_code: str) -> dict[str, Any]:
    amount = float(Decimal(price.amount))
    detail = _price_detail(price)
    return {
        "id": price.id,
        "calculated_amount": amount,
        "original_amount": amount,
        "currency_code": currency_code,
        "is_calculated_price_tax_inclusive": False,
        "is_calculated_price_price_list": False,
        "is_original_price_tax_inclusive": False,
        "is_original_price_price_list": False,
        "calculated_price": detail,
        "original_price": dict(detail),
    }


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
