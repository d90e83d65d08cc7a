"""(being written) routes of openapi."""

from __future__ import annotations

from aiohttp import web

__all__ = [
    "routes",
]

routes = web.RouteTableDef()
