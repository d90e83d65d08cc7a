"""The price re-check at completion (``recheck_prices_at_completion``).

A cart may wait for days between adding an item and checking out; meanwhile the ERP's price may
change. Before the order is created the ERP is asked again, bypassing the price cache, for every
ERP-priced line at its quantity (one call); a line whose price differs refuses the completion
(400 ``not_allowed``, code ``price_changed``). The fresh answers replace the cached quotes, so
the storefront's next quantity update of the line re-prices it at the new price.

ERP-priced lines: custom-priced lines, and standard lines when the ERP prices them both on add
and on quantity updates (``prices_on_line_items`` and ``prices_on_quantity_update``; otherwise a
standard line may rightly carry the database's price). A custom-priced line the ERP no longer
prices refuses the completion too; a standard one keeps its price.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from core.errors import NotAllowed
from core.views import CartItemView, CustomerView
from erpcommerce_erp.contract import PriceRequest
from erpcommerce_erp.customers import erp_customer
from erpcommerce_erp.gateway import ErpGateway
from erpcommerce_erp.price_cache import PriceCache
from erpcommerce_erp.settings import ErpPluginSettings

__all__ = [
    "PRICE_CHANGED",
    "PricedLine",
    "check_line_prices",
    "rechecked",
]

PRICE_CHANGED = "price_changed"
# Amounts are stored with four decimals: an ERP price is compared at that precision.
_PRECISION = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class PricedLine:
    """A cart line whose variant the ERP knows, with the names a message needs."""

    item: CartItemView
    variant_external_id: str
    product_external_id: str | None
    product_title: str
    variant_title: str

    @property
    def name(self) -> str:
        return f"{self.product_title} ({self.variant_title})"


def rechecked(settings: ErpPluginSettings, line: PricedLine) -> bool:
    """Whether the ERP priced ``line``, so its price is checked again at completion."""
    return line.item.is_custom_price or (settings.prices_on_line_items and settings.prices_on_quantity_update)


async def check_line_prices(
    gateway: ErpGateway,
    cache: PriceCache,
    lines: Sequence[PricedLine],
    currency_code: str,
    customer: CustomerView | None,
) -> None:
    """Refuse when the ERP's current unit price of a line differs from the line's.

    :raises NotAllowed: code ``price_changed``, naming each line, its old and new unit price.
    :raises core.errors.ErpUnavailable: when the ERP cannot be asked (503).
    """
    if not lines:
        return
    requests = [
        PriceRequest(
            variant_external_id=line.variant_external_id,
            product_external_id=line.product_external_id,
            quantity=line.item.quantity,
        )
        for line in lines
    ]
    quotes = await cache.quotes(gateway, requests, currency_code, erp_customer(customer), fresh=True)
    problems = []
    currency = currency_code.upper()
    for line in lines:
        quote = quotes.get((line.variant_external_id, line.item.quantity))
        old = line.item.unit_price
        if quote is None:
            if line.item.is_custom_price:
                problems.append(f"{gateway.name} no longer gives a price for {line.name}")
        elif quote.unit_price.quantize(_PRECISION) != old.quantize(_PRECISION):
            problems.append(
                f"The price of {line.name} changed from {_amount(old)} to {_amount(quote.unit_price)} {currency}"
            )
    if problems:
        raise NotAllowed(
            f"{'; '.join(problems)}. Update the line item (a quantity update re-prices it) or remove it, "
            "then complete the cart again",
            code=PRICE_CHANGED,
        )


def _amount(value: Decimal) -> str:
    """``11.50``, ``9.995``: at least two decimals, more only when the amount has them."""
    value = value.normalize()
    exponent = value.as_tuple().exponent
    return f"{value:.2f}" if isinstance(exponent, int) and exponent >= -2 else f"{value:f}"
