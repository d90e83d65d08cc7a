"""Products: categories, templates and their variants (``product.product``).

A template gets its variants from its attribute lines (one per combination of active PTAVs of the
attributes that create variants; a single variant without attributes). Variants read the
template's fields through ``related`` fields (Odoo's ``_inherits``) and compute ``lst_price``
(list price + PTAV extras), ``display_name`` (``"[CODE] Name (Value, ...)"``) and stock
quantities from the quants. Archiving a template archives its variants; barcodes are unique.
"""

from __future__ import annotations

import itertools
from typing import Any

from ..api import Call
from ..errors import ValidationError
from ..fields import Boolean, Char, Float, Integer, Many2many, Many2one, One2many, Selection, Text
from ..orm import Model
from .base import company_of

__all__ = [
    "ProductCategory",
    "ProductProduct",
    "ProductTemplate",
]

PRODUCT_TYPES_17 = [("consu", "Consumable"), ("service", "Service"), ("product", "Storable Product")]
PRODUCT_TYPES_18 = [("consu", "Goods"), ("service", "Service"), ("combo", "Combo")]


def _first_id(model_name: str) -> Any:
    def default(model: Model, call: Call) -> Any:
        records = model.db.models[model_name].records
        return next(iter(records), False)

    return default


class ProductCategory(Model):
    _name = "product.category"
    _description = "Product Category"
    _order = "complete_name"
    _rec_name = "complete_name"

    name = Char("Name", required=True)
    complete_name = Char("Complete Name")
    parent_id = Many2one("product.category", "Parent Category")
    child_id = One2many("product.category", "parent_id", "Child Categories")

    def _complete(self, rec: dict[str, Any]) -> str:
        parent = self.records.get(rec.get("parent_id") or 0)
        return f"{parent['complete_name']} / {rec['name']}" if parent else str(rec["name"])

    def _prepare_create(self, rec: dict[str, Any], vals: dict[str, Any], call: Call) -> None:
        rec["complete_name"] = self._complete(rec)

    def _after_write(self, rec: dict[str, Any], vals: dict[str, Any], call: Call) -> None:
        rec["complete_name"] = self._complete(rec)

    def ancestors(self, categ_id: int) -> list[int]:
        """The category and its parents, nearest first."""
        chain: list[int] = []
        while categ_id and categ_id not in chain:
            chain.append(categ_id)
            categ_id = self.records.get(categ_id, {}).get("parent_id") or 0
        return chain


