"""Odoo pricelist rules evaluated client-side (``_get_product_price`` is private: not callable over RPC).

The evaluation follows Odoo 17/18's ``product.pricelist.item``:

- rules are tried in the model's order ``applied_on, min_quantity desc, categ_id desc, id desc``
  (``3_global`` last; the more specific category first); the first rule that applies wins: its
  category (or an ancestor of the product's), template, variant, ``min_quantity <= quantity``,
  ``date_start <= now <= date_end``;
- no rule: the list price (``lst_price``: the template's ``list_price`` plus the variant's extras);
- ``fixed``: ``fixed_price``; ``percentage``: the base less ``percent_price`` %; ``formula``: the
  base less ``price_discount`` %, rounded to a multiple of ``price_round``, plus
  ``price_surcharge``, kept within ``[base + price_min_margin, base + price_max_margin]``;
- the base is the list price, the cost (``standard_price``) or another pricelist's price at the
  same quantity (recursively; a cycle is an error).

Amounts are Decimals; the final unit price is rounded half-up to cents, as a sale order line
stores it. Prices are not converted between currencies: a rule whose base is in another currency
than its pricelist raises :class:`PricelistError`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from erpcommerce_odoo.records import PricelistItem, parse_datetime

__all__ = [
    "CENT",
    "Pricelist",
    "PricelistBook",
    "PricelistError",
    "ProductFacts",
    "Tier",
    "rule_order",
]

CENT = Decimal("0.01")
APPLIED_ON_RANK = {"0_product_variant": 0, "1_product": 1, "2_product_category": 2, "3_global": 3}


class PricelistError(Exception):
    """A pricelist cannot be evaluated (a cycle, an unknown pricelist, a currency conversion)."""


@dataclass(frozen=True)
class ProductFacts:
    """What pricelist rules look at in a variant.

    :ivar category_ids: the variant's category and its ancestors.
    :ivar list_price: ``lst_price`` in the company currency; ``standard_price`` likewise.
    """

    variant_id: int
    template_id: int
    category_ids: frozenset[int]
    list_price: Decimal
    standard_price: Decimal = Decimal(0)


@dataclass(frozen=True)
class Pricelist:
    """A pricelist and its rules, already in rule order (see :func:`rule_order`)."""

    id: int
    name: str
    currency_code: str
    items: tuple[PricelistItem, ...] = ()


@dataclass(frozen=True)
class Tier:
    """A unit price from ``min_quantity`` up to ``max_quantity`` (None: no bound)."""

    min_quantity: int
    max_quantity: int | None
    amount: Decimal


def rule_order(items: Iterable[PricelistItem], category_names: Mapping[int, str]) -> tuple[PricelistItem, ...]:
    """``items`` in Odoo's order ``applied_on, min_quantity desc, categ_id desc, id desc``.

    ``categ_id desc`` sorts by the category's full name (``All / Saleable / Office`` before
    ``All / Saleable``), rules without a category first (PostgreSQL puts NULLs first when descending).
    """

    def key(item: PricelistItem) -> tuple[int, Decimal, int, str, int]:
        name = category_names.get(item.categ_id, "") if item.categ_id is not None else ""
        return (APPLIED_ON_RANK.get(item.applied_on, 4), -item.min_quantity, 0 if item.categ_id is None else 1,
                _descending(name), -item.id)

    return tuple(sorted(items, key=key))


def _descending(text: str) -> str:
    # A string key that sorts in reverse: complement each code point (the terminator sorts last).
    return "".join(chr(0x10FFFF - ord(ch)) for ch in text) + "\U0010ffff"


@dataclass
class PricelistBook:
    """Loaded pricelists by id, the company currency, and the evaluation over them.

    :ivar company_currency: the currency of ``list_price`` and ``standard_price`` (lower case).
    """

    company_currency: str
    pricelists: dict[int, Pricelist] = field(default_factory=dict)

    # -- prices ----------------------------------------------------------------------------------

    def price(self, pricelist_id: int, product: ProductFacts, quantity: int, at: datetime) -> Decimal:
        """The unit price of ``product`` at ``quantity`` on ``pricelist_id`` at UTC time ``at``, in cents."""
        return self._price(pricelist_id, product, quantity, at, ()).quantize(CENT, ROUND_HALF_UP)

    def tiers(self, pricelist_id: int, product: ProductFacts, at: datetime) -> list[Tier]:
        """The price of ``product`` at every quantity, as quantity breaks (equal neighbours merged)."""
        starts = sorted(self._thresholds(pricelist_id, product, at, ()))
        tiers: list[Tier] = []
        for index, start in enumerate(starts):
            amount = self.price(pricelist_id, product, start, at)
            end = starts[index + 1] - 1 if index + 1 < len(starts) else None
            if tiers and tiers[-1].amount == amount:
                tiers[-1] = Tier(tiers[-1].min_quantity, end, amount)
            else:
                tiers.append(Tier(start, end, amount))
        return tiers

    def rule(self, pricelist_id: int, product: ProductFacts, quantity: int, at: datetime) -> PricelistItem | None:
        """The rule that sets the price (None: the list price)."""
        for item in self._get(pricelist_id).items:
            if _applies(item, product, at) and not (item.min_quantity and quantity < item.min_quantity):
                return item
        return None

    # -- evaluation --------------------------------------------------------------------------------

    def _get(self, pricelist_id: int) -> Pricelist:
        try:
            return self.pricelists[pricelist_id]
        except KeyError:
            raise PricelistError(f"pricelist {pricelist_id} is not loaded") from None

    def _price(self, pricelist_id: int, product: ProductFacts, quantity: int, at: datetime,
               seen: tuple[int, ...]) -> Decimal:
        if pricelist_id in seen:
            raise PricelistError(f"pricelists {' -> '.join(map(str, (*seen, pricelist_id)))} form a cycle")
        pricelist = self._get(pricelist_id)
        seen = (*seen, pricelist_id)
        item = self.rule(pricelist_id, product, quantity, at)
        if item is None:
            return self._own_price(pricelist, product.list_price, "list price")
        if item.compute_price == "fixed":
            return item.fixed_price
        base = self._base_price(item, pricelist, product, quantity, at, seen)
        if item.compute_price == "percentage":
            return base - base * item.percent_price / 100
        if item.compute_price == "formula":
            return _formula(item, base)
        return base

    def _base_price(self, item: PricelistItem, pricelist: Pricelist, product: ProductFacts, quantity: int,
                    at: datetime, seen: tuple[int, ...]) -> Decimal:
        if item.base == "pricelist" and item.base_pricelist_id is not None:
            base = self._get(item.base_pricelist_id)
            if base.currency_code != pricelist.currency_code:
                raise PricelistError(
                    f"rule {item.id} of pricelist {pricelist.name!r} is based on pricelist {base.name!r} "
                    f"in {base.currency_code.upper()}; currency conversion is not supported"
                )
            return self._price(base.id, product, quantity, at, seen)
        if item.base == "standard_price":
            return self._own_price(pricelist, product.standard_price, "cost")
        return self._own_price(pricelist, product.list_price, "list price")

    def _own_price(self, pricelist: Pricelist, amount: Decimal, what: str) -> Decimal:
        if pricelist.currency_code != self.company_currency:
            raise PricelistError(
                f"pricelist {pricelist.name!r} is in {pricelist.currency_code.upper()} but the {what} is in "
                f"{self.company_currency.upper()}; currency conversion is not supported"
            )
        return amount

    def _thresholds(self, pricelist_id: int, product: ProductFacts, at: datetime,
                    seen: tuple[int, ...]) -> set[int]:
        if pricelist_id in seen:
            return set()
        starts = {1}
        for item in self._get(pricelist_id).items:
            if not _applies(item, product, at):
                continue
            if item.min_quantity > 1:
                starts.add(math.ceil(item.min_quantity))
            if item.compute_price != "fixed" and item.base == "pricelist" and item.base_pricelist_id is not None:
                starts |= self._thresholds(item.base_pricelist_id, product, at, (*seen, pricelist_id))
        return starts


def _formula(item: PricelistItem, base: Decimal) -> Decimal:
    price = base - base * item.price_discount / 100
    if item.price_round:
        price = (price / item.price_round).quantize(Decimal(1), ROUND_HALF_UP) * item.price_round
    if item.price_surcharge:
        price += item.price_surcharge
    if item.price_min_margin:
        price = max(price, base + item.price_min_margin)
    if item.price_max_margin:
        price = min(price, base + item.price_max_margin)
    return price


def _applies(item: PricelistItem, product: ProductFacts, at: datetime) -> bool:
    """Whether ``item`` is for ``product`` now (its quantity threshold aside)."""
    if item.date_start is not None and parse_datetime(item.date_start) > at:
        return False
    if item.date_end is not None and _end(item.date_end) < at:
        return False
    if item.categ_id is not None and item.categ_id not in product.category_ids:
        return False
    if item.product_tmpl_id is not None and item.product_tmpl_id != product.template_id:
        return False
    if item.product_id is not None and item.product_id != product.variant_id:
        return False
    if item.applied_on == "2_product_category":
        return item.categ_id is not None
    if item.applied_on == "1_product":
        return item.product_tmpl_id is not None
    if item.applied_on == "0_product_variant":
        return item.product_id is not None
    return True


def _end(value: str) -> datetime:
    # A date-only end (Odoo 16's date fields) includes that whole day.
    end = parse_datetime(value)
    return end + timedelta(days=1, seconds=-1) if len(value) == 10 else end
