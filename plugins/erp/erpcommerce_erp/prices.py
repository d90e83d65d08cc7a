"""ERP prices for cart lines and (optionally) listings. (To be written.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.hookspecs import hookimpl
from core.views import CartView, CustomerView, ItemToAdd, LinePrice, PricingPurpose, VariantPrice, VariantView

if TYPE_CHECKING:
    from erpcommerce_erp.plugin import ErpPlugin


async def price_line_items(
    erp: ErpPlugin, cart: CartView, items: list[ItemToAdd], customer: CustomerView | None, purpose: PricingPurpose
) -> list[LinePrice] | None:
    return None


class ListingPrices:
    def __init__(self, erp: ErpPlugin) -> None:
        self.erp = erp

    @hookimpl
    async def price_variants(
        self, variants: list[VariantView], currency_code: str, region_id: str, customer: CustomerView | None
    ) -> list[VariantPrice] | None:
        return None
