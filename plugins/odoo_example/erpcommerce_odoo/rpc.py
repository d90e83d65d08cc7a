"""Odoo's JSON-RPC external API (``POST /jsonrpc``) over one pooled aiohttp session.

:class:`OdooRpc` authenticates once (``common.authenticate``; the uid is cached and renewed once
when an object call answers AccessDenied), then calls ``object.execute_kw``. At most
``max_parallel_calls`` calls are in flight (Odoo has few workers), each within
``timeout_seconds``. Every failure becomes an error core knows, by kind:

- bad credentials (``authenticate`` answers false, AccessDenied after re-authenticating):
  :class:`core.errors.ConfigError`, not retried;
- what a retry may cure (PostgreSQL serialization failures, lock timeouts and deadlocks, HTTP
  429/5xx, timeouts, refused connections, an HTML page or garbage instead of a JSON-RPC envelope):
  :class:`core.errors.ErpUnavailable`;
- business refusals (UserError, ValidationError, MissingError, AccessError) and server errors
  caused by the request itself: :class:`core.errors.PermanentError` with Odoo's message.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import aiohttp

from core.errors import ConfigError, ErpUnavailable, PermanentError
from erpcommerce_odoo.settings import SECTION, OdooSettings

__all__ = [
    "OdooError",
    "OdooRpc",
    "map_error",
]

log = logging.getLogger("erpcommerce.odoo")

ACCESS_DENIED = "odoo.exceptions.AccessDenied"
# Odoo's own exceptions a retry cannot cure (the message is meant for the user).
BUSINESS_ERRORS = frozenset(
    {
        "odoo.exceptions.UserError",
        "odoo.exceptions.ValidationError",
        "odoo.exceptions.MissingError",
        "odoo.exceptions.AccessError",
        "odoo.exceptions.RedirectWarning",
        "odoo.exceptions.except_orm",
    }
)
# Concurrency failures Odoo gives up retrying after MAX_TRIES_ON_CONCURRENCY_FAILURE (and kin).
TRANSIENT_ERRORS = frozenset(
    {
        "psycopg2.errors.SerializationFailure",
        "psycopg2.errors.LockNotAvailable",
        "psycopg2.errors.DeadlockDetected",
        "psycopg2.extensions.TransactionRollbackError",
        "psycopg2.OperationalError",
        "psycopg2.errors.OperationalError",
        "psycopg2.errors.QueryCanceled",
        "psycopg2.errors.AdminShutdown",
        "odoo.http.SessionExpiredException",
    }
)
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class OdooError(Exception):
    """An error envelope from Odoo (before it is mapped): ``data.name`` and ``data.message``."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


