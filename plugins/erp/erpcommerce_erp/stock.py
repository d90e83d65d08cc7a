"""The ERP's live stock on add-to-cart and at completion (``check_inventory``).

A variant may be bought up to the ERP's ``qty_available``, unless the ERP allows ordering it out
of stock (``allow_out_of_stock_order``) or does not track its stock (``manage_inventory`` False).
A variant the ERP does not know is left to core's own inventory check. One ERP call per check,
whatever the number of variants.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.inventory import insufficient_inventory
from erpcommerce_erp.gateway import ErpGateway

__all__ = [
    "check_stock",
]


async def check_stock(gateway: ErpGateway, wanted: Mapping[str, int]) -> None:
    """Refuse when the ERP cannot supply a quantity of ``wanted`` (variant external id -> quantity).

    :raises core.errors.NotAllowed: ``insufficient_inventory`` (400).
    :raises core.errors.ErpUnavailable: when the ERP cannot be asked (503).
    """
    if not wanted:
        return
    levels = await gateway.get_stock(list(wanted))
    for external_id, quantity in wanted.items():
        level = levels.get(external_id)
        if level is None or not level.manage_inventory or level.allow_out_of_stock_order:
            continue
        if quantity > level.qty_available:
            raise insufficient_inventory()
