"""Odoo pricelist rules evaluated client-side: fixed, percentage, formula, breaks, dates, categories."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from erpcommerce_odoo.pricelists import Pricelist, PricelistBook, PricelistError, ProductFacts, Tier, rule_order
from erpcommerce_odoo.records import Category, PricelistItem
from erpcommerce_odoo.reference import ancestors, complete_names, descendants

NOW = datetime(2025, 6, 15, 12, 0, 0)
# Categories: 1 All > 2 Saleable > 3 Office.
CATEGORIES = {
    1: Category(id=1, name="All"),
    2: Category(id=2, name="Saleable", parent_id=1),
    3: Category(id=3, name="Office", parent_id=2),
    4: Category(id=4, name="Tools", parent_id=1),
}
DESK = ProductFacts(variant_id=11, template_id=10, category_ids=ancestors(CATEGORIES, 3),
                    list_price=Decimal("100.00"), standard_price=Decimal("60.00"))
HAMMER = ProductFacts(variant_id=21, template_id=20, category_ids=ancestors(CATEGORIES, 4),
                      list_price=Decimal("19.90"), standard_price=Decimal("8.00"))

_next_id = iter(range(1, 10_000))


def item(pricelist_id: int = 1, **fields: Any) -> PricelistItem:
    return PricelistItem.model_validate({"id": next(_next_id), "pricelist_id": [pricelist_id, "P"], **fields})


def book(*items: PricelistItem, currency: str = "eur", extra: tuple[Pricelist, ...] = ()) -> PricelistBook:
    names = complete_names(CATEGORIES)
    pricelists = {1: Pricelist(1, "Public", currency, rule_order(items, names))}
    pricelists.update({p.id: p for p in extra})
    return PricelistBook(company_currency="eur", pricelists=pricelists)


def price(b: PricelistBook, product: ProductFacts = DESK, quantity: int = 1, pricelist_id: int = 1) -> Decimal:
    return b.price(pricelist_id, product, quantity, NOW)


def test_no_rule_gives_the_list_price() -> None:
    assert price(book()) == Decimal("100.00")
    assert price(book(item(applied_on="1_product", product_tmpl_id=[99, "Other"], fixed_price=1))) == Decimal("100.00")


def test_fixed_price_for_the_template_and_the_variant() -> None:
    b = book(
        item(applied_on="1_product", product_tmpl_id=[10, "Desk"], compute_price="fixed", fixed_price=90),
        item(applied_on="0_product_variant", product_id=[11, "Desk"], compute_price="fixed", fixed_price=85),
    )
    assert price(b) == Decimal("85.00")  # the variant rule sorts first
    assert price(b, HAMMER) == Decimal("19.90")


def test_percentage_discount_on_the_list_price() -> None:
    b = book(item(applied_on="3_global", compute_price="percentage", percent_price=15))
    assert price(b) == Decimal("85.00")
    assert price(b, HAMMER) == Decimal("16.92")  # 16.915 rounded half up


def test_formula_discount_round_surcharge_and_margins() -> None:
    formula = {"applied_on": "3_global", "compute_price": "formula", "base": "list_price"}
    assert price(book(item(**formula, price_discount=10, price_surcharge=-0.01, price_round=1))) == Decimal("89.99")
    # Based on cost: 60 +50% markup is a -50% discount, capped at cost + 25.
    capped = item(**{**formula, "base": "standard_price"}, price_discount=-50, price_max_margin=25)
    assert price(book(capped)) == Decimal("85.00")
    floor = item(**formula, price_discount=90, price_min_margin=-20)  # 10, but at least 100 - 20
    assert price(book(floor)) == Decimal("80.00")


def test_quantity_breaks_pick_the_highest_threshold_reached() -> None:
    b = book(
        item(applied_on="1_product", product_tmpl_id=[10, "Desk"], min_quantity=10, fixed_price=80),
        item(applied_on="1_product", product_tmpl_id=[10, "Desk"], min_quantity=50, fixed_price=70),
        item(applied_on="1_product", product_tmpl_id=[10, "Desk"], min_quantity=0, fixed_price=95),
    )
    assert [price(b, quantity=q) for q in (1, 9, 10, 49, 50, 500)] == [
        Decimal(95), Decimal(95), Decimal(80), Decimal(80), Decimal(70), Decimal(70)
    ]
    assert b.tiers(1, DESK, NOW) == [
        Tier(1, 9, Decimal("95.00")), Tier(10, 49, Decimal("80.00")), Tier(50, None, Decimal("70.00"))
    ]


def test_equal_neighbouring_tiers_merge() -> None:
    b = book(item(applied_on="1_product", product_tmpl_id=[10, "Desk"], min_quantity=5, fixed_price=100))
    assert b.tiers(1, DESK, NOW) == [Tier(1, None, Decimal("100.00"))]


def test_date_windows() -> None:
    b = book(
        item(applied_on="3_global", compute_price="fixed", fixed_price=50,
             date_start="2025-07-01 00:00:00"),
        item(applied_on="3_global", compute_price="fixed", fixed_price=60,
             date_start="2025-01-01 00:00:00", date_end="2025-06-01 00:00:00"),
        item(applied_on="3_global", compute_price="fixed", fixed_price=70, date_end="2025-06-15"),
    )
    assert price(b) == Decimal("70.00")  # a date-only end includes its whole day
    assert b.price(1, DESK, 1, datetime(2025, 6, 16)) == Decimal("100.00")
    assert b.price(1, DESK, 1, datetime(2025, 7, 2)) == Decimal("50.00")


def test_category_rules_match_subcategories_most_specific_first() -> None:
    b = book(
        item(applied_on="2_product_category", categ_id=[2, "All / Saleable"], compute_price="percentage",
             percent_price=10),
        item(applied_on="2_product_category", categ_id=[3, "All / Saleable / Office"], compute_price="percentage",
             percent_price=20),
        item(applied_on="3_global", compute_price="percentage", percent_price=50),
    )
    assert price(b) == Decimal("80.00")
    assert price(b, HAMMER) == Decimal("9.95")  # Tools: only the global rule


def test_based_on_another_pricelist_recursively() -> None:
    partner = Pricelist(2, "Partners", "eur", (
        item(2, applied_on="3_global", compute_price="formula", base="pricelist", base_pricelist_id=[1, "Public"],
             price_discount=10),
    ))
    b = book(item(applied_on="3_global", min_quantity=10, compute_price="percentage", percent_price=20),
             extra=(partner,))
    assert price(b, pricelist_id=2) == Decimal("90.00")
    assert price(b, quantity=10, pricelist_id=2) == Decimal("72.00")
    assert [t.min_quantity for t in b.tiers(2, DESK, NOW)] == [1, 10]  # the base's breaks too


def test_a_pricelist_cycle_is_an_error() -> None:
    other = Pricelist(2, "Loop", "eur", (
        item(2, applied_on="3_global", compute_price="formula", base="pricelist", base_pricelist_id=[1, "Public"]),
    ))
    b = book(item(applied_on="3_global", compute_price="formula", base="pricelist", base_pricelist_id=[2, "Loop"]),
             extra=(other,))
    with pytest.raises(PricelistError, match="cycle"):
        price(b)


def test_currency_conversion_is_refused() -> None:
    with pytest.raises(PricelistError, match="conversion"):
        price(book(currency="usd"))
    # A fixed price in the pricelist's own currency needs no conversion.
    assert price(book(item(applied_on="3_global", fixed_price=42), currency="usd")) == Decimal("42.00")


def test_rule_order_follows_odoo() -> None:
    a = item(applied_on="3_global", min_quantity=0)
    b = item(applied_on="3_global", min_quantity=10)
    c = item(applied_on="2_product_category", categ_id=[2, "S"])
    d = item(applied_on="2_product_category", categ_id=[3, "O"])
    e = item(applied_on="0_product_variant", product_id=[11, "D"])
    assert [i.id for i in rule_order([a, b, c, d, e], complete_names(CATEGORIES))] == [e.id, d.id, c.id, b.id, a.id]


def test_category_tree_helpers() -> None:
    assert ancestors(CATEGORIES, 3) == {1, 2, 3}
    assert descendants(CATEGORIES, [2]) == {2, 3}
    assert complete_names(CATEGORIES)[3] == "All / Saleable / Office"
