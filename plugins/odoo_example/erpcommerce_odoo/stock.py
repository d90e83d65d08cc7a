"""Stock: ``product.product``'s ``free_qty`` (or ``qty_available``) as :class:`StockLevel`.

``manage_inventory`` is whether Odoo tracks the product's stock (``is_storable`` in 18,
``detailed_type == "product"`` in 17); ``allow_out_of_stock_order`` is the template's flag when
website_sale_stock is installed, else False. The stock stream follows ``stock.quant``'s
``write_date`` (a stock move does not touch the product), resuming after the last quant read
(:mod:`erpcommerce_odoo.cursors`); a full stream (no cursor) reads every variant and starts the
quants' key at the newest quant. A quant Odoo deletes (emptied) leaves no trace: the next move of that product, or a
``--full`` sync, brings its stock.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

from erpcommerce_erp.contract import Page, StockLevel
from erpcommerce_odoo.cursors import KEYSET_ORDER, Cursor, Key, Token, keyset_domain, odoo_now, row_key
from erpcommerce_odoo.records import M2oId, Number, Text
from erpcommerce_odoo.reference import ALL, OdooReference

__all__ = [
    "list_stock_changes",
    "stock_levels",
]

QUANTS = "quants"
VARIANTS = "variants"
TYPE_FIELDS = ("is_storable", "detailed_type", "type", "allow_out_of_stock_order")


class _StockRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: int
    quantity: Number
    is_storable: bool | None = None
    detailed_type: Text = None
    type: Text = None
    allow_out_of_stock_order: Annotated[bool, BeforeValidator(lambda v: bool(v))] = False

    @property
    def tracked(self) -> bool:
        if self.is_storable is not None:
            return self.is_storable
        return (self.detailed_type or self.type) == "product"


async def stock_levels(reference: OdooReference, variant_ids: list[int], *, archived: bool = True) -> list[StockLevel]:
    """The stock of each variant Odoo knows (one call; the optional fields are found once)."""
    if not variant_ids:
        return []
    quantity = reference.settings.stock_field
    available = await reference.fields("product.product")
    fields = [quantity, *(name for name in TYPE_FIELDS if name in available)]
    domain: list[Any] = [("id", "in", sorted(set(variant_ids)))]
    rows = await reference.rpc.execute_kw(
        "product.product", "search_read", [domain, fields], {"order": "id asc", **(ALL if archived else {})}
    )
    levels = []
    for row in rows:
        parsed = _StockRow.model_validate({**row, "quantity": row.get(quantity)})
        levels.append(
            StockLevel(
                variant_external_id=str(parsed.id),
                qty_available=Decimal(parsed.quantity),
                allow_out_of_stock_order=parsed.allow_out_of_stock_order,
                manage_inventory=parsed.tracked,
            )
        )
    return levels


async def list_stock_changes(
    reference: OdooReference, cursor: str | None, page: str | None, limit: int
) -> Page[StockLevel]:
    """One page of the stock stream: the variants of quants written after ``cursor`` (None: all variants)."""
    size = min(limit, reference.settings.page_size)
    position = Cursor.decode(cursor)
    token = Token.decode(page, QUANTS if cursor is not None else VARIANTS)
    keys = dict(token.keys or {})
    if token.phase == VARIANTS:
        after_id = token.after[1] if token.after else 0
        ids = await reference.rpc.execute_kw(
            "product.product", "search", [[("id", ">", after_id)]], {"order": "id asc", "limit": size}
        )
        variant_ids = [int(i) for i in ids]
        if page is None:
            newest = await _newest_quant(reference)
            if newest is not None:
                keys[QUANTS] = newest
        next_token = (Token(phase=VARIANTS, after=("", variant_ids[-1]), keys=keys)
                      if len(variant_ids) == size else None)
    else:
        domain = keyset_domain(position.mark(QUANTS), token.after, reference.settings.cursor_overlap_seconds)
        rows = await reference.rpc.execute_kw(
            "stock.quant", "search_read", [domain, ["product_id", "write_date"]],
            {"order": KEYSET_ORDER, "limit": size},
        )
        quants = [_Quant.model_validate(row) for row in rows]
        variant_ids = list(dict.fromkeys(q.product_id for q in quants if q.product_id is not None))
        if quants:
            last = (quants[-1].write_date, quants[-1].id)
            keys[QUANTS] = max(keys.get(QUANTS, last), last)
        next_token = (Token(phase=QUANTS, after=(quants[-1].write_date, quants[-1].id), keys=keys)
                      if len(rows) == size else None)
    return Page[StockLevel](
        items=await stock_levels(reference, variant_ids),
        next_page=None if next_token is None else next_token.encode(),
        cursor=position.advanced(keys, odoo_now()).encode(),
    )


class _Quant(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: int
    product_id: M2oId = None
    write_date: str


async def _newest_quant(reference: OdooReference) -> Key | None:
    """The newest quant's key: a full stream's cursor (later quant writes are read next time)."""
    rows = await reference.rpc.execute_kw(
        "stock.quant", "search_read", [[], ["write_date"]],
        {"order": "write_date desc, id desc", "limit": 1}
    )
    return row_key(rows[0]) if rows else None
