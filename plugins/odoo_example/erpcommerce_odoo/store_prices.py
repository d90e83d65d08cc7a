"""The store's own prices of Odoo variants: what a guest pays, with its quantity breaks.

The store shows the price of the public pricelist (``public_pricelist_id``, else the first
active pricelist): its rules evaluated now at every quantity where a rule starts, in that
pricelist's currency; a variant no rule prices gets its list price. With no pricelist at all,
the list price in the company currency. Customers of a company get their own pricelist's price
live in the cart (``get_prices``); these are the listing and fallback prices.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from erpcommerce_erp.contract import ErpPrice
from erpcommerce_odoo.mapping import erp_prices
from erpcommerce_odoo.pricelists import PricelistBook, PricelistError, Tier
from erpcommerce_odoo.records import VariantRecord
from erpcommerce_odoo.reference import OdooReference

__all__ = [
    "store_prices",
]

log = logging.getLogger("erpcommerce.odoo")


async def store_prices(
    reference: OdooReference, variants: Iterable[VariantRecord], *, fresh: bool = False
) -> dict[int, list[ErpPrice]]:
    """Each variant's store prices by variant id (a variant whose pricelist cannot be evaluated is
    left out, logged: the store keeps its prices).

    :param fresh: read the pricelist rules again rather than from the cache.
    """
    variants = list(variants)
    if not variants:
        return {}
    pricelist_id = await reference.public_pricelist_id()
    facts = await reference.facts(variants)
    now = datetime.now(UTC).replace(tzinfo=None)
    if pricelist_id is None:
        currency = await reference.company_currency()
        return {v.id: erp_prices([Tier(1, None, v.lst_price)], currency) for v in variants}
    book: PricelistBook = await reference.book_for(pricelist_id, fresh=fresh)
    currency = book.pricelists[pricelist_id].currency_code
    made: dict[Tier, ErpPrice] = {}  # ErpPrice is frozen: variants with equal tiers share them
    prices: dict[int, list[ErpPrice]] = {}
    for variant in variants:
        try:
            tiers = book.tiers(pricelist_id, facts[variant.id], now)
        except PricelistError as exc:
            log.warning("odoo price not evaluated", extra={"variant": variant.id, "error": str(exc)})
            continue
        prices[variant.id] = [made.get(tier) or _made(made, tier, currency) for tier in tiers]
    return prices


def _made(made: dict[Tier, ErpPrice], tier: Tier, currency: str) -> ErpPrice:
    """The store price of ``tier`` (validated once per distinct tier of a page)."""
    made[tier] = erp_prices([tier], currency)[0]
    return made[tier]
