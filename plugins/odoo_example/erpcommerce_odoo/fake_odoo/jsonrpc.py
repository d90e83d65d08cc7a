"""JSON-RPC 2.0 as Odoo speaks it: the envelope, and the stateless ``POST /jsonrpc`` endpoint.

Every answer is HTTP 200: ``{"jsonrpc": "2.0", "id": N, "result": ...}`` (``result`` left out
when it is None) or ``{"jsonrpc": "2.0", "id": N, "error": {"code": 200, "message": "Odoo
Server Error", "data": {"name", "message", "arguments", "context", "debug"}}}``. A body that is
not a JSON object is a 400 HTML page, as werkzeug's BadRequest. The ``/web/*`` controllers
(:mod:`.web`) use the same envelope through :func:`json_endpoint`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from aiohttp import web

from .errors import json_error
from .keys import FAKE
from .pages import bad_request

__all__ = [
    "WithCookies",
    "envelope",
    "json_endpoint",
    "routes",
]

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
Handler = Callable[[web.Request, dict[str, Any]], Awaitable[Any]]
SESSION_MAX_AGE = 7 * 24 * 3600


@dataclass(frozen=True)
class WithCookies:
    """A handler's result plus cookies to set (name → value) or delete on the response."""

    result: Any
    set: dict[str, str] = field(default_factory=dict)
    delete: tuple[str, ...] = ()


def envelope(request_id: Any, *, result: Any = None, error: BaseException | None = None,
             default_code: int = 200) -> dict[str, Any]:
    """The JSON-RPC response body for a result or an exception."""
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
    if error is not None:
        body["error"] = json_error(error, default_code=default_code)
    elif result is not None:
        body["result"] = result
    return body


def _dumps(body: dict[str, Any]) -> str:
    return json.dumps(body, default=str, separators=(",", ":"))


def json_endpoint(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Wrap a handler taking the request's ``params`` into a JSON-RPC endpoint."""

    async def endpoint(request: web.Request) -> web.StreamResponse:
        try:
            payload = json.loads(await request.read())
        except ValueError:
            return bad_request("Invalid JSON data")
        if not isinstance(payload, dict):
            return bad_request("Invalid JSON-RPC data")
        request_id = payload.get("id")
        params = payload.get("params") or {}
        response = web.Response(content_type="application/json")
        try:
            if not isinstance(params, dict):
                raise TypeError("params must be an object")
            result = await handler(request, params)
            if isinstance(result, WithCookies):
                for key, value in result.set.items():
                    response.set_cookie(key, value, httponly=True, path="/", max_age=SESSION_MAX_AGE)
                for key in result.delete:
                    response.del_cookie(key, path="/")
                result = result.result
            body = envelope(request_id, result=result)
        except Exception as exc:  # noqa: BLE001 - every error becomes an error envelope, as in Odoo
            log.debug("fake odoo: %s raised %r", request.path, exc)
            body = envelope(request_id, error=exc)
        response.text = _dumps(body)
        return response

    return endpoint


@routes.post("/jsonrpc")
@json_endpoint
async def jsonrpc(request: web.Request, params: dict[str, Any]) -> Any:
    """``{"service", "method", "args"}`` → the service's answer."""
    missing = [key for key in ("service", "method", "args") if key not in params]
    if missing:
        raise TypeError(f"jsonrpc() missing required positional argument(s): {', '.join(map(repr, missing))}")
    return request.app[FAKE].services.dispatch(params["service"], params["method"], params["args"])
