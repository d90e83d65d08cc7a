"""Product sync from the ERP. (To be written.)"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from erpcommerce_erp.plugin import ErpPlugin


def jobs(erp: ErpPlugin) -> list[Any]:
    return []


def syncs(erp: ErpPlugin) -> list[Any]:
    return []
