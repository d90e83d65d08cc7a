"""Sales orders and their lines, with Odoo 17's states and actions.

``state`` is draft/sent/sale/cancel (tracked: a change is reported to the webhooks).
``action_confirm`` moves draft/sent to sale and reserves stock (UserError otherwise);
``action_cancel`` cancels and frees the reservation, but on a ``sent`` order it returns the
``sale.order.cancel`` wizard action instead unless ``context.disable_cancel_warning``;
``action_draft`` brings sent/cancelled orders back to draft. Lines without ``price_unit`` get
the order pricelist's price for their quantity; amounts are computed from the lines.
"""

from __future__ import annotations

from typing import Any

from .. import api
from ..api import Call
from ..errors import UserError
from ..fields import Boolean, Char, Datetime, Float, Integer, Many2many, Many2one, One2many, Selection, Text
from ..orm import Model
from .base import company_of

__all__ = [
    "SaleOrder",
    "SaleOrderLine",
]

STATES = [("draft", "Quotation"), ("sent", "Quotation Sent"), ("sale", "Sales Order"), ("cancel", "Cancelled")]


def _default_warehouse(model: Model, call: Call) -> Any:
    company = company_of(model.db, call)
    for rec in model.db.models["stock.warehouse"].records.values():
        if rec["company_id"] == company and rec["active"]:
            return rec["id"]
    return False


