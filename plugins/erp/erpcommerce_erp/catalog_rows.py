"""New catalogue rows made by product sync, as plain tuples, and the statements that insert them.

Product sync creates most of the store's catalogue rows (a first full sync of 100k variants makes
about 340k of them: products, options, option values, variants, prices). Each row here is a tuple
in its ``INSERT_*`` statement's column order, with a new prefixed id, written with
:func:`erpcommerce_erp.bulk_sql.execute_many`: no ORM object is built for a new row. The values
are the ones the ORM would store (the models' Python defaults included).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from core.ids import new_id
from core.workflows.statements import dump_json

__all__ = [
    "INSERT_OPTION",
    "INSERT_OPTION_VALUE",
    "INSERT_PRICE",
    "INSERT_PRODUCT",
    "INSERT_VARIANT",
    "Row",
    "option_row",
    "option_value_row",
    "price_row",
    "product_row",
    "variant_row",
]

Row = tuple[Any, ...]
"""A new row: its values in the column order of its ``INSERT_*`` statement, the id first."""

INSERT_PRODUCT = (
    "INSERT INTO product (id, title, subtitle, description, handle, status, thumbnail, is_giftcard, discountable, "
    "external_id, metadata, deleted_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_OPTION = "INSERT INTO product_option (id, product_id, title, created_at, updated_at) VALUES (?, ?, ?, ?, ?)"
INSERT_OPTION_VALUE = (
    "INSERT INTO product_option_value (id, option_id, value, created_at, updated_at) VALUES (?, ?, ?, ?, ?)"
)
INSERT_VARIANT = (
    "INSERT INTO product_variant (id, product_id, title, sku, barcode, external_id, manage_inventory, "
    "allow_backorder, inventory_quantity, variant_rank, metadata, deleted_at, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_PRICE = (
    "INSERT INTO price (id, variant_id, currency_code, amount, min_quantity, max_quantity, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def product_row(fields: dict[str, Any], external_id: str, now: datetime) -> Row:
    """A new product from the planned ``fields`` (title, subtitle, description, thumbnail, handle,
    status, deleted_at, and metadata when the ERP gives one)."""
    return (
        new_id("prod"), fields["title"], fields["subtitle"], fields["description"], fields["handle"],
        fields["status"], fields["thumbnail"], False, True, external_id, dump_json(fields.get("metadata")),
        fields["deleted_at"], now, now,
    )  # fmt: skip


def option_row(product_id: str, title: str, now: datetime) -> Row:
    return new_id("opt"), product_id, title, now, now


def option_value_row(option_id: str, value: str, now: datetime) -> Row:
    return new_id("optval"), option_id, value, now, now


def variant_row(fields: dict[str, Any], external_id: str, now: datetime) -> Row:
    """A new variant from the planned ``fields`` (product_id, title, sku, barcode, variant_rank,
    deleted_at, and metadata when the ERP gives one); no stock managed until the stock stream says."""
    return (
        new_id("variant"), fields["product_id"], fields["title"], fields["sku"], fields["barcode"], external_id,
        False, False, 0, fields["variant_rank"], dump_json(fields.get("metadata")), fields["deleted_at"], now, now,
    )  # fmt: skip


def price_row(
    variant_id: str, currency_code: str, amount: Decimal, min_quantity: int | None, max_quantity: int | None,
    now: datetime,
) -> Row:  # fmt: skip
    return new_id("price"), variant_id, currency_code, amount, min_quantity, max_quantity, now, now
