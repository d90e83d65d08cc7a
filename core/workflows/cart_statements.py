"""The cart hot path's SQL: hand-written statements with bound parameters, for SQLite and PostgreSQL.

Building a query through the ORM costs more CPU than executing it, and every statement is a round
trip (on SQLite a hop to aiosqlite's thread): adding to a cart reads the cart with its addresses
and payment collection in one statement (:func:`select_cart_row`), its line items in another, the
variants with their products and whether each is sellable in one (:func:`select_variant_rows`),
and the prices in one. These statements run through the engine's :func:`core.workflows.statements.fetch`
(``?`` placeholders, ``$n`` on PostgreSQL); rows become model instances the way the ORM makes
them (:func:`load_models`, :func:`model_from_row`), so the rest of the code sees the same objects.
Writes end in ``RETURNING`` so the rows returned count what they changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

from tortoise.fields import DatetimeField
from tortoise.models import Model

from core.workflows.statements import dump_json, fetch

__all__ = [
    "CLAIM_CART",
    "DELETE_PAYMENT_SESSIONS",
    "LINE_ITEM_COLUMNS",
    "SELECT_LINE_ITEMS",
    "SELECT_PAYMENT_SESSIONS",
    "UPDATE_LINE_PRICE",
    "UPDATE_PAYMENT_COLLECTION",
    "claim_cart_row",
    "insert_line_items",
    "load_models",
    "model_from_row",
    "select_cart_row",
    "select_prices",
    "select_variant_rows",
    "update_line_price",
    "update_payment_collection",
]

M = TypeVar("M", bound=Model)

SELECT_LINE_ITEMS = "SELECT * FROM line_item WHERE cart_id = ? ORDER BY created_at, id"
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


@cache
def _columns(model: type[Model]) -> tuple[tuple[str, ...], frozenset[str]]:
    """The table's columns as :meth:`Model._init_from_db` takes them, and which of them hold datetimes."""
    meta = model._meta
    fields = [*meta.db_native_fields, *meta.db_default_fields, *meta.db_complex_fields]
    datetimes = frozenset(column for column, _, field in meta.db_complex_fields if isinstance(field, DatetimeField))
    return tuple(column for column, _, _ in fields), datetimes


def _parse_datetimes(values: dict[str, Any], columns: frozenset[str]) -> dict[str, Any]:
    """SQLite's datetime texts parsed with the C parser (the ORM's pure-Python one costs ~10 us each)."""
    for column in columns:
        value = values[column]
        if isinstance(value, str):
            try:
                values[column] = datetime.fromisoformat(value)
            except ValueError:
                pass  # left to the ORM's parser
    return values


@cache
def projection(model: type[Model], alias: str) -> str:
    """``model``'s columns from the table aliased ``alias``, named ``<alias>__<column>`` (for joins)."""
    return ", ".join(f'{alias}."{column}" AS "{alias}__{column}"' for column in _columns(model)[0])


def model_from_row(model: type[M], row: dict[str, Any], alias: str) -> M | None:
    """The ``alias`` part of a joined row (see :func:`projection`) as a saved model; None when NULL."""
    columns, datetimes = _columns(model)
    prefix = f"{alias}__"
    if row[prefix + "id"] is None:
        return None
    values = {column: row[prefix + column] for column in columns}
    return model._init_from_db(**_parse_datetimes(values, datetimes))


async def load_models(model: type[M], template: str, values: list[Any]) -> list[M]:
    """The rows of ``template`` (every column of ``model``'s table) as saved model instances."""
    datetimes = _columns(model)[1]
    return [model._init_from_db(**_parse_datetimes(row, datetimes)) for row in await fetch(template, values)]


async def select_cart_row(
    cart: type[Model], address: type[Model], collection: type[Model], cart_id: str
) -> dict[str, Any] | None:
    """One statement: the cart (alias ``c``) with its shipping and billing addresses (``sa``, ``ba``)
    and its payment collection (``pc``) in one row; None: no such cart. (Its line items are read
    apart, :data:`SELECT_LINE_ITEMS`: joined, every item's row would repeat the cart's columns.)"""
    template = (
        f"SELECT {projection(cart, 'c')}, {projection(address, 'sa')}, {projection(address, 'ba')}, "
        f"{projection(collection, 'pc')} FROM cart c "
        "LEFT JOIN address sa ON sa.id = c.shipping_address_id "
        "LEFT JOIN address ba ON ba.id = c.billing_address_id "
        "LEFT JOIN payment_collection pc ON pc.cart_id = c.id "
        "WHERE c.id = ?"
    )
    rows = await fetch(template, [cart_id])
    return rows[0] if rows else None


async def select_variant_rows(
    variant: type[Model], product: type[Model], ids: Sequence[str], channel_id: str | None
) -> list[dict[str, Any]]:
    """One statement: the variants (not deleted, alias ``v``) with their product (``p``) and
    ``sellable``: the product is published, not deleted, and in the sales channel when one is given."""
    if not ids:
        return []
    sellable = "p.status = 'published' AND p.deleted_at IS NULL"
    values: list[Any] = []
    if channel_id is not None:
        sellable += (
            " AND EXISTS (SELECT 1 FROM product_sales_channel psc "
            "WHERE psc.product_id = p.id AND psc.saleschannel_id = ?)"
        )
        values.append(channel_id)
    template = (
        f"SELECT {projection(variant, 'v')}, {projection(product, 'p')}, "
        f"CASE WHEN {sellable} THEN 1 ELSE 0 END AS sellable "
        "FROM product_variant v LEFT JOIN product p ON p.id = v.product_id "
        f"WHERE v.deleted_at IS NULL AND v.id IN ({_marks(len(ids))})"
    )
    return await fetch(template, [*values, *ids])


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
