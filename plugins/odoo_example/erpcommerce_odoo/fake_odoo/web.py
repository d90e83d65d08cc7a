"""The web client's JSON endpoints (``/web/...``): version, session login/info/logout, call_kw.

They take the JSON-RPC envelope with keyword ``params``. ``/web/session/authenticate`` sets the
``session_id`` cookie; ``/web/dataset/call_kw[/<model>/<method>]`` and
``/web/session/get_session_info`` need it and answer error code 100 "Odoo Session Expired"
without a valid one. API keys are refused for the interactive login, as in Odoo.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .errors import AccessDenied, SessionExpired
from .jsonrpc import WithCookies, json_endpoint
from .keys import FAKE
from .security import COOLDOWN_MESSAGE, Session
from .server_info import session_info
from .services import version_info

__all__ = [
    "routes",
]

routes = web.RouteTableDef()


def _session(request: web.Request) -> Session:
    fake = request.app[FAKE]
    if fake.faults.trip("session_expired", path=request.path):
        raise SessionExpired()
    session = fake.security.session(request.cookies.get("session_id"))
    if session is None:
        raise SessionExpired()
    return session


@routes.post("/web/webclient/version_info")
@json_endpoint
async def webclient_version_info(request: web.Request, params: dict[str, Any]) -> Any:
    """The server version (odoorpc asks for it first)."""
    return version_info(request.app[FAKE].db.version)


@routes.post("/web/session/authenticate")
@json_endpoint
async def session_authenticate(request: web.Request, params: dict[str, Any]) -> Any:
    """Log in with ``{db, login, password}``: session_info, and the ``session_id`` cookie."""
    fake = request.app[FAKE]
    if fake.faults.trip("login_cooldown"):
        raise AccessDenied(COOLDOWN_MESSAGE)
    if fake.faults.trip("auth_fail_login"):
        raise AccessDenied()
    uid = fake.security.authenticate(params.get("db"), params.get("login"), params.get("password"), interactive=True)
    session = fake.security.open_session(uid, str(params.get("login")))
    return WithCookies(session_info(fake.db, uid), set={"session_id": session.sid})


@routes.post("/web/session/get_session_info")
@json_endpoint
async def session_get_info(request: web.Request, params: dict[str, Any]) -> Any:
    """The session_info of the logged-in user."""
    return session_info(request.app[FAKE].db, _session(request).uid)


@routes.post("/web/session/destroy")
@json_endpoint
async def session_destroy(request: web.Request, params: dict[str, Any]) -> Any:
    """Log out (answers no result)."""
    request.app[FAKE].security.sessions.pop(request.cookies.get("session_id", ""), None)
    return WithCookies(None, delete=("session_id",))


@routes.post("/web/dataset/call_kw")
@routes.post("/web/dataset/call_kw/{path:.*}")
@json_endpoint
async def dataset_call_kw(request: web.Request, params: dict[str, Any]) -> Any:
    """``{model, method, args, kwargs}`` for the session's user (the path suffix is cosmetic)."""
    session = _session(request)
    missing = [key for key in ("model", "method", "args") if key not in params]
    if missing:
        raise TypeError(f"call_kw() missing required argument(s): {', '.join(map(repr, missing))}")
    return request.app[FAKE].services.call(
        session.uid, params["model"], params["method"], params["args"], params.get("kwargs") or {}
    )


@routes.post("/web/database/list")
@json_endpoint
async def database_list(request: web.Request, params: dict[str, Any]) -> Any:
    """The database names."""
    return [request.app[FAKE].db.name]
