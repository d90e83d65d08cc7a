"""Pricelists and their items, with Odoo 17's rule selection and price formulas.

The rule for (product, quantity, date) is the first item of the pricelist, ordered by
``applied_on, min_quantity desc, categ_id desc, id desc``, whose target matches (variant,
template, category or a parent of it, or global), whose ``min_quantity`` is reached and whose
date window holds. No rule: the variant's list price (``lst_price``). ``fixed`` gives
``fixed_price``; ``percentage`` takes ``percent_price`` % off the base; ``formula`` takes
``price_discount`` % off the base, rounds to ``price_round``, adds ``price_surcharge`` and clamps
between the base plus the min/max margins. The base is the list price, the cost, or another
pricelist's price. Over RPC the engine (``_get_product_price``) is private, as in Odoo: clients
read the items and evaluate them themselves.
"""

from __future__ import annotations

import math
from typing import Any

from ..api import Call
from ..fields import Boolean, Datetime, Float, Integer, Many2one, One2many, Selection, Char
from ..orm import Model

__all__ = [
    "ProductPricelist",
    "ProductPricelistItem",
]

MAX_DEPTH = 10


class ProductPricelist(Model):
    _name = "product.pricelist"
    _description = "Pricelist"
    _order = "sequence asc, id asc"

    name = Char("Pricelist Name", required=True)
    active = Boolean("Active", default=True)
    sequence = Integer("Sequence", default=16)
    currency_id = Many2one("res.currency", "Currency", required=True, default=lambda m, c: _company_currency(m, c))
    company_id = Many2one("res.company", "Company")
    item_ids = One2many("product.pricelist.item", "pricelist_id", "Pricelist Rules")
    discount_policy = Selection(
        [("with_discount", "Discount included in the price"), ("without_discount", "Show public price & discount")],
        "Discount Policy", default="with_discount", until=17,
    )

    def default_for(self, company: int) -> Any:
        """The pricelist a partner without one gets in ``company``: the first active one of it (or shared)."""
        for rec in sorted(self.records.values(), key=lambda r: (r["sequence"], r["id"])):
            if rec["active"] and rec.get("company_id") in (False, company):
                return rec["id"]
        return False

    def _get_product_price(
        self, call: Call, pricelist_id: int, product_id: int, quantity: float, date: str | False = False
    ) -> float:
        """The price of a variant for a quantity at a date (private: not callable over RPC)."""
        return self.price(pricelist_id, product_id, quantity, date or self.db.now(), 0)

    def rule(self, pricelist_id: int, product_id: int, quantity: float, date: str) -> dict[str, Any] | None:
        """The item that applies, or None."""
        items = self.db.models["product.pricelist.item"]
        product = self.db.models["product.product"].records[product_id]
        template = self.db.models["product.template"].records[product["product_tmpl_id"]]
        categories = set(self.db.models["product.category"].ancestors(template.get("categ_id") or 0))
        candidates = [items.records[i] for i in items.referencing("pricelist_id", pricelist_id)]
        candidates.sort(key=lambda r: (r["applied_on"], -r["min_quantity"], -(r["categ_id"] or 0), -r["id"]))
        for item in candidates:
            if item["min_quantity"] and quantity < item["min_quantity"]:
                continue
            if (item["date_start"] and date < item["date_start"]) or (item["date_end"] and date > item["date_end"]):
                continue
            applied_on = item["applied_on"]
            if applied_on == "0_product_variant" and item["product_id"] != product_id:
                continue
            if applied_on == "1_product" and item["product_tmpl_id"] != template["id"]:
                continue
            if applied_on == "2_product_category" and item["categ_id"] not in categories:
                continue
            return item
        return None

    def price(self, pricelist_id: int, product_id: int, quantity: float, date: str, depth: int = 0) -> float:
        """The price of variant ``product_id`` for ``quantity`` at ``date`` from pricelist ``pricelist_id``."""
        products = self.db.models["product.product"]
        product = products.records[product_id]
        call = Call(1)
        if not pricelist_id or depth > MAX_DEPTH:
            return float(products._compute_lst_price(product, call))
        item = self.rule(pricelist_id, product_id, quantity, date)
        if item is None:
            return float(products._compute_lst_price(product, call))
        if item["compute_price"] == "fixed":
            return float(item["fixed_price"])
        if item["base"] == "pricelist" and item["base_pricelist_id"]:
            base = self.price(item["base_pricelist_id"], product_id, quantity, date, depth + 1)
        elif item["base"] == "standard_price":
            base = float(self.db.models["product.template"].records[product["product_tmpl_id"]]["standard_price"])
        else:
            base = float(products._compute_lst_price(product, call))
        if item["compute_price"] == "percentage":
            return round(base - base * item["percent_price"] / 100, 6)
        return _formula(item, base)


