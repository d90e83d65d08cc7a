"""(being written) routes of admin/customers."""

from __future__ import annotations

from aiohttp import web

__all__ = [
    "routes",
]

routes = web.RouteTableDef()
