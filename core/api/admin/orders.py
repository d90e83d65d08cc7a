"""(being written) routes of admin/orders."""

from __future__ import annotations

from aiohttp import web

__all__ = [
    "routes",
]

routes = web.RouteTableDef()
