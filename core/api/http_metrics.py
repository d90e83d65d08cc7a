"""The middleware timing every HTTP request into :data:`core.metrics.HTTP_REQUEST_DURATION`.

Labels stay bounded whatever clients send: the route is the matched resource's template
(``/store/carts/{id}``, never the concrete path), ``unmatched`` when no route matched (404, 405);
the method is one of the standard ones or ``OTHER``; the status is its class (``2xx``...).

It is the outermost middleware, so the status is the one the client gets (after the error
middleware made a Medusa error body of an exception). A streamed response (server-sent events)
is timed until its stream ends. Cost: one ``perf_counter`` pair and one cached histogram child
per request (measured in the README's Metrics section).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client.metrics import Histogram

from core.metrics import HTTP_REQUEST_DURATION

__all__ = [
    "UNMATCHED_ROUTE",
    "http_metrics_middleware",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

UNMATCHED_ROUTE = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")
# (method, route, status class) -> histogram child: labels() validates and locks on every call.
_children: dict[tuple[str, str, int], Histogram] = {}


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED_ROUTE


def _child(method: str, route: str, status: int) -> Histogram:
    key = (method if method in _METHODS else "OTHER", route, status // 100)
    child = _children.get(key)
    if child is None:
        status_class = _STATUS_CLASSES[key[2] - 1] if 1 <= key[2] <= 5 else "5xx"
        child = HTTP_REQUEST_DURATION.labels(key[0], route, status_class)
        _children[key] = child
    return child


@web.middleware
async def http_metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Time the request; label it with its method, route template and status class.

    A request whose handler was cancelled (the client went away) is not counted.
    """
    started = time.perf_counter()
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # raised past the error middleware: redirects and the like
        _child(request.method, _route(request), exc.status).observe(time.perf_counter() - started)
        raise
    except Exception:  # aiohttp answers 500
        _child(request.method, _route(request), 500).observe(time.perf_counter() - started)
        raise
    _child(request.method, _route(request), response.status).observe(time.perf_counter() - started)
    return response