class SaleOrder(Model):
    _name = "sale.order"
    _description = "Sales Order"
    _order = "date_order desc, id desc"
    _tracked = ("state",)

    name = Char("Order Reference", default="New", required=True)
    state = Selection(STATES, "Status", default="draft")
    locked = Boolean("Locked", default=False)
    partner_id = Many2one("res.partner", "Customer", required=True)
    partner_invoice_id = Many2one("res.partner", "Invoice Address")
    partner_shipping_id = Many2one("res.partner", "Delivery Address")
    client_order_ref = Char("Customer Reference")
    origin = Char("Source Document")
    note = Text("Terms and conditions")
    date_order = Datetime("Order Date", default=lambda m, c: m.db.now())
    pricelist_id = Many2one("product.pricelist", "Pricelist")
    company_id = Many2one("res.company", "Company", default=lambda m, c: company_of(m.db, c))
    user_id = Many2one("res.users", "Salesperson", default=lambda m, c: c.uid)
    warehouse_id = Many2one("stock.warehouse", "Warehouse", default=_default_warehouse)
    currency_id = Many2one("res.currency", "Currency", compute="_compute_currency")
    order_line = One2many("sale.order.line", "order_id", "Order Lines")
    amount_untaxed = Float("Untaxed Amount", compute="_compute_untaxed")
    amount_tax = Float("Taxes", compute="_compute_tax")
    amount_total = Float("Total", compute="_compute_total")
    invoice_status = Selection(
        [("upselling", "Upselling Opportunity"), ("invoiced", "Fully Invoiced"), ("to invoice", "To Invoice"),
         ("no", "Nothing to Invoice")], "Invoice Status", default="no",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sequence = 0
        self._reservations: dict[int, list[tuple[int, float]]] = {}

    def _prepare_create(self, rec: dict[str, Any], vals: dict[str, Any], call: Call) -> None:
        if rec["name"] in (False, "New", "/"):
            self.sequence += 1
            rec["name"] = f"S{self.sequence:05d}"
        partner = rec.get("partner_id")
        rec["partner_invoice_id"] = rec["partner_invoice_id"] or partner
        rec["partner_shipping_id"] = rec["partner_shipping_id"] or partner
        if not rec["pricelist_id"] and partner:
            partners = self.db.models["res.partner"]
            scoped = Call(call.uid, {**call.context, "allowed_company_ids": [rec["company_id"]]})
            rec["pricelist_id"] = partners._compute_pricelist(partners.records[partner], scoped)

    def _compute_currency(self, rec: dict[str, Any], call: Call) -> Any:
        pricelist = self.db.models["product.pricelist"].records.get(rec.get("pricelist_id") or 0)
        if pricelist:
            return pricelist["currency_id"]
        return self.db.models["res.company"].records.get(rec["company_id"], {}).get("currency_id", False)

    def _lines(self, rec: dict[str, Any]) -> list[dict[str, Any]]:
        lines = self.db.models["sale.order.line"]
        return [lines.records[i] for i in sorted(lines.referencing("order_id", rec["id"]))]

    def _compute_untaxed(self, rec: dict[str, Any], call: Call) -> float:
        lines = self.db.models["sale.order.line"]
        return round(sum(lines.amounts(line)[0] for line in self._lines(rec)), 2)

    def _compute_tax(self, rec: dict[str, Any], call: Call) -> float:
        lines = self.db.models["sale.order.line"]
        return round(sum(lines.amounts(line)[1] for line in self._lines(rec)), 2)

    def _compute_total(self, rec: dict[str, Any], call: Call) -> float:
        return round(self._compute_untaxed(rec, call) + self._compute_tax(rec, call), 2)

    def _before_unlink(self, recs: list[dict[str, Any]], call: Call) -> None:
        if any(rec["state"] not in ("draft", "cancel") for rec in recs):
            raise UserError(
                "You can not delete a sent quotation or a confirmed sales order. You must first cancel it."
            )

    @api.records
    def action_confirm(self, call: Call, ids: list[int]) -> bool:
        """Confirm draft/sent orders: state ``sale``, stock reserved."""
        self._check_access(call, "write")
        orders = self.browse(ids)
        if any(rec["state"] not in ("draft", "sent") for rec in orders):
            raise UserError("Some orders are not in a state requiring confirmation.")
        quants = self.db.models["stock.quant"]
        for rec in orders:
            if any(not line["product_id"] for line in self._lines(rec)):
                raise UserError("A line on these orders is missing a product, you cannot confirm it.")
            self.write_records(call, [rec["id"]], {"state": "sale", "date_order": self.db.now()})
            for line in self._lines(rec):
                taken = quants.reserve(call, line["product_id"], line["product_uom_qty"] - line["qty_delivered"])
                self._reservations.setdefault(rec["id"], []).extend(taken)
        return True

    @api.records
    def action_cancel(self, call: Call, ids: list[int]) -> Any:
        """Cancel orders; a sent order gets the cancel wizard unless ``disable_cancel_warning``."""
        self._check_access(call, "write")
        orders = self.browse(ids)
        if any(rec["locked"] for rec in orders):
            raise UserError("You cannot cancel a locked order. Please unlock it first.")
        if not call.context.get("disable_cancel_warning") and any(rec["state"] == "sent" for rec in orders):
            return {
                "name": "Cancel Sales Order",
                "view_mode": "form",
                "res_model": "sale.order.cancel",
                "view_id": False,
                "type": "ir.actions.act_window",
                "target": "new",
                "context": {"default_order_id": orders[0]["id"]},
            }
        quants = self.db.models["stock.quant"]
        for rec in orders:
            quants.unreserve(call, self._reservations.pop(rec["id"], []))
            self.write_records(call, [rec["id"]], {"state": "cancel"})
        return True

    @api.records
    def action_draft(self, call: Call, ids: list[int]) -> bool:
        """Set sent or cancelled orders back to quotation."""
        self._check_access(call, "write")
        orders = [rec["id"] for rec in self.browse(ids) if rec["state"] in ("cancel", "sent")]
        if orders:
            self.write_records(call, orders, {"state": "draft"})
        return True

    @api.records
    def action_quotation_sent(self, call: Call, ids: list[int]) -> None:
        """Mark draft quotations as sent (returns None, as in Odoo)."""
        self._check_access(call, "write")
        if any(rec["state"] != "draft" for rec in self.browse(ids)):
            raise UserError("Only draft orders can be marked as sent directly.")
        self.write_records(call, ids, {"state": "sent"})

    @api.records
    def action_lock(self, call: Call, ids: list[int]) -> bool:
        """Lock confirmed orders."""
        self.write_records(call, ids, {"locked": True})
        return True

    @api.records
    def action_unlock(self, call: Call, ids: list[int]) -> bool:
        """Unlock orders."""
        self.write_records(call, ids, {"locked": False})
        return True


class SaleOrderLine(Model):
    _name = "sale.order.line"
    _description = "Sales Order Line"
    _order = "order_id, sequence, id"

    order_id = Many2one("sale.order", "Order Reference", required=True)
    sequence = Integer("Sequence", default=10)
    product_id = Many2one("product.product", "Product")
    product_template_id = Many2one("product.template", "Product Template", related="product_id.product_tmpl_id")
    name = Text("Description", required=True)
    product_uom_qty = Float("Quantity", default=1.0)
    product_uom = Many2one("uom.uom", "Unit of Measure")
    price_unit = Float("Unit Price")
    discount = Float("Discount (%)")
    tax_id = Many2many("account.tax", "Taxes")
    price_subtotal = Float("Subtotal", compute="_compute_subtotal")
    price_tax = Float("Total Tax", compute="_compute_price_tax")
    price_total = Float("Total", compute="_compute_total")
    qty_delivered = Float("Delivery Quantity")
    qty_invoiced = Float("Invoiced Quantity")
    currency_id = Many2one("res.currency", "Currency", related="order_id.currency_id")
    state = Selection(STATES, "Order Status", related="order_id.state")
    company_id = Many2one("res.company", "Company", related="order_id.company_id")

    def _prepare_create(self, rec: dict[str, Any], vals: dict[str, Any], call: Call) -> None:
        product = self.db.models["product.product"].records.get(rec.get("product_id") or 0)
        if product is None:
            return
        if not rec["name"]:
            rec["name"] = self.db.models["product.product"].display_name_of(product)
        if not rec["product_uom"]:
            template = self.db.models["product.template"].records[product["product_tmpl_id"]]
            rec["product_uom"] = template["uom_id"]
        if "price_unit" not in vals:
            order = self.db.models["sale.order"].records[rec["order_id"]]
            pricelists = self.db.models["product.pricelist"]
            rec["price_unit"] = pricelists.price(
                order.get("pricelist_id") or 0, product["id"], rec["product_uom_qty"], order["date_order"]
            )

    def amounts(self, rec: dict[str, Any]) -> tuple[float, float]:
        """(subtotal, tax) of a line."""
        subtotal = rec["price_unit"] * (1 - rec["discount"] / 100) * rec["product_uom_qty"]
        taxes = self.db.models["account.tax"].records
        tax = 0.0
        for tax_id in rec.get("tax_id", ()):
            tax_rec = taxes.get(tax_id)
            if tax_rec and tax_rec["amount_type"] == "percent":
                tax += subtotal * tax_rec["amount"] / 100
            elif tax_rec:
                tax += tax_rec["amount"] * rec["product_uom_qty"]
        return round(subtotal, 2), round(tax, 2)

    def _compute_subtotal(self, rec: dict[str, Any], call: Call) -> float:
        return self.amounts(rec)[0]

    def _compute_price_tax(self, rec: dict[str, Any], call: Call) -> float:
        return self.amounts(rec)[1]

    def _compute_total(self, rec: dict[str, Any], call: Call) -> float:
        subtotal, tax = self.amounts(rec)
        return round(subtotal + tax, 2)

    def undelivered(self, product_id: int) -> float:
        """Quantity of a variant that confirmed orders still have to deliver."""
        orders = self.db.models["sale.order"].records
        total = 0.0
        for line_id in self.referencing("product_id", product_id):
            line = self.records[line_id]
            if orders.get(line["order_id"], {}).get("state") == "sale":
                total += line["product_uom_qty"] - line["qty_delivered"]
        return round(total, 4)
