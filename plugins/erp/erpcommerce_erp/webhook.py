"""POST /erp/order-updates. (To be written.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from erpcommerce_erp.plugin import ErpPlugin


def add_routes(erp: ErpPlugin, app: web.Application) -> None:
    return None
