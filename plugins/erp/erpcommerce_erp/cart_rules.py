"""Purchase restriction and ERP stock on add-to-cart and completion; the price re-check at completion.

(To be written: see the issue's items 2–4.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.views import CartView, CustomerView, ItemToAdd

if TYPE_CHECKING:
    from erpcommerce_erp.plugin import ErpPlugin


async def validate_add_to_cart(
    erp: ErpPlugin, cart: CartView, items: list[ItemToAdd], customer: CustomerView | None
) -> None:
    return None


async def validate_complete_cart(erp: ErpPlugin, cart: CartView, customer: CustomerView | None) -> None:
    return None
