"""The product stream: ``product.template`` changed since the cursor, with variants, options and prices.

Odoo stamps ``write_date`` only on the record written: a variant's new barcode or an archived
variant leaves its template's ``write_date`` alone. So an incremental stream has two phases:
``templates`` (templates written since the cursor) then ``variants`` (the templates of variants
written since the cursor; some come twice, which the idempotent upsert absorbs). Each phase
resumes after its own key in the cursor (:mod:`erpcommerce_odoo.cursors`). A full stream (no
cursor) reads every template once, and starts the variants' key at the newest variant (one more
call, on its first page). Archived templates and variants are read too (``active_test: False``) so
the store archives them.

Each page costs three calls (four in the ``variants`` phase), whatever its size: the page's
templates, their variants, their attribute values (PTAVs); categories, pricelists and the company
currency come from :class:`~erpcommerce_odoo.reference.OdooReference`'s cache.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from erpcommerce_erp.contract import ErpProduct, Page
from erpcommerce_odoo.cursors import (
    KEYSET_ORDER,
    Cursor,
    Key,
    Token,
    keyset_domain,
    odoo_now,
    resume_domain,
    row_key,
)
from erpcommerce_odoo.mapping import erp_product
from erpcommerce_odoo.records import TemplateRecord, TemplateValue, VariantRecord
from erpcommerce_odoo.reference import ALL, OdooReference
from erpcommerce_odoo.store_prices import store_prices

__all__ = [
    "count_products",
    "list_products",
]

TEMPLATES = "templates"
VARIANTS = "variants"


async def list_products(reference: OdooReference, cursor: str | None, page: str | None, limit: int) -> Page[ErpProduct]:
    """One page of the product stream (see the module doc)."""
    rpc = reference.rpc
    position = Cursor.decode(cursor)
    token = Token.decode(page, TEMPLATES)
    keys = dict(token.keys or {})
    if cursor is None and page is None:
        # A full stream reads every template; variants written from now on are the next delta's.
        newest_variant = await _newest_variant(reference)
        if newest_variant is not None:
            keys[VARIANTS] = newest_variant
    size = min(limit, reference.settings.page_size)
    model = "product.template" if token.phase == TEMPLATES else "product.product"
    fields = TemplateRecord.FIELDS if token.phase == TEMPLATES else ["product_tmpl_id", "write_date"]
    domain = keyset_domain(position.mark(token.phase), token.after, reference.settings.cursor_overlap_seconds)
    rows: list[dict[str, Any]] = await rpc.execute_kw(
        model, "search_read", [domain, fields], {"order": KEYSET_ORDER, "limit": size, **ALL},
    )
    if rows:
        last = row_key(rows[-1])
        keys[token.phase] = max(keys.get(token.phase, last), last)
    if token.phase == TEMPLATES:
        templates = [TemplateRecord.model_validate(row) for row in rows]
    else:
        variants = [VariantRecord.model_validate(row) for row in rows]
        templates = await _templates({v.product_tmpl_id for v in variants if v.product_tmpl_id is not None}, reference)
    if len(rows) == size:
        next_token: Token | None = Token(phase=token.phase, after=row_key(rows[-1]), keys=keys)
    elif token.phase == TEMPLATES and cursor is not None:
        next_token = Token(phase=VARIANTS, keys=keys)
    else:
        next_token = None
    return Page[ErpProduct](
        items=await products(reference, templates),
        next_page=None if next_token is None else next_token.encode(),
        cursor=position.advanced(keys, odoo_now()).encode(),
    )


async def count_products(reference: OdooReference, cursor: str | None) -> int:
    """How many templates changed since ``cursor`` (templates of changed variants are not counted)."""
    domain = resume_domain(Cursor.decode(cursor).mark(TEMPLATES), reference.settings.cursor_overlap_seconds)
    count = await reference.rpc.execute_kw("product.template", "search_count", [domain], ALL)
    if not isinstance(count, int) or count < 0:
        raise ValueError(f"Odoo answered search_count with {count!r}")
    return count


async def products(reference: OdooReference, templates: list[TemplateRecord]) -> list[ErpProduct]:
    """``templates`` as products, with their variants (one call), PTAVs (one call) and store prices."""
    if not templates:
        return []
    rpc = reference.rpc
    ids = [t.id for t in templates]
    variant_rows = await rpc.execute_kw(
        "product.product", "search_read", [[("product_tmpl_id", "in", ids)], VariantRecord.FIELDS],
        {"order": "id asc", **ALL},
    )
    variants = [VariantRecord.model_validate(row) for row in variant_rows]
    value_rows = await rpc.execute_kw(
        "product.template.attribute.value", "search_read", [[("product_tmpl_id", "in", ids)], TemplateValue.FIELDS],
        {"order": "id asc", **ALL},
    )
    values = {v.id: v for v in (TemplateValue.model_validate(row) for row in value_rows)}
    prices = await store_prices(reference, (v for v in variants if v.active))
    by_template: dict[int, list[VariantRecord]] = defaultdict(list)
    for variant in variants:
        by_template[variant.product_tmpl_id or 0].append(variant)
    return [erp_product(t, by_template[t.id], values, prices) for t in templates]


async def _templates(ids: set[int], reference: OdooReference) -> list[TemplateRecord]:
    if not ids:
        return []
    rows = await reference.rpc.execute_kw(
        "product.template", "search_read", [[("id", "in", sorted(ids))], TemplateRecord.FIELDS],
        {"order": "id asc", **ALL},
    )
    return [TemplateRecord.model_validate(row) for row in rows]


async def _newest_variant(reference: OdooReference) -> Key | None:
    """The newest variant's key, archived ones included (None: no variant)."""
    rows = await reference.rpc.execute_kw(
        "product.product", "search_read", [[], ["write_date"]],
        {"order": "write_date desc, id desc", "limit": 1, **ALL},
    )
    return row_key(rows[0]) if rows else None
