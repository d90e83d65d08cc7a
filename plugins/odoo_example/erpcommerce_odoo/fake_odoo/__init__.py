"""A fake Odoo 17/18 server, faithful enough for real Odoo clients (odoorpc, xmlrpc.client).

Run it with ``python -m erpcommerce_odoo.fake_odoo --port 8069 --seed demo`` (``--seed N``: N
product variants), or in-process: :func:`create_app` returns an aiohttp application (for
``aiohttp_server``) and :class:`FakeOdooThread` serves one from a background thread. Modules:
:mod:`.records`/:mod:`.orm` (the in-memory ORM), :mod:`.domain` (domains), :mod:`.models`,
:mod:`.errors`, :mod:`.services` with :mod:`.jsonrpc`, :mod:`.xmlrpc`, :mod:`.web` (endpoints),
:mod:`.seed`, :mod:`.faults` with :mod:`.transport` and :mod:`.admin`, :mod:`.webhooks`.
"""

from __future__ import annotations

from .background import FakeOdooThread
from .faults import FAULT_NAMES, Fault, Faults
from .server import FakeOdoo, create_app, fake_of

__all__ = [
    "FAULT_NAMES",
    "Fault",
    "FakeOdoo",
    "FakeOdooThread",
    "Faults",
    "create_app",
    "fake_of",
]
