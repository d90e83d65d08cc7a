"""Odoo's exceptions, and how Odoo puts them on the wire.

The classes mirror ``odoo.exceptions`` (plus the two non-Odoo errors a client meets:
psycopg2's serialization failure and the web session expiry). Each carries the dotted name Odoo
reports in a JSON-RPC error's ``data.name``. :func:`json_error` builds the JSON-RPC ``error``
object and :func:`xmlrpc_fault` the XML-RPC fault, with the codes of Odoo 17/18
(``odoo/addons/base/controllers/rpc.py`` and ``odoo/http.py``).
"""

from __future__ import annotations

import traceback
import xmlrpc.client
from typing import Any

__all__ = [
    "AccessDenied",
    "AccessError",
    "MissingError",
    "OdooError",
    "OperationalError",
    "SerializationFailure",
    "SessionExpired",
    "UserError",
    "ValidationError",
    "error_name",
    "json_error",
    "xmlrpc_fault",
]


class OdooError(Exception):
    """Base of the fake's Odoo exceptions; ``odoo_name`` is what Odoo reports as ``data.name``."""

    odoo_name = "odoo.exceptions.UserError"


class UserError(OdooError):
    """A business error (``odoo.exceptions.UserError``): XML-RPC fault 2."""


class ValidationError(UserError):
    """A constraint failed (``odoo.exceptions.ValidationError``): XML-RPC fault 2."""

    odoo_name = "odoo.exceptions.ValidationError"


class MissingError(UserError):
    """A record does not exist or was deleted (``odoo.exceptions.MissingError``): XML-RPC fault 2."""

    odoo_name = "odoo.exceptions.MissingError"


class AccessError(UserError):
    """The user may not do that (``odoo.exceptions.AccessError``): XML-RPC fault 4."""

    odoo_name = "odoo.exceptions.AccessError"


class AccessDenied(OdooError):
    """Bad credentials (``odoo.exceptions.AccessDenied``): XML-RPC fault 3."""

    odoo_name = "odoo.exceptions.AccessDenied"

    def __init__(self, message: str = "Access Denied") -> None:
        super().__init__(message)


class SerializationFailure(Exception):
    """A PostgreSQL serialization failure that outlived Odoo's own retries: XML-RPC fault 1."""

    odoo_name = "psycopg2.errors.SerializationFailure"

    def __init__(self, message: str = "could not serialize access due to concurrent update") -> None:
        super().__init__(message)


class OperationalError(Exception):
    """A database-level error, e.g. an unknown database name: XML-RPC fault 1."""

    odoo_name = "psycopg2.OperationalError"


class SessionExpired(Exception):
    """The ``/web`` session cookie is missing or stale: JSON-RPC error code 100."""

    odoo_name = "odoo.http.SessionExpiredException"

    def __init__(self, message: str = "Session expired") -> None:
        super().__init__(message)


def error_name(exc: BaseException) -> str:
    """The dotted name Odoo reports for ``exc`` (``builtins.TypeError`` for Python's own errors)."""
    name = getattr(exc, "odoo_name", None)
    if isinstance(name, str):
        return name
    return f"{type(exc).__module__}.{type(exc).__qualname__}"


def _message(exc: BaseException) -> str:
    return str(exc.args[0]) if len(exc.args) == 1 else str(exc)


def json_error(exc: BaseException, *, default_code: int = 200) -> dict[str, Any]:
    """The ``error`` member of a JSON-RPC response for ``exc``, as Odoo's ``_response`` builds it.

    :param default_code: 200 in Odoo 17/18 (0 in 19); session expiry is always 100.
    """
    code, message = default_code, "Odoo Server Error"
    if isinstance(exc, SessionExpired):
        code, message = 100, "Odoo Session Expired"
    return {
        "code": code,
        "message": message,
        "data": {
            "name": error_name(exc),
            "message": _message(exc),
            "arguments": [str(arg) if not isinstance(arg, (int, float, str)) else arg for arg in exc.args],
            "context": {},
            "debug": "".join(traceback.format_exception(exc)),
        },
    }


def xmlrpc_fault(exc: BaseException) -> xmlrpc.client.Fault:
    """The fault ``/xmlrpc/2/*`` answers for ``exc`` (Odoo's ``xmlrpc_handle_exception_int``)."""
    if isinstance(exc, AccessError):
        return xmlrpc.client.Fault(4, _message(exc))
    if isinstance(exc, AccessDenied):
        return xmlrpc.client.Fault(3, _message(exc))
    if isinstance(exc, UserError):
        return xmlrpc.client.Fault(2, _message(exc))
    return xmlrpc.client.Fault(1, "".join(traceback.format_exception(exc)))
