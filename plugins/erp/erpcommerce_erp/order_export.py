"""Order -> ERP. (To be written.)"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from erpcommerce_erp.plugin import ErpPlugin


async def handle_event(erp: ErpPlugin, name: str, payload: dict[str, Any], event_id: str) -> None:
    return None
