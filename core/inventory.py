"""Core's inventory rules: ``trylast`` hook implementations and the decrement at completion.

A variant with ``manage_inventory`` and without ``allow_backorder`` cannot be bought beyond its
``inventory_quantity``. The hooks check it early (adding to the cart, before completion); the
completion transaction checks it again under row locks while it decrements the stock, so two
carts can never both take the last unit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from core.errors import NotAllowed
from core.hookspecs import hookimpl
from core.models import ProductVariant
from core.views import CartView, ItemToAdd

__all__ = [
    "INSUFFICIENT_INVENTORY",
    "cart_quantities",
    "decrement_inventory",
    "insufficient_inventory",
    "validate_add_to_cart",
    "validate_complete_cart",
]

INSUFFICIENT_INVENTORY = "Some variant does not have the required inventory"


def insufficient_inventory() -> NotAllowed:
    """Medusa's error for missing stock (400 ``not_allowed``, code ``insufficient_inventory``)."""
    return NotAllowed(INSUFFICIENT_INVENTORY, code="insufficient_inventory")


def cart_quantities(cart: CartView, items: Iterable[ItemToAdd]) -> Counter[str]:
    """Per variant: the quantity the cart will hold once ``items`` are applied."""
    items = list(items)
    changed = {item.line_item_id for item in items if item.line_item_id is not None}
    wanted: Counter[str] = Counter()
    for line in cart.items:
        if line.variant_id is not None and line.id not in changed:
            wanted[line.variant_id] += line.quantity
    for item in items:
        wanted[item.variant.id] += item.quantity
    return wanted


@hookimpl(trylast=True)
def validate_add_to_cart(cart: CartView, items: list[ItemToAdd]) -> None:
    """Refuse items whose variant's stock cannot cover what the cart would then hold."""
    wanted = cart_quantities(cart, items)
    for item in items:
        variant = item.variant
        if variant.manage_inventory and not variant.allow_backorder:
            if wanted[variant.id] > variant.inventory_quantity:
                raise insufficient_inventory()


@hookimpl(trylast=True)
async def validate_complete_cart(cart: CartView) -> None:
    """Refuse to complete a cart whose items the stock cannot cover (one query)."""
    wanted: Counter[str] = Counter()
    for line in cart.items:
        if line.variant_id is not None:
            wanted[line.variant_id] += line.quantity
    if not wanted:
        return
    stock = await ProductVariant.filter(
        id__in=list(wanted), manage_inventory=True, allow_backorder=False
    ).values_list("id", "inventory_quantity")
    if any(wanted[variant_id] > quantity for variant_id, quantity in stock):
        raise insufficient_inventory()


async def decrement_inventory(quantities: Mapping[str, int]) -> int:
    """Inside the order transaction: lock the managed variants, re-check, take the quantities.

    Rows are locked in id order (``SELECT ... FOR UPDATE`` on PostgreSQL) so concurrent
    completions cannot deadlock; one UPDATE writes every new quantity.

    :return: how many variants' stock changed.
    :raises NotAllowed: ``insufficient_inventory`` when some variant no longer has the stock.
    """
    if not quantities:
        return 0
    variants = (
        await ProductVariant.filter(id__in=list(quantities), manage_inventory=True)
        .order_by("id")
        .select_for_update()
        .only("id", "inventory_quantity", "allow_backorder")
    )
    for variant in variants:
        wanted = quantities[variant.id]
        if not variant.allow_backorder and wanted > variant.inventory_quantity:
            raise insufficient_inventory()
        variant.inventory_quantity -= wanted
    if variants:
        await ProductVariant.bulk_update(variants, fields=["inventory_quantity"])
    return len(variants)
