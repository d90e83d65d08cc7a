"""Store orders as Odoo ``sale.order``, their cancellation, and Odoo's order webhooks.

An order is created exactly once: its ``client_order_ref`` is the store order's id, looked up
(outside cancelled orders) before anything is created, so a retry after a lost answer finds the
order the first attempt made (and confirms it if that attempt stopped before). Lines carry the
store's unit prices; a line's product is its variant's external id, else the product whose
``default_code`` is the line's SKU.

The webhook is an Odoo automation rule ("Send Webhook Notification" on ``sale.order``, fields
such as ``state``, ``name``, ``delivery_status``) posting to ``/erp/order-updates?token=...``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from core.errors import InvalidData, PermanentError
from erpcommerce_erp.contract import ErpOrder, ErpOrderLine, ErpOrderRef, ErpOrderState, OrderUpdate
from erpcommerce_odoo.partners import Partners
from erpcommerce_odoo.records import SaleOrderRecord
from erpcommerce_odoo.rpc import OdooRpc

__all__ = [
    "cancel_order",
    "create_order",
    "orders_by_reference",
    "parse_order_update",
]

ORDER = "sale.order"
# What of the webhook body is kept in the store order's metadata.erp.
WEBHOOK_METADATA = ("name", "locked", "delivery_status", "invoice_status", "amount_total")


async def create_order(rpc: OdooRpc, partners: Partners, order: ErpOrder, company_id: int | None) -> ErpOrderRef:
    """The confirmed ``sale.order`` of ``order``: the existing one, or a new one (see the module doc)."""
    existing = await _find(rpc, [("client_order_ref", "=", order.id), ("state", "!=", "cancel")])
    if existing is None:
        partner_id = await partners.for_order(order)
        lines = await _lines(rpc, order.items)
        vals: dict[str, Any] = {
            "partner_id": partner_id,
            "client_order_ref": order.id,
            "origin": f"erpcommerce #{order.display_id}",
            "order_line": lines,
        }
        if company_id is not None:
            vals["company_id"] = company_id
        order_id = int(await rpc.execute_kw(ORDER, "create", [vals]))
        existing = SaleOrderRecord(id=order_id, state="draft")
    if existing.state in ("draft", "sent"):
        await rpc.execute_kw(ORDER, "action_confirm", [[existing.id]])
        existing = await _find(rpc, [("id", "=", existing.id)]) or existing
    return ErpOrderRef(external_id=str(existing.id), name=existing.name, status=existing.state)


async def cancel_order(rpc: OdooRpc, external_id: str) -> None:
    """Cancel the order (deleted while still a quotation); already cancelled or gone: nothing to do."""
    if not external_id.isdigit():
        raise PermanentError(f"{external_id!r} is not an Odoo sale.order id")
    found = await _find(rpc, [("id", "=", int(external_id))])
    if found is None or found.state == "cancel":
        return
    await rpc.execute_kw(ORDER, "action_cancel", [[found.id]], {"context": {"disable_cancel_warning": True}})
    if found.state in ("draft", "sent"):
        await rpc.execute_kw(ORDER, "unlink", [[found.id]])


async def orders_by_reference(rpc: OdooRpc, references: list[str]) -> list[ErpOrderState]:
    """Every ``sale.order`` whose ``client_order_ref`` is one of ``references``, cancelled ones too (one call)."""
    if not references:
        return []
    rows = await rpc.execute_kw(
        ORDER, "search_read", [[("client_order_ref", "in", list(references))], SaleOrderRecord.FIELDS],
        {"order": "id asc"},
    )
    found = [SaleOrderRecord.model_validate(row) for row in rows]
    return [
        ErpOrderState(reference=record.client_order_ref, external_id=str(record.id), name=record.name,
                      status=record.state)
        for record in found if record.client_order_ref
    ]


def parse_order_update(body: bytes, event_id: str | None) -> OrderUpdate:
    """Odoo's webhook JSON (``{"_model": "sale.order", "_id": 42, "state": "sale", ...}``) as an update.

    :param event_id: the event's id (the SHA-256 of the body when not given).
    :raises InvalidData: when the body is not such a JSON object.
    """
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep to read
        raise InvalidData("Malformed Odoo webhook: the body is not JSON") from None
    if not isinstance(payload, dict):
        raise InvalidData("Malformed Odoo webhook: the body is not a JSON object")
    if payload.get("_model") != ORDER:
        raise InvalidData(f"Odoo webhook for model {payload.get('_model')!r}, expected {ORDER!r}")
    record_id = payload.get("_id", payload.get("id"))
    if not isinstance(record_id, int) or isinstance(record_id, bool) or record_id <= 0:
        raise InvalidData("Malformed Odoo webhook: _id is not a record id")
    state = payload.get("state")
    if not isinstance(state, str) or not state:
        raise InvalidData("Malformed Odoo webhook: no state (add the field state to the automation rule)")
    delivery = payload.get("delivery_status")
    metadata = {key: payload[key] for key in WEBHOOK_METADATA if payload.get(key) not in (None, False)}
    return OrderUpdate(
        event_id=event_id or hashlib.sha256(body).hexdigest(),
        external_id=str(record_id),
        status=state,
        fulfillment_status=delivery if isinstance(delivery, str) and delivery else None,
        metadata=metadata or None,
    )


async def _find(rpc: OdooRpc, domain: list[Any]) -> SaleOrderRecord | None:
    rows = await rpc.execute_kw(ORDER, "search_read", [domain, SaleOrderRecord.FIELDS], {"order": "id asc", "limit": 1})
    return SaleOrderRecord.model_validate(rows[0]) if rows else None


async def _lines(rpc: OdooRpc, items: list[ErpOrderLine]) -> list[Any]:
    """``(0, 0, vals)`` commands; products by variant id, else by SKU (one call for all SKUs)."""
    skus = sorted({i.sku for i in items if i.sku and not (i.variant_external_id or "").isdigit()})
    by_sku: dict[str, int] = {}
    if skus:
        rows = await rpc.execute_kw(
            "product.product", "search_read", [[("default_code", "in", skus)], ["default_code"]]
        )
        by_sku = {str(row["default_code"]): int(row["id"]) for row in rows}
    commands: list[Any] = []
    unknown: list[str] = []
    for item in items:
        if (item.variant_external_id or "").isdigit():
            product_id: int | None = int(item.variant_external_id or 0)
        else:
            product_id = by_sku.get(item.sku or "")
        if product_id is None:
            unknown.append(f"{item.title} (line {item.line_id}, SKU {item.sku or 'none'})")
            continue
        commands.append(
            (0, 0, {"product_id": product_id, "product_uom_qty": item.quantity, "price_unit": item.unit_price})
        )
    if unknown:
        raise PermanentError("Odoo has no product for " + ", ".join(unknown))
    return commands
