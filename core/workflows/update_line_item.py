"""The ``update-line-item`` workflow: set a line's quantity (0 removes the line).

Steps: ``load-cart`` → ``validate-cart`` → ``get-variants`` → ``validate-add-to-cart`` (hook,
with the line's new quantity) → ``price-line-items`` (hook; a custom-priced line keeps its price unless a plugin re-prices it)
→ ``write-line-item`` (one transaction). A quantity of 0 runs ``delete-line-items`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise import timezone
from tortoise.transactions import in_transaction

from core.models import LineItem
from core.views import ItemToAdd, LinePrice
from core.workflows.cart_data import LoadedCart
from core.workflows.cart_locks import cart_lock
from core.workflows.cart_steps import (
    PRICE_FIELDS,
    GetVariantsInput,
    LoadCartInput,
    claim_cart,
    get_variants,
    hook_input,
    load_cart_step,
    price_line_items,
    refresh_payment_collection,
    set_line_price,
    validate_add_to_cart,
    validate_cart,
    variant_view,
)
from core.workflows.delete_line_item import RemoveLineInput, find_line_item, remove_line_item
from core.workflows.engine import step, workflow

__all__ = [
    "UpdateLineItemInput",
    "update_line_item",
]


@dataclass(frozen=True, slots=True)
class UpdateLineItemInput:
    cart_id: str
    line_item_id: str
    quantity: int
    metadata: dict[str, Any] | None = None
    customer_id: str | None = None


@dataclass(frozen=True, slots=True)
class WriteLineInput:
    loaded: LoadedCart
    line: LineItem
    quantity: int
    metadata: dict[str, Any] | None
    price: LinePrice | None


@step("write-line-item")
async def write_line_item(input: WriteLineInput) -> LoadedCart:
    """One transaction: claim the cart, update the line, refresh the payment collection."""
    line = input.line
    line.quantity = input.quantity
    fields = ["quantity", "updated_at"]
    if input.metadata is not None:
        line.metadata = input.metadata
        fields.append("metadata")
    if input.price is not None:
        set_line_price(line, input.price)
        fields += PRICE_FIELDS
    line.updated_at = timezone.now()
    async with in_transaction():
        await claim_cart(input.loaded)
        await line.save(update_fields=fields)
        await refresh_payment_collection(input.loaded)
    return input.loaded


@workflow("update-line-item")
async def update_line_item(input: UpdateLineItemInput) -> LoadedCart:
    """Change the line's quantity (and metadata); returns the cart as it is after the change."""
    async with cart_lock(input.cart_id):
        loaded = await load_cart_step(LoadCartInput(input.cart_id, input.customer_id))
        await validate_cart(loaded)
        line = find_line_item(loaded, input.line_item_id)
        if input.quantity == 0:
            return await remove_line_item(RemoveLineInput(loaded, line))
        price = None
        if line.variant_id is not None:
            variants = await get_variants(GetVariantsInput((line.variant_id,), loaded.sales_channel_id))
            item = ItemToAdd(
                variant=variant_view(variants[line.variant_id]),
                quantity=input.quantity,
                added_quantity=input.quantity - line.quantity,
                metadata=input.metadata if input.metadata is not None else line.metadata,
                line_item_id=line.id,
                is_custom_price=line.is_custom_price,
            )
            hooks = hook_input(loaded, [item], "quantity-update")
            await validate_add_to_cart(hooks)
            price = (await price_line_items(hooks)).get(line.variant_id)
        return await write_line_item(WriteLineInput(loaded, line, input.quantity, input.metadata, price))
