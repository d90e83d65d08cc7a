"""The price stream: variants whose store price changed since the cursor, each with its whole price list.

The store's prices come from the public pricelist (:mod:`erpcommerce_odoo.store_prices`), whose
rules (``product.pricelist.item``) change without touching any product. A change is a rule of the
public pricelist, or of a pricelist it is based on, that was written after the cursor's last rule
(``(write_date, id)``, see :mod:`erpcommerce_odoo.cursors`) or whose
``date_start`` / ``date_end`` passed since the last sync; it reaches the variants it applies to
(one variant, a template's, a category's and its subcategories', or all). The variants are
paged by id. A full stream (no cursor) prices every variant.

Deleting a rule leaves no trace Odoo can be asked about: it reaches the store with the next
change to those variants or a ``--full`` sync. List price changes come with the product stream.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from core.errors import InvalidData
from erpcommerce_erp.contract import Page, VariantPrices
from erpcommerce_odoo.cursors import Key, Token, odoo_now, resume_domain, settled
from erpcommerce_odoo.records import PricelistItem, VariantRecord
from erpcommerce_odoo.reference import ALL, OdooReference, descendants
from erpcommerce_odoo.store_prices import store_prices

__all__ = [
    "list_price_changes",
]

PHASE = "variants"
RULES = "rules"
CHANGE_FIELDS = ["pricelist_id", "applied_on", "categ_id", "product_tmpl_id", "product_id", "write_date"]


class PriceCursor(BaseModel):
    """The price stream's position: the last rule read, and when the date windows were checked.

    :ivar written: the last rule's ``(write_date, id)`` (a bare stamp in older cursors: read from it,
        inclusive); the next sync reads the rules written after it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    written: tuple[str, int] | str | None = None
    checked: str

    @classmethod
    def decode(cls, cursor: str | None) -> PriceCursor | None:
        if cursor is None:
            return None
        try:
            return cls.model_validate_json(cursor)
        except ValidationError:
            raise InvalidData(f"Not an Odoo price cursor: {cursor[:80]!r}") from None


async def list_price_changes(
    reference: OdooReference, cursor: str | None, page: str | None, limit: int
) -> Page[VariantPrices]:
    """One page of the price stream (see the module doc)."""
    position = PriceCursor.decode(cursor)
    token = Token.decode(page, PHASE)
    started = token.started or odoo_now()
    public = await reference.public_pricelist_id()
    if public is None:
        # No pricelist: the store's prices are list prices, which the product stream carries.
        return Page[VariantPrices](items=[], cursor=PriceCursor(checked=started).model_dump_json())
    if page is None:
        await reference.book([public], fresh=True)  # this sync reads the rules as they are now
    scope, newest = await _changed_variants(reference, public, position, started)
    keys = dict(token.keys or {})
    if newest is not None:
        keys[RULES] = settled(max(keys.get(RULES, newest), newest), odoo_now())
    next_cursor = PriceCursor(written=keys.get(RULES) or (position.written if position else None), checked=started)
    if scope is None:
        return Page[VariantPrices](items=[], cursor=next_cursor.model_dump_json())
    size = min(limit, reference.settings.page_size)
    after_id = token.after[1] if token.after else 0
    rows = await reference.rpc.execute_kw(
        "product.product", "search_read", [[*scope, ("id", ">", after_id)], VariantRecord.FIELDS],
        {"order": "id asc", "limit": size},
    )
    variants = [VariantRecord.model_validate(row) for row in rows]
    prices = await store_prices(reference, variants)
    next_token = (
        Token(phase=PHASE, after=("", variants[-1].id), keys=keys, started=started)
        if len(rows) == size else None
    )
    return Page[VariantPrices](
        items=[VariantPrices(variant_external_id=str(v.id), prices=prices[v.id]) for v in variants if v.id in prices],
        next_page=None if next_token is None else next_token.encode(),
        cursor=next_cursor.model_dump_json(),
    )


async def _changed_variants(
    reference: OdooReference, public: int, position: PriceCursor | None, started: str
) -> tuple[list[Any] | None, Key | None]:
    """The product.product domain of the variants to re-price (None: none) and the last rule's key."""
    book = await reference.book([public])
    if position is None:
        rules = [item for pricelist in book.pricelists.values() for item in pricelist.items]
        return [], max(((i.write_date, i.id) for i in rules if i.write_date), default=None)
    # No rule had been read (there was none): rules written since that sync started count.
    written = resume_domain(position.written or position.checked, reference.settings.cursor_overlap_seconds)
    checked = position.checked
    windows: list[Any] = [
        "|", "&", ("date_start", ">", checked), ("date_start", "<=", started),
        "&", ("date_end", ">=", checked), ("date_end", "<", started),
    ]
    changed_since = ["|", *written, *windows]
    rows = await reference.rpc.execute_kw(
        "product.pricelist.item", "search_read",
        [[("pricelist_id", "in", sorted(book.pricelists)), *changed_since], CHANGE_FIELDS], ALL,
    )
    items = [PricelistItem.model_validate(row) for row in rows]
    # Rules read for their date window may be older than the cursor: it never goes back.
    keys = [(i.write_date, i.id) for i in items if i.write_date]
    if isinstance(position.written, tuple):
        keys.append(position.written)
    newest = max(keys, default=None)
    if not items:
        return None, newest
    if any(i.applied_on == "3_global" for i in items):
        return [], newest
    variant_ids = {i.product_id for i in items if i.applied_on == "0_product_variant" and i.product_id}
    template_ids = {i.product_tmpl_id for i in items if i.applied_on == "1_product" and i.product_tmpl_id}
    category_roots = {i.categ_id for i in items if i.applied_on == "2_product_category" and i.categ_id}
    categories = descendants(await reference.categories(), category_roots) if category_roots else set()
    leaves = [
        leaf for leaf in (
            ("id", "in", sorted(variant_ids)) if variant_ids else None,
            ("product_tmpl_id", "in", sorted(template_ids)) if template_ids else None,
            ("categ_id", "in", sorted(categories)) if categories else None,
        ) if leaf is not None
    ]
    if not leaves:
        return None, newest
    return ["|"] * (len(leaves) - 1) + leaves, newest
