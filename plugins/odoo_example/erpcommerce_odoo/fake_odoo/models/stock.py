"""Stock: locations, warehouses and quants, and the product quantities computed from them.

Only quants in ``internal`` locations count; ``context.location`` (id or list) or
``context.warehouse_id`` narrows them to those locations and their children. On hand is the sum
of ``quantity``; free is on hand minus ``reserved_quantity`` (confirmed sale orders reserve);
forecast is on hand minus what confirmed orders still have to deliver. Setting stock over RPC
works as in Odoo: write ``inventory_quantity``, then ``action_apply_inventory``; writing
``quantity`` directly is refused.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import api
from ..api import Call
from ..errors import UserError
from ..fields import Boolean, Char, Float, Many2one, Selection
from ..orm import Model

__all__ = [
    "Levels",
    "StockLocation",
    "StockQuant",
    "StockWarehouse",
]

INVENTORY_FIELDS = frozenset({"inventory_quantity", "inventory_quantity_set", "inventory_date", "user_id", "lot_id"})


class Levels(NamedTuple):
    """Quantities of one variant."""

    on_hand: float
    free: float
    outgoing: float

    @property
    def forecast(self) -> float:
        """On hand minus what is still to deliver."""
        return round(self.on_hand - self.outgoing, 4)


class StockLocation(Model):
    _name = "stock.location"
    _description = "Inventory Locations"
    _order = "complete_name, id"
    _rec_name = "complete_name"
    _parent_name = "location_id"

    name = Char("Location Name", required=True)
    complete_name = Char("Full Location Name")
    location_id = Many2one("stock.location", "Parent Location")
    usage = Selection(
        [("supplier", "Vendor Location"), ("view", "View"), ("internal", "Internal Location"),
         ("customer", "Customer Location"), ("inventory", "Inventory Loss"), ("production", "Production"),
         ("transit", "Transit Location")], "Location Type", default="internal", required=True,
    )
    company_id = Many2one("res.company", "Company")
    active = Boolean("Active", default=True)

    def _prepare_create(self, rec: dict[str, Any], vals: dict[str, Any], call: Call) -> None:
        parent = self.records.get(rec.get("location_id") or 0)
        prefix = parent and rec["usage"] != "view"
        rec["complete_name"] = f"{parent['complete_name']}/{rec['name']}" if prefix else rec["name"]

    def descendants(self, roots: set[int]) -> set[int]:
        """The locations ``roots`` and all their children."""
        found = set(roots)
        frontier = set(roots)
        while frontier:
            frontier = {c for r in frontier for c in self.referencing("location_id", r)} - found
            found |= frontier
        return found


class StockWarehouse(Model):
    _name = "stock.warehouse"
    _description = "Warehouse"
    _order = "sequence, id"

    name = Char("Warehouse", required=True)
    code = Char("Short Name", required=True)
    sequence = Float("Sequence", default=10)
    company_id = Many2one("res.company", "Company", required=True, default=1)
    view_location_id = Many2one("stock.location", "View Location")
    lot_stock_id = Many2one("stock.location", "Location Stock")
    active = Boolean("Active", default=True)


class StockQuant(Model):
    _name = "stock.quant"
    _description = "Quants"
    _rec_name = "product_id"

    product_id = Many2one("product.product", "Product", required=True)
    product_tmpl_id = Many2one("product.template", "Product Template", related="product_id.product_tmpl_id")
    location_id = Many2one("stock.location", "Location", required=True)
    company_id = Many2one("res.company", "Company", default=1)
    quantity = Float("Quantity", readonly=True)
    reserved_quantity = Float("Reserved Quantity", readonly=True)
    available_quantity = Float("Available Quantity", compute="_compute_available")
    inventory_quantity = Float("Counted Quantity")
    inventory_quantity_set = Boolean("Inventory Quantity Set")
    inventory_diff_quantity = Float("Difference", compute="_compute_diff")
    inventory_date = Char("Scheduled Date")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._scope_key: tuple[int, str] | None = None
        self._scope: set[int] = set()

    def _display_name(self, rec: dict[str, Any], call: Call | None) -> str:
        products = self.db.models["product.product"]
        return products.display_name_of(products.records[rec["product_id"]]) if rec["product_id"] in products.records else ""

    def _compute_available(self, rec: dict[str, Any], call: Call) -> float:
        return round(rec["quantity"] - rec["reserved_quantity"], 4)

    def _compute_diff(self, rec: dict[str, Any], call: Call) -> float:
        return round(rec["inventory_quantity"] - rec["quantity"], 4) if rec["inventory_quantity_set"] else 0.0

    def _prepare_create(self, rec: dict[str, Any], vals: dict[str, Any], call: Call) -> None:
        if "inventory_quantity" in vals and "inventory_quantity_set" not in vals:
            rec["inventory_quantity_set"] = True

    @api.records
    def write(self, call: Call, ids: list[int], vals: dict[str, Any]) -> bool:
        """Write on quants; only the inventory fields may be written over RPC."""
        if isinstance(vals, dict) and set(vals) - INVENTORY_FIELDS:
            raise UserError("Quant's editing is restricted, you can't do this operation.")
        if isinstance(vals, dict) and "inventory_quantity" in vals:
            vals = {"inventory_quantity_set": True, **vals}
        return super().write(call, ids, vals)

    @api.records
    def action_apply_inventory(self, call: Call, ids: list[int]) -> None:
        """Apply the counted quantities (returns None, as Odoo: XML-RPC cannot marshal it)."""
        self._check_access(call, "write")
        for rec in self.browse(ids):
            if rec["inventory_quantity_set"]:
                self.write_records(call, [rec["id"]], {
                    "quantity": rec["inventory_quantity"], "inventory_quantity": 0.0, "inventory_quantity_set": False,
                })

    # Levels -------------------------------------------------------------------------------------

    def _locations(self, call: Call) -> set[int]:
        key = (self.db.generation, call.cache_key())
        if self._scope_key != key:
            locations = self.db.models["stock.location"]
            internal = {i for i, loc in locations.records.items() if loc["usage"] == "internal"}
            roots = _context_roots(self.db, call)
            self._scope = internal & locations.descendants(roots) if roots else internal
            self._scope_key = key
        return self._scope

    def levels(self, product_id: int, call: Call) -> Levels:
        """On hand, free and outgoing quantities of a variant in the context's locations."""
        scope = self._locations(call)
        on_hand = reserved = 0.0
        for quant_id in self.referencing("product_id", product_id):
            quant = self.records[quant_id]
            if quant["location_id"] in scope:
                on_hand += quant["quantity"]
                reserved += quant["reserved_quantity"]
        outgoing = self.db.models["sale.order.line"].undelivered(product_id)
        return Levels(round(on_hand, 4), round(on_hand - reserved, 4), outgoing)

    def reserve(self, call: Call, product_id: int, quantity: float) -> list[tuple[int, float]]:
        """Reserve up to ``quantity`` on the internal quants of a variant; returns (quant, qty) taken."""
        taken = []
        internal = self._locations(Call(call.uid))
        for quant_id in sorted(self.referencing("product_id", product_id)):
            quant = self.records[quant_id]
            free = quant["quantity"] - quant["reserved_quantity"]
            if quantity <= 0 or free <= 0 or quant["location_id"] not in internal:
                continue
            amount = min(free, quantity)
            self.write_records(call, [quant_id], {"reserved_quantity": quant["reserved_quantity"] + amount})
            taken.append((quant_id, amount))
            quantity -= amount
        return taken

    def unreserve(self, call: Call, taken: list[tuple[int, float]]) -> None:
        """Give back reservations made by :meth:`reserve`."""
        for quant_id, amount in taken:
            if quant_id in self.records:
                quant = self.records[quant_id]
                self.write_records(call, [quant_id], {"reserved_quantity": max(0.0, quant["reserved_quantity"] - amount)})


def _context_roots(db: Any, call: Call) -> set[int]:
    location = call.context.get("location")
    if location:
        values = location if isinstance(location, list) else [location]
        locations = db.models["stock.location"]
        return {int(v) for v in values if not isinstance(v, str)} | {
            i for v in values if isinstance(v, str) for i, rec in locations.records.items() if rec["complete_name"] == v
        }
    warehouse = call.context.get("warehouse_id") or call.context.get("warehouse")
    if warehouse:
        values = warehouse if isinstance(warehouse, list) else [warehouse]
        warehouses = db.models["stock.warehouse"].records
        return {warehouses[int(v)]["view_location_id"] for v in values if int(v) in warehouses}
    return set()
