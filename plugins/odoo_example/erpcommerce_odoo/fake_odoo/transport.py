"""The middleware that injects transport faults on the RPC endpoints (not on ``/fake/*``).

In order: the added latency, ``slow``, the global error rate, ``http_502``/``http_429`` (HTML
pages, as a proxy answers), then the endpoint itself, whose body ``invalid_json`` cuts in half.
A transport fault given a ``model``/``method`` fires only for object calls of it (``execute_kw``
over JSON-RPC or XML-RPC, ``/web/dataset/call_kw``): a slow ``sale.order.create`` whose answer
the client gives up on, while the order is still made.
"""

from __future__ import annotations

import asyncio
import json
import xmlrpc.client
from typing import Any, Awaitable, Callable

from aiohttp import web

from .faults import TRANSPORT_FAULTS
from .keys import FAKE
from .pages import bad_gateway, too_many_requests

__all__ = [
    "transport_faults",
]

ADMIN_PREFIX = "/fake/"
SLOW_SECONDS = 5.0


@web.middleware
async def transport_faults(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Apply latency, slowness, HTTP errors and malformed bodies to RPC requests."""
    if request.path.startswith(ADMIN_PREFIX):
        return await handler(request)
    faults = request.app[FAKE].faults
    path = request.path
    targeted = any(
        f.model is not None or f.method is not None for name, f in faults.active.items() if name in TRANSPORT_FAULTS
    )
    model, method = await _object_call(request) if targeted else (None, None)
    target: dict[str, Any] = {"path": path, "model": model, "method": method}
    if faults.latency > 0:
        await asyncio.sleep(faults.latency)
    slow = faults.trip("slow", **target)
    if slow is not None:
        await asyncio.sleep(slow.seconds)
    drawn = faults.draw_error()
    if drawn == "slow":
        await asyncio.sleep(SLOW_SECONDS)
    if drawn == "http_502" or faults.trip("http_502", **target):
        return bad_gateway()
    if drawn == "http_429" or faults.trip("http_429", **target):
        return too_many_requests()
    response = await handler(request)
    if (drawn == "invalid_json" or faults.trip("invalid_json", **target)) and isinstance(response, web.Response):
        body = response.body if isinstance(response.body, bytes) else b""
        return web.Response(
            status=response.status, body=body[: max(1, len(body) // 2)], content_type=response.content_type
        )
    return response


async def _object_call(request: web.Request) -> tuple[str | None, str | None]:
    """The ``(model, method)`` of an object call (the body stays readable by the endpoint)."""
    body = await request.read()
    try:
        if request.path.startswith("/xmlrpc/"):
            args, name = xmlrpc.client.loads(body)
            if name in ("execute", "execute_kw") and len(args) >= 5:
                return str(args[3]), str(args[4])
            return None, None
        params = json.loads(body).get("params") or {}
        if "model" in params:  # /web/dataset/call_kw
            return str(params["model"]), str(params.get("method"))
        args = params.get("args") or []
        if params.get("service") == "object" and len(args) >= 5:
            return str(args[3]), str(args[4])
    except (ValueError, AttributeError, TypeError, xmlrpc.client.Error):
        pass
    return None, None
