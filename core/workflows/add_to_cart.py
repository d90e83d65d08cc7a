"""The ``add-to-cart`` workflow: add variants to a cart, merging with matching lines.

Steps: ``load-cart`` → ``validate-cart`` → ``get-variants`` → ``validate-add-to-cart`` (hook) →
``price-line-items`` (hook) → ``write-line-items`` (one transaction). An item merges into an
existing line of the same variant whose metadata matches and that has no custom price (Medusa's
rule: a custom line item only with a custom-priced line); the merged line is re-priced at its new
quantity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from tortoise import timezone
from tortoise.transactions import in_transaction

from core.models import LineItem, ProductVariant
from core.views import ItemToAdd, LinePrice, PricingPurpose
from core.workflows.cart_data import LoadedCart
from core.workflows.cart_locks import cart_lock
from core.workflows.cart_steps import (
    GetVariantsInput,
    LoadCartInput,
    claim_cart,
    get_variants,
    hook_input,
    load_cart_step,
    new_line_item,
    price_line_items,
    refresh_payment_collection,
    set_line_price,
    validate_add_to_cart,
    validate_cart,
    variant_view,
)
from core.workflows.cart_statements import insert_line_items, update_line_price
from core.workflows.engine import step, workflow

__all__ = [
    "AddToCartInput",
    "PlannedLine",
    "RequestedItem",
    "add_to_cart",
    "add_planned_lines",
    "plan_lines",
    "validate_and_price",
]


@dataclass(frozen=True, slots=True)
class RequestedItem:
    variant_id: str
    quantity: int
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class AddToCartInput:
    """Items to add. ``custom_prices``: the items are custom line items, priced by a plugin (an ERP).

    A custom line item merges only with custom-priced lines, a standard one only with standard
    lines; either way the merged line is re-priced at its new quantity.
    """

    cart_id: str
    items: tuple[RequestedItem, ...]
    customer_id: str | None = None
    custom_prices: bool = False


@dataclass(slots=True)
class PlannedLine:
    """What one requested item becomes: a new line or more quantity on an existing one."""

    variant: ProductVariant
    quantity: int
    added_quantity: int
    metadata: dict[str, Any] | None
    custom_price: bool
    existing: LineItem | None = None

    def view(self) -> ItemToAdd:
        return ItemToAdd(
            variant=variant_view(self.variant),
            quantity=self.quantity,
            added_quantity=self.added_quantity,
            metadata=self.metadata,
            line_item_id=None if self.existing is None else self.existing.id,
            is_custom_price=self.custom_price,
        )

    def matches(self, variant_id: str, metadata: dict[str, Any] | None) -> bool:
        return self.variant.id == variant_id and _same_metadata(self.metadata, metadata)


def _same_metadata(left: dict[str, Any] | None, right: dict[str, Any] | None) -> bool:
    return (left or {}) == (right or {})


def _matching_line(items: Sequence[LineItem], requested: RequestedItem, custom_price: bool) -> LineItem | None:
    for line in items:
        if (
            line.variant_id == requested.variant_id
            and _same_metadata(line.metadata, requested.metadata)
            and line.is_custom_price == custom_price
        ):
            return line
    return None


def plan_lines(
    loaded: LoadedCart,
    requested: Sequence[RequestedItem],
    variants: Mapping[str, ProductVariant],
    *,
    custom_prices: bool = False,
) -> list[PlannedLine]:
    """Merge the requested items with each other and with the cart's matching lines."""
    planned: list[PlannedLine] = []
    for item in requested:
        same = next((p for p in planned if p.matches(item.variant_id, item.metadata)), None)
        if same is not None:
            same.quantity += item.quantity
            same.added_quantity += item.quantity
            continue
        existing = _matching_line(loaded.items, item, custom_prices)
        base = 0 if existing is None else existing.quantity
        planned.append(
            PlannedLine(
                variant=variants[item.variant_id],
                quantity=base + item.quantity,
                added_quantity=item.quantity,
                metadata=item.metadata,
                custom_price=custom_prices,
                existing=existing,
            )
        )
    return planned


async def add_planned_lines(loaded: LoadedCart, plan: Sequence[PlannedLine], prices: Mapping[str, LinePrice]) -> None:
    """Inside the cart's write transaction: create the new lines, update the merged ones."""
    now = timezone.now()
    created: list[LineItem] = []
    updated: list[LineItem] = []
    for line in plan:
        price = prices[line.variant.id]
        if line.existing is None:
            created.append(new_line_item(loaded.id, line.variant, line.quantity, price, line.metadata))
            continue
        existing = line.existing
        existing.quantity = line.quantity
        set_line_price(existing, price)
        existing.updated_at = now
        updated.append(existing)
    await insert_line_items(created)
    loaded.items.extend(created)
    for line_item in updated:
        await update_line_price(
            line_item.id,
            line_item.quantity,
            line_item.unit_price,
            line_item.compare_at_unit_price,
            line_item.is_custom_price,
            now,
        )


async def validate_and_price(
    loaded: LoadedCart, plan: Sequence[PlannedLine], *, custom_prices: bool = False
) -> Mapping[str, LinePrice]:
    """Run the ``validate-add-to-cart`` and ``price-line-items`` steps on the planned lines."""
    hooks = hook_input(loaded, [line.view() for line in plan])
    await validate_add_to_cart(hooks)
    purpose: PricingPurpose = "custom-line-item" if custom_prices else "line-item"
    return await price_line_items(replace(hooks, purpose=purpose))


@dataclass(frozen=True, slots=True)
class WriteLinesInput:
    loaded: LoadedCart
    plan: tuple[PlannedLine, ...]
    prices: Mapping[str, LinePrice]


@step("write-line-items")
async def write_line_items(input: WriteLinesInput) -> LoadedCart:
    """One transaction: claim the cart, write the lines, refresh the payment collection."""
    async with in_transaction():
        await claim_cart(input.loaded)
        await add_planned_lines(input.loaded, input.plan, input.prices)
        await refresh_payment_collection(input.loaded)
    return input.loaded


@workflow("add-to-cart")
async def add_to_cart(input: AddToCartInput) -> LoadedCart:
    """Add ``input.items`` to the cart; returns the cart as it is after the change."""
    async with cart_lock(input.cart_id):
        loaded = await load_cart_step(LoadCartInput(input.cart_id, input.customer_id))
        await validate_cart(loaded)
        variant_ids = tuple(item.variant_id for item in input.items)
        variants = await get_variants(GetVariantsInput(variant_ids, loaded.sales_channel_id))
        plan = plan_lines(loaded, input.items, variants, custom_prices=input.custom_prices)
        prices = await validate_and_price(loaded, plan, custom_prices=input.custom_prices)
        return await write_line_items(WriteLinesInput(loaded, tuple(plan), prices))