def map_error(error: OdooError, what: str) -> Exception:
    """The core error for an Odoo error envelope answering ``what`` (``"sale.order.create"``)."""
    if error.name == ACCESS_DENIED:
        return ConfigError(
            f"Odoo refused the credentials of [plugins.{SECTION}] ({what}): {error.message}", key=f"plugins.{SECTION}"
        )
    if error.name in BUSINESS_ERRORS:
        return PermanentError(f"Odoo refused {what}: {error.message}")
    if error.name in TRANSIENT_ERRORS or "could not serialize access" in error.message:
        return ErpUnavailable(f"Odoo is busy ({what}: {error.name}); try again later")
    # TypeError, ValueError ("Invalid field"), AttributeError...: the request itself is wrong.
    return PermanentError(f"Odoo failed on {what}: {error.name}: {error.message}")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class OdooRpc:
    """JSON-RPC calls to one Odoo database as one user. One per process, shared by all requests.

    :param settings: ``[plugins.odoo]``.
    """

    def __init__(self, settings: OdooSettings) -> None:
        self.settings = settings
        self.endpoint = f"{settings.url}/jsonrpc"
        self._session: aiohttp.ClientSession | None = None
        self._slots = asyncio.Semaphore(settings.max_parallel_calls)
        self._auth_lock = asyncio.Lock()
        self._uid: int | None = None
        self._ids = itertools.count(1)
        self.context: dict[str, Any] = {}
        if settings.company_id is not None:
            self.context["allowed_company_ids"] = [settings.company_id]

    # -- life cycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the pooled session (idempotent)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.settings.max_parallel_calls)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=self.settings.timeout_seconds)
            )

    async def close(self) -> None:
        """Close the session; the uid is forgotten."""
        if self._session is not None:
            await self._session.close()
            self._session = None
        self._uid = None

    # -- calls ---------------------------------------------------------------------------------

    async def uid(self) -> int:
        """The user's id, from ``common.authenticate`` the first time.

        :raises ConfigError: when Odoo refuses the login or password.
        """
        if self._uid is not None:
            return self._uid
        async with self._auth_lock:
            if self._uid is None:
                s = self.settings
                try:
                    result = await self.call("common", "authenticate", [s.database, s.login, s.password, {}])
                except OdooError as exc:
                    raise map_error(exc, "common.authenticate") from None
                if result is False or result is None:
                    raise ConfigError(
                        f"Odoo refused login {s.login!r} on database {s.database!r}: "
                        f"check [plugins.{SECTION}] login and password",
                        key=f"plugins.{SECTION}.password",
                    )
                if not isinstance(result, int) or isinstance(result, bool):
                    raise ErpUnavailable(f"Odoo answered common.authenticate with {result!r}, not a user id")
                self._uid = result
        return self._uid

    async def execute_kw(
        self, model: str, method: str, args: list[Any], kwargs: Mapping[str, Any] | None = None
    ) -> Any:
        """``object.execute_kw(db, uid, password, model, method, args, kwargs)``; the client's context
        (``allowed_company_ids``) is merged under ``kwargs["context"]``.

        :raises ConfigError | ErpUnavailable | PermanentError: see the module doc.
        """
        kw = dict(kwargs or {})
        if self.context:
            kw["context"] = {**self.context, **kw.get("context", {})}
        for attempt in (1, 2):
            uid = await self.uid()
            s = self.settings
            try:
                return await self.call("object", "execute_kw", [s.database, uid, s.password, model, method, args, kw])
            except OdooError as exc:
                if exc.name == ACCESS_DENIED and attempt == 1:
                    log.info("odoo access denied, authenticating again", extra={"model": model, "method": method})
                    self._uid = None
                    continue
                raise map_error(exc, f"{model}.{method}") from None
        raise AssertionError("unreachable")

    async def call(self, service: str, method: str, args: list[Any]) -> Any:
        """One JSON-RPC call; the result, or :class:`OdooError` for an error envelope.

        :raises ErpUnavailable: for transport failures and answers that are not JSON-RPC.
        """
        if self._session is None:
            raise RuntimeError("OdooRpc.start() was not awaited")
        what = f"{service}.{method}" if service != "object" else f"{args[3]}.{args[4]}"
        body = json.dumps(
            {"jsonrpc": "2.0", "method": "call", "params": {"service": service, "method": method, "args": args},
             "id": next(self._ids)},
            default=_json_default,
        )
        async with self._slots:
            try:
                async with self._session.post(
                    self.endpoint, data=body, headers={"Content-Type": "application/json"}
                ) as response:
                    raw = await response.read()
                    status = response.status
            except TimeoutError:
                raise ErpUnavailable(
                    f"Odoo did not answer {what} within {self.settings.timeout_seconds:g} s"
                ) from None
            except aiohttp.ClientError as exc:
                raise ErpUnavailable(f"Odoo could not be reached ({what}): {exc.__class__.__name__}: {exc}") from None
        return _unwrap(what, status, raw)


def _unwrap(what: str, status: int, raw: bytes) -> Any:
    if status != 200:
        snippet = " ".join(raw[:200].decode("utf-8", "replace").split())
        if status in TRANSIENT_STATUSES or status >= 500:
            raise ErpUnavailable(f"Odoo answered HTTP {status} to {what}; try again later")
        raise ErpUnavailable(f"Odoo answered HTTP {status} to {what}: {snippet}")
    try:
        envelope = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ErpUnavailable(f"Odoo answered {what} with something that is not JSON") from None
    if not isinstance(envelope, dict) or envelope.get("jsonrpc") != "2.0":
        raise ErpUnavailable(f"Odoo answered {what} with JSON that is not a JSON-RPC 2.0 envelope")
    if "error" in envelope:
        error = envelope["error"]
        data = error.get("data") if isinstance(error, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            raise ErpUnavailable(f"Odoo answered {what} with a malformed error: {str(error)[:200]}")
        raise OdooError(data["name"], str(data.get("message", "")))
    # Odoo leaves "result" out when the method returned None.
    return envelope.get("result")
