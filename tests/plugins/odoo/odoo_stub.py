"""A tiny scripted Odoo JSON-RPC server for the client's unit tests (the faithful fake is fake_odoo).

It answers ``POST /jsonrpc`` with Odoo's envelopes, records every call, and replies to
``object.execute_kw`` from handlers the test registers per ``(model, method)`` (a value, or a
function of ``(args, kwargs)``; unregistered searches find nothing). Faults queue up with
:meth:`OdooStub.fail_next` and apply to the next calls in order: an Odoo error envelope, an HTTP
status with an HTML page, a raw body, or a delay. It counts the calls in flight at once.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

__all__ = [
    "Call",
    "Fault",
    "OdooStub",
    "odoo_error",
]

PASSWORD = "secret"
DATABASE = "db"


@dataclass(frozen=True)
class Call:
    service: str
    method: str
    args: list[Any]

    @property
    def model(self) -> str | None:
        return self.args[3] if self.method == "execute_kw" else None

    @property
    def model_method(self) -> str | None:
        return self.args[4] if self.method == "execute_kw" else None

    @property
    def positional(self) -> list[Any]:
        return self.args[5]

    @property
    def kwargs(self) -> dict[str, Any]:
        return self.args[6] if len(self.args) > 6 else {}


@dataclass(frozen=True)
class Fault:
    """``kind``: "error" (Odoo ``name``/``message``), "http" (``status``), "raw" (``body``), "delay"
    (``seconds``), "lost" (the call is carried out, then the answer is an HTTP 502)."""

    kind: str
    name: str = ""
    message: str = ""
    status: int = 200
    body: bytes = b""
    seconds: float = 0.0
    # Only calls of this service ("object", "common"), model and method take the fault.
    service: str | None = None
    method: str | None = None
    model: str | None = None


def odoo_error(name: str, message: str, request_id: Any = 1) -> dict[str, Any]:
    """Odoo 17's JSON-RPC error envelope."""
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "error": {
            "code": 200,
            "message": "Odoo Server Error",
            "data": {"name": name, "message": message, "arguments": [message], "context": {}, "debug": "Traceback"},
        },
    }


Handler = Callable[[list[Any], dict[str, Any]], Any]


@dataclass
class OdooStub:
    uid: int | bool = 2
    password: str = PASSWORD
    calls: list[Call] = field(default_factory=list)
    handlers: dict[tuple[str, str], Handler] = field(default_factory=dict)
    faults: deque[Fault] = field(default_factory=deque)
    delay: float = 0.0
    in_flight: int = 0
    max_in_flight: int = 0

    def on(self, model: str, method: str, answer: Any) -> None:
        """Answer ``model.method`` with ``answer`` (a function of ``(args, kwargs)``, or a value)."""
        self.handlers[(model, method)] = answer if callable(answer) else (lambda args, kwargs: answer)

    def fail_next(self, *faults: Fault) -> None:
        self.faults.extend(faults)

    def executes(self, model: str | None = None, method: str | None = None) -> list[Call]:
        """The ``execute_kw`` calls, of ``model`` and ``method`` when given."""
        return [
            c for c in self.calls
            if c.method == "execute_kw" and (model is None or c.model == model)
            and (method is None or c.model_method == method)
        ]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/jsonrpc", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        envelope = await request.json()
        params = envelope["params"]
        call = Call(params["service"], params["method"], params["args"])
        self.calls.append(call)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            fault = self._fault_for(call)
            if fault is not None and fault.kind == "lost":
                self._answer(call, envelope["id"])
                fault = Fault("http", status=502)
            if fault is not None:
                return await self._faulty(fault, envelope["id"])
            return web.json_response(self._answer(call, envelope["id"]))
        finally:
            self.in_flight -= 1

    def _fault_for(self, call: Call) -> Fault | None:
        if not self.faults:
            return None
        fault = self.faults[0]
        if (fault.service not in (None, call.service) or fault.method not in (None, call.model_method)
                or fault.model not in (None, call.model)):
            return None
        return self.faults.popleft()

    async def _faulty(self, fault: Fault, request_id: Any) -> web.StreamResponse:
        if fault.kind == "error":
            return web.json_response(odoo_error(fault.name, fault.message, request_id))
        if fault.kind == "http":
            return web.Response(status=fault.status, text="<html><body>Bad Gateway</body></html>",
                                content_type="text/html")
        if fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
            return web.json_response({"jsonrpc": "2.0", "id": request_id, "result": []})
        return web.Response(body=fault.body, content_type="application/json")

    def _answer(self, call: Call, request_id: Any) -> dict[str, Any]:
        if call.service == "common" and call.method == "authenticate":
            db, _login, password, _env = call.args
            ok = db == DATABASE and password == self.password
            return {"jsonrpc": "2.0", "id": request_id, "result": self.uid if ok else False}
        _db, uid, password, model, method, args, kwargs = call.args
        if uid != self.uid or password != self.password:
            return odoo_error("odoo.exceptions.AccessDenied", "Access Denied", request_id)
        handler = self.handlers.get((model, method))
        if handler is not None:
            result = handler(args, kwargs)
        elif method in ("search_read", "search", "read"):
            result = []
        elif method == "search_count":
            result = 0
        elif method == "fields_get":
            result = {}
        else:
            return odoo_error("builtins.AttributeError", f"'{model}' object has no attribute '{method}'", request_id)
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
        if result is not None:
            body["result"] = json.loads(json.dumps(result))
        return body


