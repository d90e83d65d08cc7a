"""Product attributes and their values, globally and per template (attribute lines and PTAVs).

Creating or changing an attribute line creates the template's ``product.template.attribute.value``
records (PTAVs) and asks the template to rebuild its variants (one per combination of the PTAVs
of the ``create_variant != 'no_variant'`` attributes).
"""

from __future__ import annotations

from typing import Any

from ..api import Call
from ..fields import Boolean, Char, Float, Integer, Many2many, Many2one, One2many, Selection
from ..orm import Model

__all__ = [
    "ProductAttribute",
    "ProductAttributeValue",
    "ProductTemplateAttributeLine",
    "ProductTemplateAttributeValue",
]


class ProductAttribute(Model):
    _name = "product.attribute"
    _description = "Product Attribute"
    _order = "sequence, id"

    name = Char("Attribute", required=True)
    sequence = Integer("Sequence", default=20)
    create_variant = Selection(
        [("always", "Instantly"), ("dynamic", "Dynamically"), ("no_variant", "Never (option)")],
        "Variants Creation Mode", default="always",
    )
    display_type = Selection(
        [("radio", "Radio"), ("pills", "Pills"), ("select", "Select"), ("color", "Color"), ("multi", "Multi-checkbox")],
        "Display Type", default="radio",
    )
    value_ids = One2many("product.attribute.value", "attribute_id", "Values")


class ProductAttributeValue(Model):
    _name = "product.attribute.value"
    _description = "Attribute Value"
    _order = "attribute_id, sequence, id"

    name = Char("Value", required=True)
    attribute_id = Many2one("product.attribute", "Attribute", required=True)
    sequence = Integer("Sequence", default=10)
    html_color = Char("Color")
    is_custom = Boolean("Is custom value")
    default_extra_price = Float("Default Extra Price")

    def _display_name(self, rec: dict[str, Any], call: Call | None) -> str:
        attribute = self.db.models["product.attribute"].records.get(rec["attribute_id"], {})
        return f"{attribute.get('name', '')}: {rec['name']}"


class ProductTemplateAttributeLine(Model):
    _name = "product.template.attribute.line"
    _description = "Product Template Attribute Line"
    _rec_name = "attribute_id"
    _order = "sequence, attribute_id, id"

    product_tmpl_id = Many2one("product.template", "Product Template", required=True)
    attribute_id = Many2one("product.attribute", "Attribute", required=True)
    sequence = Integer("Sequence", default=10)
    value_ids = Many2many("product.attribute.value", "Values")
    value_count = Integer("Value Count", compute="_compute_value_count")
    product_template_value_ids = One2many(
        "product.template.attribute.value", "attribute_line_id", "Product Attribute Values"
    )
    active = Boolean("Active", default=True)

    def _display_name(self, rec: dict[str, Any], call: Call | None) -> str:
        attribute = self.db.models["product.attribute"].records.get(rec["attribute_id"], {})
        return str(attribute.get("name", ""))

    def _compute_value_count(self, rec: dict[str, Any], call: Call) -> int:
        return len(rec.get("value_ids", ()))

    def _after_create(self, rec: dict[str, Any], vals: dict[str, Any], call: Call) -> None:
        self._sync_values(rec, call)

    def _after_write(self, rec: dict[str, Any], vals: dict[str, Any], call: Call) -> None:
        if "value_ids" in vals:
            self._sync_values(rec, call)

    def _sync_values(self, rec: dict[str, Any], call: Call) -> None:
        """One active PTAV per value of the line; PTAVs of removed values become inactive."""
        ptavs = self.db.models["product.template.attribute.value"]
        existing = {ptavs.records[i]["product_attribute_value_id"]: i for i in ptavs.referencing("attribute_line_id", rec["id"])}
        wanted = rec.get("value_ids", [])
        values = self.db.models["product.attribute.value"].records
        for value in wanted:
            if value in existing:
                ptavs.records[existing[value]]["ptav_active"] = True
            else:
                ptavs.create_record(call, {
                    "product_attribute_value_id": value,
                    "attribute_line_id": rec["id"],
                    "price_extra": values[value].get("default_extra_price", 0.0),
                })
        for value, ptav in existing.items():
            if value not in wanted:
                ptavs.records[ptav]["ptav_active"] = False
        self.db.models["product.template"].variants_changed(call, rec["product_tmpl_id"])


class ProductTemplateAttributeValue(Model):
    """A value of an attribute line of one template (PTAV), with its ``price_extra``."""

    _name = "product.template.attribute.value"
    _description = "Product Template Attribute Value"
    _order = "attribute_line_id, product_attribute_value_id, id"
    _rec_name = "name"

    product_attribute_value_id = Many2one("product.attribute.value", "Attribute Value", required=True)
    attribute_line_id = Many2one("product.template.attribute.line", "Attribute Line", required=True)
    attribute_id = Many2one("product.attribute", "Attribute")
    product_tmpl_id = Many2one("product.template", "Product Template")
    name = Char("Value", related="product_attribute_value_id.name")
    html_color = Char("HTML Color Index", related="product_attribute_value_id.html_color")
    price_extra = Float("Value Price Extra")
    ptav_active = Boolean("Active", default=True)

    def _prepare_create(self, rec: dict[str, Any], vals: dict[str, Any], call: Call) -> None:
        line = self.db.models["product.template.attribute.line"].records.get(rec["attribute_line_id"], {})
        rec["attribute_id"] = line.get("attribute_id", False)
        rec["product_tmpl_id"] = line.get("product_tmpl_id", False)

    def _display_name(self, rec: dict[str, Any], call: Call | None) -> str:
        value = self.db.models["product.attribute.value"].records.get(rec["product_attribute_value_id"], {})
        attribute = self.db.models["product.attribute"].records.get(rec.get("attribute_id") or 0, {})
        return f"{attribute.get('name', '')}: {value.get('name', '')}"