def _formula(item: dict[str, Any], base: float) -> float:
    price = base - base * item["price_discount"] / 100
    if item["price_round"]:
        step = item["price_round"]
        price = math.floor(price / step + 0.5) * step
    price += item["price_surcharge"]
    if item["price_min_margin"]:
        price = max(price, base + item["price_min_margin"])
    if item["price_max_margin"]:
        price = min(price, base + item["price_max_margin"])
    return round(price, 6)


def _company_currency(model: Model, call: Call) -> Any:
    from .base import company_of

    company = model.db.models["res.company"].records.get(company_of(model.db, call), {})
    return company.get("currency_id", False)


class ProductPricelistItem(Model):
    _name = "product.pricelist.item"
    _description = "Pricelist Rule"
    _order = "applied_on, min_quantity desc, categ_id desc, id desc"
    _rec_name = "name"

    pricelist_id = Many2one("product.pricelist", "Pricelist", required=True)
    name = Char("Name", compute="_compute_name")
    active = Boolean("Active", related="pricelist_id.active")
    company_id = Many2one("res.company", "Company", related="pricelist_id.company_id")
    currency_id = Many2one("res.currency", "Currency", related="pricelist_id.currency_id")
    applied_on = Selection(
        [("3_global", "All Products"), ("2_product_category", "Product Category"), ("1_product", "Product"),
         ("0_product_variant", "Product Variant")], "Apply On", default="3_global", required=True,
    )
    categ_id = Many2one("product.category", "Product Category")
    product_tmpl_id = Many2one("product.template", "Product")
    product_id = Many2one("product.product", "Product Variant")
    min_quantity = Float("Min. Quantity")
    date_start = Datetime("Start Date")
    date_end = Datetime("End Date")
    compute_price = Selection(
        [("fixed", "Fixed Price"), ("percentage", "Discount"), ("formula", "Formula")], "Computation",
        default="fixed", required=True,
    )
    fixed_price = Float("Fixed Price")
    percent_price = Float("Percentage Price")
    base = Selection(
        [("list_price", "Sales Price"), ("standard_price", "Cost"), ("pricelist", "Other Pricelist")],
        "Based on", default="list_price", required=True,
    )
    base_pricelist_id = Many2one("product.pricelist", "Other Pricelist")
    price_discount = Float("Price Discount")
    price_surcharge = Float("Price Surcharge")
    price_round = Float("Price Rounding")
    price_min_margin = Float("Min. Price Margin")
    price_max_margin = Float("Max. Price Margin")

    def _compute_name(self, rec: dict[str, Any], call: Call) -> str:
        if rec["applied_on"] == "0_product_variant" and rec["product_id"]:
            return self.db.models["product.product"].display_name_of(self.db.models["product.product"].records[rec["product_id"]])
        if rec["applied_on"] == "1_product" and rec["product_tmpl_id"]:
            return str(self.db.models["product.template"].records[rec["product_tmpl_id"]]["name"])
        if rec["applied_on"] == "2_product_category" and rec["categ_id"]:
            return f"Category: {self.db.models['product.category'].records[rec['categ_id']]['complete_name']}"
        return "All Products"

    def _display_name(self, rec: dict[str, Any], call: Call | None) -> str:
        return self._compute_name(rec, call or Call(1))
