"""``res.partner``: companies and their contacts, the commercial partner and its pricelist.

``property_product_pricelist`` is company-dependent and a *commercial field*: a contact shows
its commercial partner's value for the current company (``context.allowed_company_ids``, else
the user's company), and writing it on a contact sets it on the commercial partner. Without a
value, the first active pricelist of the company (or shared) applies, as Odoo's default property.
"""

from __future__ import annotations

from typing import Any

from ..api import Call
from ..fields import Boolean, Char, Integer, Many2one, One2many, Selection
from ..orm import Model
from .base import company_of

__all__ = [
    "ResPartner",
]


class ResPartner(Model):
    _name = "res.partner"
    _description = "Contact"
    _order = "complete_name asc, id desc"

    name = Char("Name")
    complete_name = Char("Complete Name")
    is_company = Boolean("Is a Company", default=False)
    company_type = Selection(
        [("person", "Individual"), ("company", "Company")], "Company Type",
        compute="_compute_company_type", inverse="_inverse_company_type",
    )
    parent_id = Many2one("res.partner", "Related Company")
    child_ids = One2many("res.partner", "parent_id", "Contact")
    commercial_partner_id = Many2one("res.partner", "Commercial Entity", compute="_compute_commercial_partner")
    type = Selection(
        [("contact", "Contact"), ("invoice", "Invoice Address"), ("delivery", "Delivery Address"),
         ("other", "Other Address")], "Address Type", default="contact",
    )
    email = Char("Email")
    phone = Char("Phone")
    mobile = Char("Mobile", until=17)
    street = Char("Street")
    street2 = Char("Street2")
    city = Char("City")
    zip = Char("Zip")
    country_id = Many2one("res.country", "Country")
    vat = Char("Tax ID")
    ref = Char("Reference")
    lang = Char("Language", default="en_US")
    active = Boolean("Active", default=True)
    customer_rank = Integer("Customer Rank")
    company_id = Many2one("res.company", "Company")
    user_ids = One2many("res.users", "partner_id", "Users")
    property_product_pricelist = Many2one(
        "product.pricelist", "Pricelist", compute="_compute_pricelist", inverse="_inverse_pricelist",
        company_dependent=True,
    )

    def _display_name(self, rec: dict[str, Any], call: Call | None) -> str:
        return str(rec.get("complete_name") or rec.get("name") or "")

    def _complete_name(self, rec: dict[str, Any]) -> str:
        parent = self.records.get(rec.get("parent_id") or 0)
        name = rec.get("name") or ""
        if parent and not rec.get("is_company"):
            return f"{parent.get('name') or ''}, {name}" if name else str(parent.get("name") or "")
        return str(name)

    def _prepare_create(self, rec: dict[str, Any], vals: dict[str, Any], call: Call) -> None:
        rec["complete_name"] = self._complete_name(rec)

    def _after_write(self, rec: dict[str, Any], vals: dict[str, Any], call: Call) -> None:
        if {"name", "parent_id", "is_company"} & set(vals):
            rec["complete_name"] = self._complete_name(rec)
            for child in self.referencing("parent_id", rec["id"]):
                self.records[child]["complete_name"] = self._complete_name(self.records[child])

    def _compute_company_type(self, rec: dict[str, Any], call: Call) -> str:
        return "company" if rec.get("is_company") else "person"

    def _inverse_company_type(self, rec: dict[str, Any], value: Any, call: Call) -> None:
        rec["is_company"] = value == "company"

    def commercial_of(self, rec: dict[str, Any]) -> dict[str, Any]:
        """The commercial partner: the record itself if a company or without parent, else its parent's."""
        seen = set()
        while not rec.get("is_company") and rec.get("parent_id") and rec["id"] not in seen:
            seen.add(rec["id"])
            parent = self.records.get(rec["parent_id"])
            if parent is None:
                break
            rec = parent
        return rec

    def _compute_commercial_partner(self, rec: dict[str, Any], call: Call) -> int:
        return int(self.commercial_of(rec)["id"])

    def _compute_pricelist(self, rec: dict[str, Any], call: Call) -> Any:
        company = company_of(self.db, call)
        pricelists = self.db.models["product.pricelist"]
        chosen = self.commercial_of(rec).get("_pricelists", {}).get(company)
        if chosen and pricelists.records.get(chosen, {}).get("active"):
            return chosen
        return pricelists.default_for(company)

    def _inverse_pricelist(self, rec: dict[str, Any], value: Any, call: Call) -> None:
        commercial = self.commercial_of(rec)
        properties = dict(commercial.get("_pricelists", {}))
        properties[company_of(self.db, call)] = int(value[0] if isinstance(value, (list, tuple)) else value or 0)
        commercial["_pricelists"] = properties