class ProductTemplate(Model):
    _name = "product.template"
    _description = "Product"
    _order = "priority desc, name"

    name = Char("Name", required=True)
    sequence = Integer("Sequence", default=1)
    priority = Selection([("0", "Normal"), ("1", "Favorite")], "Favorite", default="0")
    description = Text("Description")
    description_sale = Text("Sales Description")
    list_price = Float("Sales Price", default=1.0)
    standard_price = Float("Cost")
    sale_ok = Boolean("Can be Sold", default=True)
    purchase_ok = Boolean("Can be Purchased", default=True)
    active = Boolean("Active", default=True)
    detailed_type = Selection(PRODUCT_TYPES_17, "Product Type", default="consu", until=17)
    type = Selection(PRODUCT_TYPES_17, "Type", default="consu", until=17)
    is_storable = Boolean("Track Inventory", default=False, since=18)
    categ_id = Many2one("product.category", "Product Category", required=True, default=_first_id("product.category"))
    uom_id = Many2one("uom.uom", "Unit of Measure", required=True, default=_first_id("uom.uom"))
    uom_po_id = Many2one("uom.uom", "Purchase Unit", default=_first_id("uom.uom"))
    company_id = Many2one("res.company", "Company")
    currency_id = Many2one("res.currency", "Currency", compute="_compute_currency")
    taxes_id = Many2many("account.tax", "Customer Taxes")
    default_code = Char("Internal Reference", compute="_compute_default_code", inverse="_inverse_default_code")
    barcode = Char("Barcode", compute="_compute_barcode", inverse="_inverse_barcode")
    attribute_line_ids = One2many("product.template.attribute.line", "product_tmpl_id", "Product Attributes")
    product_variant_ids = One2many("product.product", "product_tmpl_id", "Products")
    product_variant_id = Many2one("product.product", "Product", compute="_compute_variant")
    product_variant_count = Integer("# Product Variants", compute="_compute_variant_count")
    is_product_variant = Boolean("Is a product variant", compute="_compute_is_variant", searchable=False)
    qty_available = Float("Quantity On Hand", compute="_compute_qty_available")
    virtual_available = Float("Forecasted Quantity", compute="_compute_virtual_available")
    allow_out_of_stock_order = Boolean("Continue selling when out-of-stock", default=True)
    is_published = Boolean("Is Published", default=True)
    x_allowed_partner_ids = Many2many("res.partner", "Allowed customers", help="Empty: anyone may buy.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deferred: set[int] = set()
        if self.db.major >= 18:
            self.fields["type"] = Selection(PRODUCT_TYPES_18, "Product Type", default="consu")
            self.fields["type"].name = "type"
            self._stored.append(self.fields["type"])

    def _display_name(self, rec: dict[str, Any], call: Call | None) -> str:
        code = self._single(rec, "default_code")
        return f"[{code}] {rec['name']}" if code else str(rec["name"])

    def _variants(self, rec: dict[str, Any], *, active: bool = True) -> list[dict[str, Any]]:
        variants = self.db.models["product.product"]
        found = [variants.records[i] for i in sorted(variants.referencing("product_tmpl_id", rec["id"]))]
        return [v for v in found if v["active"]] if active else found

    def _single(self, rec: dict[str, Any], fname: str) -> Any:
        variants = self.db.models["product.product"]
        found = None
        for variant_id in variants.referencing("product_tmpl_id", rec["id"]):
            variant = variants.records[variant_id]
            if variant["active"]:
                if found is not None:
                    return False
                found = variant
        return found.get(fname) or False if found is not None else False

    def _compute_default_code(self, rec: dict[str, Any], call: Call) -> Any:
        return self._single(rec, "default_code")

    def _compute_barcode(self, rec: dict[str, Any], call: Call) -> Any:
        return self._single(rec, "barcode")

    def _inverse_default_code(self, rec: dict[str, Any], value: Any, call: Call) -> None:
        self._write_single(rec, "default_code", value, call)

    def _inverse_barcode(self, rec: dict[str, Any], value: Any, call: Call) -> None:
        self._write_single(rec, "barcode", value, call)

    def _write_single(self, rec: dict[str, Any], fname: str, value: Any, call: Call) -> None:
        variants = self._variants(rec)
        if len(variants) == 1:
            self.db.models["product.product"].write_records(call, [variants[0]["id"]], {fname: value})

    def _compute_currency(self, rec: dict[str, Any], call: Call) -> Any:
        company = rec.get("company_id") or company_of(self.db, call)
        return self.db.models["res.company"].records.get(company, {}).get("currency_id", False)

    def _compute_variant(self, rec: dict[str, Any], call: Call) -> Any:
        variants = self._variants(rec)
        return variants[0]["id"] if variants else False

    def _compute_variant_count(self, rec: dict[str, Any], call: Call) -> int:
        return len(self._variants(rec))

    def _compute_is_variant(self, rec: dict[str, Any], call: Call) -> bool:
        return False

    def _compute_qty_available(self, rec: dict[str, Any], call: Call) -> float:
        quants = self.db.models["stock.quant"]
        return round(sum(quants.levels(v["id"], call).on_hand for v in self._variants(rec)), 4)

    def _compute_virtual_available(self, rec: dict[str, Any], call: Call) -> float:
        quants = self.db.models["stock.quant"]
        return round(sum(quants.levels(v["id"], call).forecast for v in self._variants(rec)), 4)

    # Variants ----------------------------------------------------------------------------------

    def _write_unstored(self, rec: dict[str, Any], vals: dict[str, Any], call: Call) -> None:
        self._deferred.add(rec["id"])
        try:
            super()._write_unstored(rec, vals, call)
        finally:
            self._deferred.discard(rec["id"])
        if "attribute_line_ids" in vals:
            self.sync_variants(call, rec["id"])

    def _after_create(self, rec: dict[str, Any], vals: dict[str, Any], call: Call) -> None:
        if not self._variants(rec, active=False):
            self.sync_variants(call, rec["id"])
        for fname in ("default_code", "barcode"):
            if vals.get(fname):
                self._write_single(rec, fname, vals[fname], call)

    def _after_write(self, rec: dict[str, Any], vals: dict[str, Any], call: Call) -> None:
        if "active" in vals:
            variants = self.db.models["product.product"]
            changed = [v["id"] for v in self._variants(rec, active=False) if v["active"] != rec["active"]]
            if changed:
                variants.write_records(call, changed, {"active": rec["active"]})

    def variants_changed(self, call: Call, tmpl_id: int) -> None:
        """An attribute line of the template changed: rebuild its variants (unless being written)."""
        if tmpl_id not in self._deferred and tmpl_id in self.records:
            self.sync_variants(call, tmpl_id)

    def sync_variants(self, call: Call, tmpl_id: int) -> None:
        """One variant per combination of active PTAVs; variants of other combinations are archived."""
        rec = self.records[tmpl_id]
        lines = self.db.models["product.template.attribute.line"]
        ptavs = self.db.models["product.template.attribute.value"]
        attributes = self.db.models["product.attribute"].records
        groups = []
        for line_id in sorted(lines.referencing("product_tmpl_id", tmpl_id)):
            line = lines.records[line_id]
            if attributes[line["attribute_id"]]["create_variant"] == "no_variant":
                continue
            values = sorted(p for p in ptavs.referencing("attribute_line_id", line_id) if ptavs.records[p]["ptav_active"])
            if values:
                groups.append(values)
        wanted = [frozenset(combo) for combo in itertools.product(*groups)]
        variants = self.db.models["product.product"]
        existing = {frozenset(v["product_template_attribute_value_ids"]): v for v in self._variants(rec, active=False)}
        for combo in wanted:
            variant = existing.get(combo)
            if variant is None:
                variants.create_record(call, {
                    "product_tmpl_id": tmpl_id,
                    "product_template_attribute_value_ids": sorted(combo),
                    "active": rec["active"],
                })
            elif not variant["active"] and rec["active"]:
                variants.write_records(call, [variant["id"]], {"active": True})
        stale = [v["id"] for combo, v in existing.items() if combo not in set(wanted) and v["active"]]
        if stale:
            variants.write_records(call, stale, {"active": False})


def _template(name: str) -> dict[str, Any]:
    return {"related": f"product_tmpl_id.{name}"}


class ProductProduct(Model):
    _name = "product.product"
    _description = "Product Variant"
    _order = "default_code, id"

    product_tmpl_id = Many2one("product.template", "Product Template", required=True)
    default_code = Char("Internal Reference")
    barcode = Char("Barcode")
    active = Boolean("Active", default=True)
    product_template_attribute_value_ids = Many2many("product.template.attribute.value", "Attribute Values")
    product_template_variant_value_ids = Many2many(
        "product.template.attribute.value", "Variant Values", compute="_compute_variant_values"
    )
    combination_indices = Char("Combination Indices", compute="_compute_combination_indices")
    price_extra = Float("Variant Price Extra", compute="_compute_price_extra")
    lst_price = Float("Sales Price", compute="_compute_lst_price", inverse="_inverse_lst_price")
    qty_available = Float("Quantity On Hand", compute="_compute_qty_available")
    free_qty = Float("Free To Use Quantity", compute="_compute_free_qty")
    virtual_available = Float("Forecasted Quantity", compute="_compute_virtual_available")
    incoming_qty = Float("Incoming", compute="_compute_incoming_qty")
    outgoing_qty = Float("Outgoing", compute="_compute_outgoing_qty")
    name = Char("Name", **_template("name"))
    description = Text("Description", **_template("description"))
    description_sale = Text("Sales Description", **_template("description_sale"))
    list_price = Float("Sales Price", **_template("list_price"))
    standard_price = Float("Cost", **_template("standard_price"))
    sale_ok = Boolean("Can be Sold", **_template("sale_ok"))
    purchase_ok = Boolean("Can be Purchased", **_template("purchase_ok"))
    categ_id = Many2one("product.category", "Product Category", **_template("categ_id"))
    uom_id = Many2one("uom.uom", "Unit of Measure", **_template("uom_id"))
    company_id = Many2one("res.company", "Company", **_template("company_id"))
    currency_id = Many2one("res.currency", "Currency", **_template("currency_id"))
    taxes_id = Many2many("account.tax", "Customer Taxes", **_template("taxes_id"))
    detailed_type = Selection(PRODUCT_TYPES_17, "Product Type", until=17, **_template("detailed_type"))
    type = Selection(PRODUCT_TYPES_17, "Type", until=17, **_template("type"))
    is_storable = Boolean("Track Inventory", since=18, **_template("is_storable"))
    attribute_line_ids = One2many("product.template.attribute.line", "product_tmpl_id", **_template("attribute_line_ids"))
    allow_out_of_stock_order = Boolean("Continue selling when out-of-stock", **_template("allow_out_of_stock_order"))
    is_published = Boolean("Is Published", **_template("is_published"))
    x_allowed_partner_ids = Many2many("res.partner", "Allowed customers", **_template("x_allowed_partner_ids"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._barcodes: dict[str, int] = {}
        if self.db.major >= 18:
            self.fields["type"] = Selection(PRODUCT_TYPES_18, "Product Type", related="product_tmpl_id.type")
            self.fields["type"].name = "type"

    def _name_search_domain(self, name: str, operator: str) -> list[Any]:
        return ["|", ("default_code", operator, name), ("name", operator, name)]

    def _display_name(self, rec: dict[str, Any], call: Call | None) -> str:
        template = self.db.models["product.template"].records.get(rec["product_tmpl_id"], {})
        name = template.get("name", "")
        values = self._combination_names(rec)
        if values:
            name = f"{name} ({', '.join(values)})"
        return f"[{rec['default_code']}] {name}" if rec.get("default_code") else str(name)

    def _combination_names(self, rec: dict[str, Any]) -> list[str]:
        ptavs = self.db.models["product.template.attribute.value"]
        lines = self.db.models["product.template.attribute.line"].records
        values = self.db.models["product.attribute.value"].records
        names = []
        for ptav_id in rec.get("product_template_attribute_value_ids", ()):
            ptav = ptavs.records.get(ptav_id)
            if ptav and len(lines.get(ptav["attribute_line_id"], {}).get("value_ids", ())) > 1:
                names.append(str(values[ptav["product_attribute_value_id"]]["name"]))
        return names

    def _compute_variant_values(self, rec: dict[str, Any], call: Call) -> list[int]:
        return list(rec.get("product_template_attribute_value_ids", ()))

    def _compute_combination_indices(self, rec: dict[str, Any], call: Call) -> str:
        return ",".join(str(i) for i in sorted(rec.get("product_template_attribute_value_ids", ())))

    def _compute_price_extra(self, rec: dict[str, Any], call: Call) -> float:
        ptavs = self.db.models["product.template.attribute.value"].records
        return sum(ptavs[i]["price_extra"] for i in rec.get("product_template_attribute_value_ids", ()) if i in ptavs)

    def _compute_lst_price(self, rec: dict[str, Any], call: Call) -> float:
        template = self.db.models["product.template"].records.get(rec["product_tmpl_id"], {})
        return round(template.get("list_price", 0.0) + self._compute_price_extra(rec, call), 6)

    def _inverse_lst_price(self, rec: dict[str, Any], value: Any, call: Call) -> None:
        price = float(value or 0.0) - self._compute_price_extra(rec, call)
        self.db.models["product.template"].write_records(call, [rec["product_tmpl_id"]], {"list_price": price})

    def _compute_qty_available(self, rec: dict[str, Any], call: Call) -> float:
        return self.db.models["stock.quant"].levels(rec["id"], call).on_hand

    def _compute_free_qty(self, rec: dict[str, Any], call: Call) -> float:
        return self.db.models["stock.quant"].levels(rec["id"], call).free

    def _compute_virtual_available(self, rec: dict[str, Any], call: Call) -> float:
        return self.db.models["stock.quant"].levels(rec["id"], call).forecast

    def _compute_incoming_qty(self, rec: dict[str, Any], call: Call) -> float:
        return 0.0

    def _compute_outgoing_qty(self, rec: dict[str, Any], call: Call) -> float:
        return self.db.models["stock.quant"].levels(rec["id"], call).outgoing

    # Barcode uniqueness --------------------------------------------------------------------------

    def _claim_barcode(self, barcode: Any, owners: set[int]) -> None:
        if not barcode:
            return
        owner = self._barcodes.get(barcode)
        if (owner is not None and owner not in owners and owner in self.records) or len(owners) > 1:
            raise ValidationError(
                f'Barcode(s) already assigned:\n\n- Barcode "{barcode}" already assigned to product(s): '
                f"{self.display_name_of(self.records[owner]) if owner in self.records else barcode}"
            )

    def _prepare_create(self, rec: dict[str, Any], vals: dict[str, Any], call: Call) -> None:
        self._claim_barcode(rec.get("barcode"), {rec["id"]})

    def _after_create(self, rec: dict[str, Any], vals: dict[str, Any], call: Call) -> None:
        if rec.get("barcode"):
            self._barcodes[rec["barcode"]] = rec["id"]

    def _before_write(self, recs: list[dict[str, Any]], vals: dict[str, Any], call: Call) -> None:
        if "barcode" in vals:
            self._claim_barcode(vals["barcode"], {rec["id"] for rec in recs})
            for rec in recs:
                self._barcodes.pop(rec.get("barcode") or "", None)

    def _after_write(self, rec: dict[str, Any], vals: dict[str, Any], call: Call) -> None:
        if "barcode" in vals and rec.get("barcode"):
            self._barcodes[rec["barcode"]] = rec["id"]

    def _before_unlink(self, recs: list[dict[str, Any]], call: Call) -> None:
        for rec in recs:
            self._barcodes.pop(rec.get("barcode") or "", None)
