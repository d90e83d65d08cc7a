"""The dashboard's access rules, as decorators every page and action goes through.

- :func:`page` (GET): without a session, a browser is sent to the login form (303, with the page
  to come back to); a request that asks for a refresh fragment gets 401 instead.
- :func:`action` (POST): without a session, 401; with a session, the form must carry the session's
  CSRF token and come from this site, else 403. Nothing is changed by a refused action.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from aiohttp import web

from core.dashboard.sessions import CSRF_FIELD, DashboardSession, read_session, same_origin
from core.dashboard.templating import PARTIAL_HEADER, render

__all__ = [
    "action",
    "login_url",
    "page",
    "refusal",
    "see_other",
]

SessionHandler = Callable[[web.Request, DashboardSession], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

LOGIN_PATH = "/dashboard/login"


def refusal(request: web.Request, status: int, message: str, session: DashboardSession | None = None) -> web.Response:
    """An HTML error page (the dashboard is read by people, not by API clients)."""
    return render(request, "refusal.html", {"status": status, "message": message}, session=session, status=status,
                  live=False)


def see_other(location: str) -> web.Response:
    """A 303 redirect (after a form, the browser then GETs ``location``)."""
    return web.Response(status=303, headers={"Location": location})


def login_url(next_path: str) -> str:
    return f"{LOGIN_PATH}?next={quote(next_path, safe='')}"


def page(handler: SessionHandler) -> Handler:
    """Serve ``handler`` to logged-in admins only (see the module doc)."""

    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        session = await read_session(request)
        if session is None:
            if request.headers.get(PARTIAL_HEADER) == "1":
                return refusal(request, 401, "Your dashboard session has ended: log in again.")
            return see_other(login_url(request.path_qs))
        return await handler(request, session)

    return guarded


def action(handler: SessionHandler) -> Handler:
    """Serve the form action ``handler`` to logged-in admins whose form carries the CSRF token."""

    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        session = await read_session(request)
        if session is None:
            return refusal(request, 401, "Log in to the dashboard first.")
        form = await request.post()
        submitted = form.get(CSRF_FIELD)
        valid = isinstance(submitted, str) and hmac.compare_digest(submitted, session.csrf_token)
        if not valid or not same_origin(request):
            return refusal(request, 403, "This form has expired or did not come from the dashboard: reload the page "
                                         "and try again.", session)
        return await handler(request, session)

    return guarded
