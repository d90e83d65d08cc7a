"""(being written) routes of auth."""

from __future__ import annotations

from aiohttp import web

__all__ = [
    "routes",
]

routes = web.RouteTableDef()
