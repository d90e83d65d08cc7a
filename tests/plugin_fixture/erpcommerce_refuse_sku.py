"""An erpcommerce plugin that refuses to add the variant whose SKU is ``FORBIDDEN-SKU`` to a cart."""

from __future__ import annotations

from core.errors import NotAllowed
from core.hookspecs import hookimpl
from core.views import ItemToAdd

__all__ = [
    "FORBIDDEN_SKU",
    "validate_add_to_cart",
]

FORBIDDEN_SKU = "FORBIDDEN-SKU"


@hookimpl
async def validate_add_to_cart(items: list[ItemToAdd]) -> None:
    """Refuse the whole change when one of the items is the forbidden variant."""
    for item in items:
        if item.variant.sku == FORBIDDEN_SKU:
            raise NotAllowed(f"Variant {item.variant.id} ({FORBIDDEN_SKU}) may not be added to a cart")
