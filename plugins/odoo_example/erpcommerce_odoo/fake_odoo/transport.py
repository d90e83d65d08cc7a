"""The middleware that injects transport faults on the RPC endpoints (not on ``/fake/*``).

In order: the added latency, ``slow``, the global error rate, ``http_502``/``http_429`` (HTML
pages, as a proxy answers), then the endpoint itself, whose body ``invalid_json`` cuts in half.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

from aiohttp import web

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
    if faults.latency > 0:
        await asyncio.sleep(faults.latency)
    slow = faults.trip("slow", path=path)
    if slow is not None:
        await asyncio.sleep(slow.seconds)
    drawn = faults.draw_error()
    if drawn == "slow":
        await asyncio.sleep(SLOW_SECONDS)
    if drawn == "http_502" or faults.trip("http_502", path=path):
        return bad_gateway()
    if drawn == "http_429" or faults.trip("http_429", path=path):
        return too_many_requests()
    response = await handler(request)
    if (drawn == "invalid_json" or faults.trip("invalid_json", path=path)) and isinstance(response, web.Response):
        body = response.body if isinstance(response.body, bytes) else b""
        return web.Response(
            status=response.status, body=body[: max(1, len(body) // 2)], content_type=response.content_type
        )
    return response
