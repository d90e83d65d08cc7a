"""Base models: users, companies, currencies, countries, units, taxes, and the ``ir.model*`` tables."""

from __future__ import annotations

from typing import Any

from .. import api
from ..api import Call
from ..fields import Boolean, Char, Float, Integer, Many2many, Many2one, Selection
from ..orm import Model

__all__ = [
    "AccountTax",
    "IrModel",
    "IrModelData",
    "ResCompany",
    "ResCountry",
    "ResCurrency",
    "ResUsers",
    "UomUom",
    "company_of",
]


def company_of(db: Any, call: Call) -> int:
    """The current company: ``context.allowed_company_ids[0]``, else the user's company."""
    allowed = call.context.get("allowed_company_ids")
    if allowed:
        return int(allowed[0])
    user = db.models["res.users"].records.get(call.uid, {})
    return int(user.get("company_id") or 1)


class ResCurrency(Model):
    _name = "res.currency"
    _description = "Currency"
    _order = "active desc, name"

    name = Char("Currency", required=True)
    symbol = Char("Symbol", required=True)
    rounding = Float("Rounding Factor", default=0.01)
    decimal_places = Integer("Decimal Places", default=2)
    position = Selection([("after", "After Amount"), ("before", "Before Amount")], "Symbol Position", default="after")
    active = Boolean("Active", default=True)


class ResCountry(Model):
    _name = "res.country"
    _description = "Country"
    _order = "name"

    name = Char("Country Name", required=True)
    code = Char("Country Code")
    currency_id = Many2one("res.currency", "Currency")


class ResCompany(Model):
    _name = "res.company"
    _description = "Companies"
    _order = "sequence, name"

    name = Char("Company Name", required=True)
    sequence = Integer("Sequence", default=10)
    currency_id = Many2one("res.currency", "Currency", required=True)
    partner_id = Many2one("res.partner", "Partner")
    email = Char("Email")
    country_id = Many2one("res.country", "Country")
    active = Boolean("Active", default=True)


class ResUsers(Model):
    """Users; the password, API keys and a read-only flag live in hidden record keys."""

    _name = "res.users"
    _description = "User"
    _order = "name, login"

    name = Char("Name", required=True)
    login = Char("Login", required=True)
    partner_id = Many2one("res.partner", "Related Partner")
    company_id = Many2one("res.company", "Company", required=True, default=1)
    company_ids = Many2many("res.company", "Companies")
    active = Boolean("Active", default=True)
    lang = Char("Language", default="en_US")
    tz = Char("Timezone", default="Europe/Brussels")
    share = Boolean("Share User", default=False)
    email = Char("Email")

    @api.model
    def context_get(self, call: Call) -> dict[str, Any]:
        """The user's context: ``{"lang": ..., "tz": ...}``."""
        user = self.records.get(call.uid, {})
        return {"lang": user.get("lang") or "en_US", "tz": user.get("tz") or False}


class IrModel(Model):
    _name = "ir.model"
    _description = "Models"
    _order = "model"

    name = Char("Model Description", required=True)
    model = Char("Model", required=True)
    transient = Boolean("Transient Model")
    state = Selection([("manual", "Custom Object"), ("base", "Base Object")], "Type", default="base")


class IrModelData(Model):
    """External identifiers (``module.name`` → model and id)."""

    _name = "ir.model.data"
    _description = "Model Data"
    _rec_name = "name"

    name = Char("External Identifier", required=True)
    module = Char("Module", required=True)
    model = Char("Model Name", required=True)
    res_id = Integer("Record ID")

    def register(self, call: Call, xmlid: str, model_name: str, res_id: int) -> None:
        """Give record ``model_name(res_id)`` the external id ``module.name``."""
        module, name = xmlid.split(".", 1)
        self.create_record(call, {"module": module, "name": name, "model": model_name, "res_id": res_id})

    def resolve(self, xmlid: str) -> tuple[str, int] | None:
        """``(model, res_id)`` of an external id, or None."""
        module, _, name = xmlid.partition(".")
        for rec in self.records.values():
            if rec["module"] == module and rec["name"] == name:
                return rec["model"], rec["res_id"]
        return None

    @api.model
    def check_object_reference(
        self, call: Call, module: str, xml_id: str, raise_on_access_error: bool = False
    ) -> list[Any]:
        """``[model, res_id]`` of ``module.xml_id``; ValueError if unknown."""
        found = self.resolve(f"{module}.{xml_id}")
        if found is None:
            raise ValueError(f"External ID not found in the system: {module}.{xml_id}")
        return list(found)


class UomUom(Model):
    _name = "uom.uom"
    _description = "Product Unit of Measure"
    _order = "factor desc, id"

    name = Char("Unit of Measure", required=True)
    factor = Float("Ratio", default=1.0)
    rounding = Float("Rounding Precision", default=0.01)
    uom_type = Selection(
        [("bigger", "Bigger than the reference"), ("reference", "Reference"), ("smaller", "Smaller")],
        "Type", default="reference",
    )
    active = Boolean("Active", default=True)


class AccountTax(Model):
    _name = "account.tax"
    _description = "Tax"
    _order = "sequence, id"

    name = Char("Tax Name", required=True)
    sequence = Integer("Sequence", default=1)
    amount = Float("Amount")
    amount_type = Selection([("percent", "Percentage of Price"), ("fixed", "Fixed")], "Tax Computation", default="percent")
    type_tax_use = Selection([("sale", "Sales"), ("purchase", "Purchases"), ("none", "None")], "Tax Type", default="sale")
    price_include = Boolean("Included in Price")
    company_id = Many2one("res.company", "Company", default=1)
    active = Boolean("Active", default=True)
