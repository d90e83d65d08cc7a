"""The ``delete-line-item`` workflow: remove one line from a cart.

Steps: ``load-cart`` → ``validate-cart`` → ``delete-line-items`` (one transaction). The
``update-line-item`` workflow reuses the last step for a quantity of 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from core.errors import NotFound
from core.models import LineItem
from core.workflows.cart_data import LoadedCart
from core.workflows.cart_locks import cart_lock
from core.workflows.cart_steps import (
    LoadCartInput,
    claim_cart,
    load_cart_step,
    refresh_payment_collection,
    validate_cart,
)
from core.workflows.engine import step, workflow

__all__ = [
    "DeleteLineItemInput",
    "RemoveLineInput",
    "delete_line_item",
    "find_line_item",
    "remove_line_item",
]


def find_line_item(loaded: LoadedCart, line_item_id: str) -> LineItem:
    """The cart's line ``line_item_id``.

    :raises NotFound: when the cart has no such line.
    """
    for line in loaded.items:
        if line.id == line_item_id:
            return line
    raise NotFound(f"Line item with id: {line_item_id} was not found")


@dataclass(frozen=True, slots=True)
class RemoveLineInput:
    loaded: LoadedCart
    line: LineItem


@step("delete-line-items")
async def remove_line_item(input: RemoveLineInput) -> LoadedCart:
    """One transaction: claim the cart, delete the line, refresh the payment collection."""
    loaded = input.loaded
    async with in_transaction():
        await claim_cart(loaded)
        await LineItem.filter(id=input.line.id).delete()
        loaded.items = [line for line in loaded.items if line.id != input.line.id]
        await refresh_payment_collection(loaded)
    return loaded


@dataclass(frozen=True, slots=True)
class DeleteLineItemInput:
    cart_id: str
    line_item_id: str
    customer_id: str | None = None


@workflow("delete-line-item")
async def delete_line_item(input: DeleteLineItemInput) -> LoadedCart:
    """Remove the line; returns the cart as it is after the change."""
    async with cart_lock(input.cart_id):
        loaded = await load_cart_step(LoadCartInput(input.cart_id, input.customer_id))
        await validate_cart(loaded)
        line = find_line_item(loaded, input.line_item_id)
        return await remove_line_item(RemoveLineInput(loaded, line))