# -------------------------------------------------------------------------------------------------
# A small table: search_read over rows with the domain subset the client sends
# -------------------------------------------------------------------------------------------------


def _value(row: dict[str, Any], name: str) -> Any:
    value = row.get(name, False)
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], int) and isinstance(value[1], str):
        return value[0]  # a many2one
    return value


def _leaf(row: dict[str, Any], leaf: list[Any]) -> bool:
    name, op, target = leaf
    value = _value(row, name)
    if op == "=":
        return value == target
    if op == "!=":
        return value != target
    if op == "in":
        return any(v in target for v in value) if isinstance(value, list) else value in target
    if op == "ilike":
        return isinstance(value, str) and str(target).lower() in value.lower()
    if value is False:
        return False
    return {">": value > target, ">=": value >= target, "<": value < target, "<=": value <= target}[op]


def matches(row: dict[str, Any], domain: list[Any]) -> bool:
    """Whether ``row`` satisfies ``domain`` (prefix ``&``, ``|``, ``!``; leaves AND-ed)."""

    def parse(position: int) -> tuple[bool, int]:
        term = domain[position]
        if term == "!":
            value, nxt = parse(position + 1)
            return not value, nxt
        if term in ("&", "|"):
            left, nxt = parse(position + 1)
            right, nxt = parse(nxt)
            return (left and right) if term == "&" else (left or right), nxt
        return _leaf(row, list(term)), position + 1

    position, result = 0, True
    while position < len(domain):
        value, position = parse(position)
        result = result and value
    return result


def table(rows: list[dict[str, Any]], active_field: str | None = "active") -> Handler:
    """A ``search_read`` handler over ``rows``: domain, ``active_test``, order, limit, fields."""

    def search_read(args: list[Any], kwargs: dict[str, Any]) -> list[dict[str, Any]]:
        domain = args[0] if args else kwargs.get("domain", [])
        fields = args[1] if len(args) > 1 else kwargs.get("fields")
        active_test = kwargs.get("context", {}).get("active_test", True)
        found = [r for r in rows if matches(r, domain)
                 and not (active_field and active_test and r.get(active_field) is False)]
        for key in reversed([part.split() for part in kwargs.get("order", "id asc").split(",")]):
            found.sort(key=lambda r, k=key: _value(r, k[0]), reverse=len(key) > 1 and key[1] == "desc")
        if kwargs.get("limit"):
            found = found[: kwargs["limit"]]
        return [{"id": r["id"], **{f: r.get(f, False) for f in fields}} if fields else dict(r) for r in found]

    return search_read
