"""The product stream: ``product.template`` changed since the cursor, with variants, options and prices.

Odoo stamps ``write_date`` only on the record written: a variant's new barcode or an archived
variant leaves its template's ``write_date`` alone. So an incremental stream has two phases:
``templates`` (templates written since the cursor) then ``variants`` (the templates of variants
written since the cursor; some come twice, which the idempotent upsert absorbs). A full stream
(no cursor) reads every template once. Archived templates and variants are read too
(``active_test: False``) so the store archives them.

Each page costs three calls (four in the ``variants`` phase), whatever its size: the page's
templates, their variants, their attribute values (PTAVs); categories, pricelists and the company
currency come from :class:`~erpcommerce_odoo.reference.OdooReference`'s cache.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from erpcommerce_erp.contract import ErpProduct, Page
from erpcommerce_odoo.cursors import KEYSET_ORDER, Token, keyset_domain, later, since
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
    token = Token.decode(page, TEMPLATES)
    stamp = since(cursor, reference.settings.cursor_overlap_seconds)
    size = min(limit, reference.settings.page_size)
    model = "product.template" if token.phase == TEMPLATES else "product.product"
    fields = TemplateRecord.FIELDS if token.phase == TEMPLATES else ["product_tmpl_id", "write_date"]
    rows: list[dict[str, Any]] = await rpc.execute_kw(
        model, "search_read", [keyset_domain(stamp, token.after), fields],
        {"order": KEYSET_ORDER, "limit": size, **ALL},
    )
    newest = later(token.cursor, max((str(r["write_date"]) for r in rows), default=None))
    if token.phase == TEMPLATES:
        templates = [TemplateRecord.model_validate(row) for row in rows]
    else:
        variants = [VariantRecord.model_validate(row) for row in rows]
        templates = await _templates({v.product_tmpl_id for v in variants if v.product_tmpl_id is not None}, reference)
    if len(rows) == size:
        last = rows[-1]
        next_token: Token | None = Token(phase=token.phase, after=(str(last["write_date"]), int(last["id"])),
                                         cursor=newest)
    elif token.phase == TEMPLATES and cursor is not None:
        next_token = Token(phase=VARIANTS, cursor=newest)
    else:
        next_token = None
    return Page[ErpProduct](
        items=await products(reference, templates),
        next_page=None if next_token is None else next_token.encode(),
        cursor=newest,
    )


async def count_products(reference: OdooReference, cursor: str | None) -> int:
    """How many templates changed since ``cursor`` (templates of changed variants are not counted)."""
    stamp = since(cursor, reference.settings.cursor_overlap_seconds)
    count = await reference.rpc.execute_kw("product.template", "search_count", [keyset_domain(stamp, None)], ALL)
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
