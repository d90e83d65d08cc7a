"""The fake's own admin endpoints (never subject to faults), for tests and the demo.

- ``GET /fake/faults``: the faults switched on, error rate, latency and how often each fired;
- ``POST /fake/faults``: ``{"reset": true, "faults": {"serialization_failure": {"times": 2,
  "model": "sale.order", "method": "create"}, "http_502": {}, "slow": null}, "error_rate": 0.1,
  "error_fault": "http_502", "latency": 0.05}`` (``null`` switches a fault off);
- ``DELETE /fake/faults``: everything off;
- ``GET /fake/calls``: the object calls that reached a model, per ``model.method``, and the latest
  ones with their arguments (``?model=&method=`` narrows the log); ``DELETE /fake/calls`` forgets them;
- ``GET``/``POST /fake/webhook``: ``{"url": "http://.../erp/order-updates?token=..."}`` (``null``: off),
  and the deliveries so far.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from aiohttp import web

from .keys import FAKE

__all__ = [
    "routes",
]

routes = web.RouteTableDef()


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        payload = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="expected a JSON object") from None
    if not isinstance(payload, dict):
        raise web.HTTPBadRequest(text="expected a JSON object")
    return payload


@routes.get("/fake/faults")
async def get_faults(request: web.Request) -> web.Response:
    """The fault state."""
    return web.json_response(request.app[FAKE].faults.to_dict())


@routes.post("/fake/faults")
async def post_faults(request: web.Request) -> web.Response:
    """Change the fault state."""
    faults = request.app[FAKE].faults
    try:
        faults.update(await _json(request))
    except (ValueError, TypeError) as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    return web.json_response(faults.to_dict())


@routes.delete("/fake/faults")
async def delete_faults(request: web.Request) -> web.Response:
    """Switch every fault off."""
    faults = request.app[FAKE].faults
    faults.clear()
    return web.json_response(faults.to_dict())


@routes.get("/fake/calls")
async def get_calls(request: web.Request) -> web.Response:
    """The object calls counted and logged so far."""
    services = request.app[FAKE].services
    model, method = request.query.get("model"), request.query.get("method")
    log = [
        call for call in services.call_log
        if (model is None or call["model"] == model) and (method is None or call["method"] == method)
    ]
    return web.json_response({"counts": dict(services.calls), "log": log}, dumps=_dumps)


@routes.delete("/fake/calls")
async def delete_calls(request: web.Request) -> web.Response:
    """Forget the calls counted and logged."""
    services = request.app[FAKE].services
    services.calls.clear()
    services.call_log.clear()
    return web.json_response({"counts": {}, "log": []})


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)


def _webhook_state(request: web.Request) -> dict[str, Any]:
    sender = request.app[FAKE].webhooks
    return {"url": sender.url, "deliveries": [asdict(d) for d in sender.deliveries]}


@routes.get("/fake/webhook")
async def get_webhook(request: web.Request) -> web.Response:
    """The webhook URL and deliveries."""
    return web.json_response(_webhook_state(request))


@routes.post("/fake/webhook")
async def post_webhook(request: web.Request) -> web.Response:
    """Set (or, with null, unset) the webhook URL."""
    payload = await _json(request)
    url = payload.get("url")
    if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
        raise web.HTTPBadRequest(text="url must be an http(s) URL or null")
    request.app[FAKE].webhooks.url = url
    return web.json_response(_webhook_state(request))
