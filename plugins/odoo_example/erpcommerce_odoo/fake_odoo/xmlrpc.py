"""XML-RPC as Odoo speaks it: ``POST /xmlrpc/2/{common,object,db}``.

The body is parsed with ``xmlrpc.client.loads(use_datetime=True)``; answers are HTTP 200
``text/xml`` even for faults, marshalled without ``allow_none`` (a None result is fault 1
"cannot marshal None unless allow_none is enabled", as Odoo's marshaller). Fault codes: 4
AccessError, 3 AccessDenied, 2 other UserErrors, 1 anything else with the traceback.
"""

from __future__ import annotations

import logging
import xmlrpc.client
from typing import Any

from aiohttp import web

from .errors import xmlrpc_fault
from .keys import FAKE

__all__ = [
    "routes",
]

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


def _response(body: str) -> web.Response:
    return web.Response(text=body, content_type="text/xml", charset="utf-8")


def _fault(exc: BaseException) -> web.Response:
    return _response(xmlrpc.client.dumps(xmlrpc_fault(exc), methodresponse=True, allow_none=False))


@routes.post("/xmlrpc/2/{service}")
async def xmlrpc_endpoint(request: web.Request) -> web.Response:
    """One XML-RPC call of a service."""
    fake = request.app[FAKE]
    service = request.match_info["service"]
    try:
        params, method = xmlrpc.client.loads(await request.read(), use_datetime=True)
        result: Any = fake.services.dispatch(service, str(method), list(params))
        if service == "object" and fake.faults.trip("none_result_xmlrpc", model=_model(params), method=_method(params)):
            result = None
        return _response(xmlrpc.client.dumps((result,), methodresponse=True, allow_none=False))
    except Exception as exc:  # noqa: BLE001 - every error becomes a fault, as in Odoo
        log.debug("fake odoo: xmlrpc %s raised %r", service, exc)
        return _fault(exc)


def _model(params: tuple[Any, ...]) -> str | None:
    return str(params[3]) if len(params) > 3 else None


def _method(params: tuple[Any, ...]) -> str | None:
    return str(params[4]) if len(params) > 4 else None
