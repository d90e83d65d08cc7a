"""The fake's application state key."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from .server import FakeOdoo

__all__ = [
    "FAKE",
]

FAKE: web.AppKey[FakeOdoo] = web.AppKey("fake_odoo")
