"""ERP prices for cart lines and, with ``prices_in_listings``, for product listings.

Only variants with an ``external_id`` are the ERP's to price. Which lines it prices depends on why
they are priced (``[plugins.erp]`` keys in brackets):

- ``custom-line-item`` (``POST .../custom-line-items``): always, as a custom price
  (``is_custom_price``); a variant the ERP gives no price cannot be added this way (400);
- ``line-item`` (``POST .../line-items``, cart creation with items) [``prices_on_line_items``]:
  as a standard price; a variant the ERP does not price keeps its database price;
- ``quantity-update``: a custom-priced line always (as a custom price; with no ERP price it keeps
  its price), a standard line [``prices_on_quantity_update``].

Each hook call makes at most one ERP call whatever the number of items, at the quantity each line
will have after the change, for the customer's company; quotes come from the short-lived
:class:`~erpcommerce_erp.price_cache.PriceCache` first. An ERP that cannot be reached raises
:class:`~core.errors.ErpUnavailable` (503) before anything is written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import InvalidData
from core.hookspecs import hookimpl
from core.views import CartView, CustomerView, ItemToAdd, LinePrice, PricingPurpose, VariantPrice, VariantView
from erpcommerce_erp.contract import PriceQuote, PriceRequest
from erpcommerce_erp.customers import erp_customer
from erpcommerce_erp.settings import ErpPluginSettings

if TYPE_CHECKING:
    from erpcommerce_erp.plugin import ErpPlugin

__all__ = [
    "LISTING_QUANTITY",
    "ListingPrices",
    "erp_prices_item",
    "price_line_items",
    "price_request",
]

# Listings show the price of one unit.
LISTING_QUANTITY = 1


def erp_prices_item(settings: ErpPluginSettings, purpose: PricingPurpose, item: ItemToAdd) -> bool:
    """Whether the ERP prices ``item`` for ``purpose`` (its variant must also have an external id)."""
    if purpose == "custom-line-item" or item.is_custom_price:
        return True
    if purpose == "quantity-update":
        return settings.prices_on_quantity_update
    return settings.prices_on_line_items


def price_request(variant: VariantView, quantity: int) -> PriceRequest:
    """The ERP question for ``variant`` (which has an external id) at ``quantity``."""
    if variant.external_id is None:
        raise ValueError(f"variant {variant.id} has no external id: the ERP cannot price it")
    return PriceRequest(
        variant_external_id=variant.external_id,
        product_external_id=variant.product_external_id,
        quantity=quantity,
    )


def _line_price(item: ItemToAdd, quote: PriceQuote, currency_code: str, custom: bool) -> LinePrice:
    return LinePrice(
        variant_id=item.variant.id,
        unit_price=quote.unit_price,
        currency_code=currency_code,
        is_custom_price=custom,
        compare_at_unit_price=quote.compare_at_unit_price,
    )


def _no_custom_price(erp_name: str, items: list[ItemToAdd], currency_code: str) -> InvalidData:
    names = ", ".join(
        f"{item.variant.product_title} ({item.variant.title}, {erp_name} id {item.variant.external_id}) "
        f"at quantity {item.quantity}"
        for item in items
    )
    return InvalidData(
        f"{erp_name} gives no price in {currency_code.upper()} for {names}: "
        "it cannot be added as a custom line item"
    )


async def price_line_items(
    erp: ErpPlugin, cart: CartView, items: list[ItemToAdd], customer: CustomerView | None, purpose: PricingPurpose
) -> list[LinePrice] | None:
    """ERP prices for the items the ERP prices (see the module doc); None when it prices none.

    :raises InvalidData: for a custom line item whose variant the ERP gives no price.
    :raises core.errors.ErpUnavailable: when the ERP cannot be asked (503, nothing written).
    """
    gateway = erp.gateway
    if gateway is None:
        return None
    priced = [item for item in items if item.variant.external_id and erp_prices_item(erp.settings, purpose, item)]
    if not priced:
        return None
    quotes = await erp.price_cache.quotes(
        gateway,
        [price_request(item.variant, item.quantity) for item in priced],
        cart.currency_code,
        erp_customer(customer),
    )
    prices: list[LinePrice] = []
    unpriced: list[ItemToAdd] = []
    for item in priced:
        quote = quotes.get((str(item.variant.external_id), item.quantity))
        if quote is None:
            unpriced.append(item)
            continue
        custom = purpose == "custom-line-item" or item.is_custom_price
        prices.append(_line_price(item, quote, cart.currency_code, custom))
    if unpriced and purpose == "custom-line-item":
        raise _no_custom_price(gateway.name, unpriced, cart.currency_code)
    return prices


class ListingPrices:
    """``price_variants``: ERP unit prices at quantity 1 in listings (registered with ``prices_in_listings``).

    One ERP call per listing build at most (cached quotes are not asked again); the catalog caches
    listings per customer as soon as this is registered.
    """

    def __init__(self, erp: ErpPlugin) -> None:
        self.erp = erp

    @hookimpl
    async def price_variants(
        self, variants: list[VariantView], currency_code: str, region_id: str, customer: CustomerView | None
    ) -> list[VariantPrice] | None:
        """The ERP's price of each variant with an external id (the others keep the database price).

        :raises core.errors.ErpUnavailable: when the ERP cannot be asked (503).
        """
        gateway = self.erp.gateway
        known = [variant for variant in variants if variant.external_id]
        if gateway is None or not known:
            return None
        quotes = await self.erp.price_cache.quotes(
            gateway,
            [price_request(variant, LISTING_QUANTITY) for variant in known],
            currency_code,
            erp_customer(customer),
        )
        prices = []
        for variant in known:
            quote = quotes.get((str(variant.external_id), LISTING_QUANTITY))
            if quote is not None:
                prices.append(
                    VariantPrice(
                        variant_id=variant.id,
                        amount=quote.unit_price,
                        currency_code=currency_code,
                        original_amount=quote.compare_at_unit_price,
                    )
                )
        return prices
