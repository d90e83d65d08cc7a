"""The fake Odoo as an aiohttp application, and :class:`FakeOdoo`, the handle tests use.

``create_app(seed="demo")`` builds a seeded fake; ``app[FAKE]`` (or :func:`fake_of`) is its
:class:`FakeOdoo`: the database, the faults, the webhook sender, and :meth:`FakeOdoo.call` to
read or change data as the admin would over RPC (no credentials, no faults). No I/O happens
until the application starts (the webhook sender's HTTP session lives in a cleanup context).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Iterable

from aiohttp import web

from . import admin, jsonrpc, web as web_routes, xmlrpc
from .api import call_kw
from .faults import Fault, Faults
from .keys import FAKE
from .models import create_database
from .registry import Database
from .security import Security
from .seed import seed_database
from .services import Services
from .transport import transport_faults
from .webhooks import WebhookSender

__all__ = [
    "FakeOdoo",
    "create_app",
    "fake_of",
]

ADMIN_UID = 2


class FakeOdoo:
    """One fake Odoo server's state: database, credentials, faults, webhooks.

    :param seed: ``"demo"``, an int (that many variants), or None (or 0) for the base records only.
    :param version: ``"17.0"`` (default) or ``"18.0"``.
    """

    def __init__(
        self,
        seed: str | int | None = "demo",
        *,
        database: str = "demo",
        login: str = "admin",
        password: str = "admin",
        version: str = "17.0",
        webhook_url: str | None = None,
        faults: Iterable[Fault] = (),
        error_rate: float = 0.0,
        latency: float = 0.0,
        clock: Callable[[], datetime] | None = None,
        webhook_attempts: int = 4,
        webhook_backoff: float = 0.2,
    ) -> None:
        self.db: Database = create_database(database, version, clock)
        seed_database(self.db, 0 if seed is None else seed, login=login, password=password)
        self.login = login
        self.password = password
        self.security = Security(self.db)
        self.faults = Faults(error_rate=error_rate, latency=latency)
        for fault in faults:
            self.faults.add(fault)
        self.webhooks = WebhookSender(webhook_url, attempts=webhook_attempts, backoff=webhook_backoff)
        self.db.listeners.append(self.webhooks.on_change)
        self.services = Services(self.db, self.security, self.faults)

    @property
    def database(self) -> str:
        """The database name."""
        return self.db.name

    def call(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call a public model method as the admin, as ``execute_kw`` would (no faults, no credentials)."""
        return call_kw(self.db[model], method, list(args), kwargs, ADMIN_UID)

    def records(self, model: str) -> dict[int, dict[str, Any]]:
        """The stored records of a model (id → values), to inspect or tweak directly."""
        return self.db[model].records

    def ref(self, xmlid: str) -> int:
        """The id of the record with external id ``module.name``."""
        found = self.db.models["ir.model.data"].resolve(xmlid)  # type: ignore[attr-defined]
        if found is None:
            raise KeyError(xmlid)
        return int(found[1])

    def add_api_key(self, key: str, login: str | None = None) -> None:
        """Accept ``key`` as a password for RPC calls of ``login`` (default: the admin)."""
        for user in self.db.models["res.users"].records.values():
            if user["login"] == (login or self.login):
                user.setdefault("_api_keys", []).append(key)
                return
        raise KeyError(login)


def create_app(seed: str | int | None = "demo", **options: Any) -> web.Application:
    """The fake Odoo application (``options``: see :class:`FakeOdoo`)."""
    fake = FakeOdoo(seed, **options)
    app = web.Application(middlewares=[transport_faults], client_max_size=64 * 1024**2)
    app[FAKE] = fake
    app.router.add_routes(jsonrpc.routes)
    app.router.add_routes(xmlrpc.routes)
    app.router.add_routes(web_routes.routes)
    app.router.add_routes(admin.routes)
    app.cleanup_ctx.append(fake.webhooks.cleanup_ctx)
    return app


def fake_of(app: web.Application) -> FakeOdoo:
    """The :class:`FakeOdoo` of an application made by :func:`create_app`."""
    return app[FAKE]
