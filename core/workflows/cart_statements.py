"""The cart hot path's SQL: hand-written statements with bound parameters, for SQLite and PostgreSQL.

Building a query through the ORM costs more CPU than executing it, and adding to a cart runs
about ten of them. These statements run through the engine's :func:`core.workflows.statements.fetch`
(``?`` placeholders, ``$n`` on PostgreSQL); rows become model instances the way the ORM makes
them (:func:`load_models`), so the rest of the code sees the same objects. Writes end in
``RETURNING`` so the rows returned count what they changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from tortoise.models import Model

from core.workflows.statements import dump_json, fetch

__all__ = [
    "CLAIM_CART",
    "DELETE_PAYMENT_SESSIONS",
    "SELECT_CART",
    "SELECT_LINE_ITEMS",
    "SELECT_PAYMENT_COLLECTION",
    "SELECT_PAYMENT_SESSIONS",
    "UPDATE_LINE_PRICE",
    "UPDATE_PAYMENT_COLLECTION",
    "LINE_ITEM_COLUMNS",
    "claim_cart_row",
    "insert_line_items",
    "load_models",
    "select_prices",
    "select_sellable_products",
    "select_variants",
    "update_line_price",
    "update_payment_collection",
]

M = TypeVar("M", bound=Model)

SELECT_CART = "SELECT * FROM cart WHERE id = ?"
"""Values: cart id."""

SELECT_LINE_ITEMS = "SELECT * FROM line_item WHERE cart_id = ? ORDER BY created_at, id"
"""Values: cart id."""

SELECT_PAYMENT_COLLECTION = "SELECT * FROM payment_collection WHERE cart_id = ?"
"""Values: cart id."""

SELECT_PAYMENT_SESSIONS = "SELECT * FROM payment_session WHERE collection_id = ? ORDER BY created_at, id"
"""Values: collection id."""

CLAIM_CART = (
    "UPDATE cart SET updated_at = ? WHERE id = ? AND updated_at = ? AND completed_at IS NULL "
    "AND (completing_until IS NULL OR completing_until < ?) RETURNING id"
)
"""Values: new updated_at, cart id, loaded updated_at, now; one row when claimed."""

UPDATE_LINE_PRICE = (
    "UPDATE line_item SET quantity = ?, unit_price = ?, compare_at_unit_price = ?, is_custom_price = ?, "
    "updated_at = ? WHERE id = ? RETURNING id"
)
"""Values: quantity, unit_price, compare_at_unit_price, is_custom_price, updated_at, line id."""

LINE_ITEM_COLUMNS = (
    "id", "cart_id", "title", "subtitle", "thumbnail", "quantity", "unit_price", "compare_at_unit_price",
    "is_custom_price", "is_tax_inclusive", "requires_shipping", "variant_id", "product_id", "product_title",
    "product_description", "product_subtitle", "product_handle", "variant_title", "variant_sku",
    "variant_barcode", "metadata", "created_at", "updated_at",
)  # fmt: skip
"""The columns :func:`insert_line_items` writes (``cart_id`` is the model's ``cart_id`` attribute)."""

UPDATE_PAYMENT_COLLECTION = "UPDATE payment_collection SET amount = ?, currency_code = ? WHERE id = ? RETURNING id"
"""Values: amount, currency_code, collection id."""

DELETE_PAYMENT_SESSIONS = "DELETE FROM payment_session WHERE collection_id = ? RETURNING id"
"""Values: collection id."""


def _marks(count: int) -> str:
    return ", ".join("?" * count)


async def load_models(model: type[M], template: str, values: list[Any]) -> list[M]:
    """The rows of ``template`` (every column of ``model``'s table) as saved model instances."""
    return [model._init_from_db(**row) for row in await fetch(template, values)]


async def select_variants(model: type[M], ids: Sequence[str]) -> list[M]:
    """The variants (not deleted) with these ids."""
    if not ids:
        return []
    template = f"SELECT * FROM product_variant WHERE deleted_at IS NULL AND id IN ({_marks(len(ids))})"
    return await load_models(model, template, list(ids))


async def select_sellable_products(model: type[M], ids: Sequence[str], channel_id: str | None) -> list[M]:
    """The published products (not deleted) with these ids, in the sales channel when one is given."""
    if not ids:
        return []
    template = (
        f"SELECT * FROM product WHERE status = 'published' AND deleted_at IS NULL AND id IN ({_marks(len(ids))})"
    )
    if channel_id is None:
        return await load_models(model, template, list(ids))
    template += " AND id IN (SELECT product_id FROM product_sales_channel WHERE saleschannel_id = ?)"
    return await load_models(model, template, [*ids, channel_id])


async def select_prices(model: type[M], variant_ids: Sequence[str], currency_code: str) -> list[M]:
    """The prices of these variants in one (lower-case) currency."""
    if not variant_ids:
        return []
    template = f"SELECT * FROM price WHERE currency_code = ? AND variant_id IN ({_marks(len(variant_ids))})"
    return await load_models(model, template, [currency_code, *variant_ids])


async def claim_cart_row(cart_id: str, loaded_updated_at: datetime, now: datetime) -> bool:
    """Touch the cart if it is unchanged since loaded and open; True when it was claimed."""
    return bool(await fetch(CLAIM_CART, [now, cart_id, loaded_updated_at, now]))


async def update_line_price(
    line_id: str, quantity: int, unit_price: Decimal, compare_at: Decimal | None, is_custom: bool, now: datetime
) -> None:
    """Write a merged line's new quantity and price."""
    await fetch(UPDATE_LINE_PRICE, [quantity, unit_price, compare_at, is_custom, now, line_id])


async def update_payment_collection(collection_id: str, amount: Decimal, currency_code: str) -> None:
    """Write a payment collection's new amount and currency."""
    await fetch(UPDATE_PAYMENT_COLLECTION, [amount, currency_code, collection_id])


async def insert_line_items(items: Sequence[Model]) -> None:
    """Insert new (unsaved) line items in one statement; they are then marked saved."""
    if not items:
        return
    row = f"({_marks(len(LINE_ITEM_COLUMNS))})"
    template = (
        f"INSERT INTO line_item ({', '.join(LINE_ITEM_COLUMNS)}) VALUES {', '.join([row] * len(items))} RETURNING id"
    )
    values: list[Any] = []
    for item in items:
        values.extend(
            dump_json(getattr(item, column)) if column == "metadata" else getattr(item, column)
            for column in LINE_ITEM_COLUMNS
        )
    await fetch(template, values)
    for item in items:
        item._saved_in_db = True
