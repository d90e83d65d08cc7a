"""Helpers to run the fake Odoo in tests.

- in-process on the test's loop: ``app = create_app("demo")`` then ``await aiohttp_server(app)``
  (or ``aiohttp_client(app)``); ``fake_of(app)`` gives the data and the faults;
- in a background thread, for blocking clients (odoorpc, xmlrpc.client):
  ``with FakeOdooThread("demo") as server: ... server.url, server.port, server.fake``;
- the fixtures below: ``fake_odoo`` (a seeded :class:`FakeOdoo`, no server) and
  ``fake_odoo_thread`` (a served demo fake, one per test).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from erpcommerce_odoo.fake_odoo import FakeOdoo, FakeOdooThread, create_app, fake_of

__all__ = [
    "DB",
    "LOGIN",
    "PASSWORD",
    "FakeOdooThread",
    "create_app",
    "fake_odoo",
    "fake_odoo_thread",
    "fake_of",
    "jsonrpc_body",
]

DB, LOGIN, PASSWORD = "demo", "admin", "admin"


def jsonrpc_body(params: dict[str, Any], request_id: int = 1) -> dict[str, Any]:
    """A JSON-RPC 2.0 request body as Odoo clients send it."""
    return {"jsonrpc": "2.0", "method": "call", "params": params, "id": request_id}


@pytest.fixture
def fake_odoo() -> FakeOdoo:
    """A fake Odoo with the demo catalogue, without a server."""
    return FakeOdoo("demo")


@pytest.fixture
def fake_odoo_thread() -> Iterator[FakeOdooThread]:
    """A demo fake Odoo served from a background thread on a free port."""
    with FakeOdooThread("demo") as server:
        yield server
