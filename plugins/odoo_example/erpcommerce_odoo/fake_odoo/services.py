"""The RPC services behind ``/jsonrpc`` and ``/xmlrpc/2/*``: ``common``, ``db`` and ``object``.

:class:`Services` is Odoo's ``dispatch_rpc``: the same calls, results and exceptions whatever the
protocol; each endpoint module only turns them into its own wire format.
"""

from __future__ import annotations

from collections import Counter, deque
from typing import Any

from .api import call_kw
from .errors import AccessDenied
from .faults import Faults
from .registry import Database
from .security import Security

__all__ = [
    "Services",
    "version_info",
]


def version_info(version: str) -> dict[str, Any]:
    """What ``common.version()`` and ``/web/webclient/version_info`` answer."""
    serie = version.split("+")[0]
    major, _, minor = serie.split("~")[-1].partition(".")
    return {
        "server_version": version,
        "server_version_info": [int(major), int(minor or 0), 0, "final", 0, ""],
        "server_serie": serie,
        "protocol_version": 1,
    }


class Services:
    """Dispatches ``(service, method, args)`` as Odoo does."""

    #: How many object calls :attr:`call_log` keeps (the most recent ones).
    CALL_LOG_SIZE = 10_000

    def __init__(self, db: Database, security: Security, faults: Faults) -> None:
        self.db = db
        self.security = security
        self.faults = faults
        # Object calls that reached a model (transport faults answer before): per "model.method",
        # and the latest ones with their arguments, so a drill can tell which pages were read.
        self.calls: Counter[str] = Counter()
        self.call_log: deque[dict[str, Any]] = deque(maxlen=self.CALL_LOG_SIZE)

    def dispatch(self, service: str, method: str, args: list[Any]) -> Any:
        """Run one RPC call; raises Odoo's exceptions (and Python's, for bad arguments)."""
        handlers = {"common": self._common, "db": self._db, "object": self._object}
        return handlers[service](method, list(args or []))

    # common -------------------------------------------------------------------------------------

    def _common(self, method: str, args: list[Any]) -> Any:
        if method == "version":
            return version_info(self.db.version)
        if method == "login":
            return self.login(*args[:3])
        if method == "authenticate":
            return self.login(*args[:3])
        if method == "about":
            info = "See http://openerp.com"
            return [info, self.db.version] if args and args[0] else info
        raise Exception(f"Method not found: {method}")

    def login(self, db_name: Any, login: Any, password: Any) -> int | bool:
        """The uid, or False for bad credentials or during a cooldown (as ``common.login``)."""
        if self.faults.trip("auth_fail_login") or self.faults.trip("login_cooldown"):
            return False
        try:
            return self.security.authenticate(db_name, login, password)
        except AccessDenied:
            return False

    # db -----------------------------------------------------------------------------------------

    def _db(self, method: str, args: list[Any]) -> Any:
        if method == "list":
            return [self.db.name]
        if method == "server_version":
            return self.db.version
        if method == "db_exist":
            return bool(args) and args[0] == self.db.name
        if method == "list_lang":
            return [["en_US", "English (US)"]]
        raise Exception(f"Method not found: {method}")

    # object -------------------------------------------------------------------------------------

    def _object(self, method: str, args: list[Any]) -> Any:
        if method == "execute":
            db_name, uid, password, model, name, *rest = args
            return self.execute_kw(db_name, uid, password, model, name, rest, {})
        if method == "execute_kw":
            db_name, uid, password, model, name, *rest = args
            call_args = rest[0] if rest else []
            kwargs = rest[1] if len(rest) > 1 else {}
            return self.execute_kw(db_name, uid, password, model, name, call_args, kwargs or {})
        raise NameError(f"Method not available {method}")

    def execute_kw(
        self, db_name: Any, uid: Any, password: Any, model: str, method: str, args: list[Any], kwargs: dict[str, Any]
    ) -> Any:
        """Check the credentials, then call ``model.method`` (``object.execute_kw``)."""
        self.security.check(db_name, uid, password)
        return self.call(int(uid), model, method, args, kwargs)

    def call(self, uid: int, model: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """Call a model method for an authenticated user (faults first); count it and log it."""
        self.calls[f"{model}.{method}"] += 1
        self.call_log.append({"model": model, "method": method, "args": args, "kwargs": kwargs})
        self.faults.raise_rpc(model, method)
        if not isinstance(args, list):
            raise TypeError("args must be a list")
        if not isinstance(kwargs, dict):
            raise TypeError("kwargs must be a dict")
        return call_kw(self.db[model], method, args, kwargs, uid)
