"""(being written) routes of store/orders."""

from __future__ import annotations

from aiohttp import web

__all__ = [
    "routes",
]

routes = web.RouteTableDef()
