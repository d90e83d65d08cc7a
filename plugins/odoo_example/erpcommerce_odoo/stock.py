"""Stock: ``product.product``'s ``free_qty`` (or ``qty_available``) as :class:`StockLevel`.

``manage_inventory`` is whether Odoo tracks the product's stock (``is_storable`` in 18,
``detailed_type == "product"`` in 17); ``allow_out_of_stock_order`` is the template's flag when
website_sale_stock is installed, else False. The stock stream follows ``stock.quant``'s
``write_date`` (a stock move does not touch the product), resuming after the last quant read
(:mod:`erpcommerce_odoo.cursors`), then two more phases, each after its own key: the variants
written since the cursor (a variant created, or restored with its template, has stock the store
does not know yet: no quant of it changed), and the products of the ``sale.order`` written since
the cursor (a confirmed or cancelled order changes what the store may sell although no quant
changes when nothing was on hand; the store counts its own orders down meanwhile). A full stream
(no cursor) reads every active variant and starts each key at the newest row. A quant Odoo
deletes (emptied) leaves no trace: the next move of that product, or a ``--full`` sync, brings
its stock.
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
VARIANTS = "variants"  # the full stream: every active variant, by id
PRODUCTS = "products"  # variants written since the cursor
ORDERS = "orders"  # sale orders written since the cursor
# Delta phases, in order: the model read, its fields, its context.
DELTA_PHASES: dict[str, tuple[str, list[str], dict[str, Any]]] = {
    QUANTS: ("stock.quant", ["product_id", "write_date"], {}),
    PRODUCTS: ("product.product", ["write_date"], ALL),
    ORDERS: ("sale.order", ["write_date"], {}),
}
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
    """One page of the stock stream (see the module doc): every variant (no cursor), or the
    variants of quants, variants and sale orders written after ``cursor``, phase by phase."""
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
            keys.update(await _newest_keys(reference))
        next_token = (Token(phase=VARIANTS, after=("", variant_ids[-1]), keys=keys)
                      if len(variant_ids) == size else None)
    else:
        model, fields, context = DELTA_PHASES[token.phase]
        domain = keyset_domain(position.mark(token.phase), token.after, reference.settings.cursor_overlap_seconds)
        rows = await reference.rpc.execute_kw(
            model, "search_read", [domain, fields], {"order": KEYSET_ORDER, "limit": size, **context},
        )
        changed = [_Changed.model_validate(row) for row in rows]
        variant_ids = await _variants_of(reference, token.phase, changed)
        if changed:
            last = (changed[-1].write_date, changed[-1].id)
            keys[token.phase] = max(keys.get(token.phase, last), last)
        next_token = _next_delta_token(token.phase, changed, size, keys)
    return Page[StockLevel](
        items=await stock_levels(reference, variant_ids),
        next_page=None if next_token is None else next_token.encode(),
        cursor=position.advanced(keys, odoo_now()).encode(),
    )


def _next_delta_token(phase: str, changed: list[_Changed], size: int, keys: dict[str, Key]) -> Token | None:
    """The same phase after the last row while pages are full, then the next phase, then the end."""
    if len(changed) == size:
        return Token(phase=phase, after=(changed[-1].write_date, changed[-1].id), keys=keys)
    order = list(DELTA_PHASES)
    following = order.index(phase) + 1
    return Token(phase=order[following], keys=keys) if following < len(order) else None


async def _variants_of(reference: OdooReference, phase: str, changed: list[_Changed]) -> list[int]:
    """The variants whose stock a page of changed rows may have changed."""
    if phase == QUANTS:
        return list(dict.fromkeys(row.product_id for row in changed if row.product_id is not None))
    if phase == PRODUCTS:
        return [row.id for row in changed]
    if not changed:
        return []
    lines = await reference.rpc.execute_kw(
        "sale.order.line", "search_read", [[("order_id", "in", [row.id for row in changed])], ["product_id"]],
        {"order": "id asc"},
    )
    found = [_Changed.model_validate({**line, "write_date": ""}) for line in lines]
    return list(dict.fromkeys(row.product_id for row in found if row.product_id is not None))


class _Changed(BaseModel):
    """A row a delta phase read: its key, and the variant it is about (quants, order lines)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: int
    product_id: M2oId = None
    write_date: str


async def _newest_keys(reference: OdooReference) -> dict[str, Key]:
    """Each delta phase's newest row: a full stream's cursor (later writes are read next time)."""
    keys: dict[str, Key] = {}
    for phase, (model, _, context) in DELTA_PHASES.items():
        rows = await reference.rpc.execute_kw(
            model, "search_read", [[], ["write_date"]], {"order": "write_date desc, id desc", "limit": 1, **context}
        )
        if rows:
            keys[phase] = row_key(rows[0])
    return keys
