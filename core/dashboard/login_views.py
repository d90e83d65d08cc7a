"""``/dashboard/login`` and ``/dashboard/logout``: admin users open and close a dashboard session.

Logins count against the same per-address and per-email limits as ``POST /auth/user/emailpass``.
"""

from __future__ import annotations

from aiohttp import web

from core.api.auth import limit_attempts
from core.auth.accounts import authenticate
from core.dashboard.guard import LOGIN_PATH, action, refusal, see_other
from core.dashboard.sessions import (
    DashboardSession,
    end_session,
    login_csrf_matches,
    login_csrf_value,
    read_session,
    same_origin,
    set_login_csrf,
    start_session,
)
from core.dashboard.templating import render
from core.emails import normalise_email
from core.errors import TooManyRequests, Unauthorized

__all__ = [
    "routes",
]

routes = web.RouteTableDef()

HOME = "/dashboard"


def _safe_next(value: object) -> str:
    """Where to go after logging in: a dashboard path on this site, never another site."""
    text = value if isinstance(value, str) else ""
    if text.startswith(HOME) and not text.startswith("//") and "\\" not in text and text != LOGIN_PATH:
        return text
    return HOME


def _login_form(request: web.Request, *, next_path: str, email: str = "", error: str = "", status: int = 200
                ) -> web.Response:
    token = login_csrf_value(request)
    context = {"next": next_path, "email": email, "error": error, "login_csrf": token}
    response = render(request, "login.html", context, session=None, status=status, live=False)
    set_login_csrf(response, request, token)
    return response


@routes.get(LOGIN_PATH)
async def login_form(request: web.Request) -> web.StreamResponse:
    """The login form (a logged-in admin goes straight on)."""
    next_path = _safe_next(request.query.get("next"))
    if await read_session(request) is not None:
        return see_other(next_path)
    return _login_form(request, next_path=next_path)


@routes.post(LOGIN_PATH)
async def log_in(request: web.Request) -> web.StreamResponse:
    """Check the form's CSRF value and the credentials; open the session and go on."""
    form = await request.post()
    next_path = _safe_next(form.get("next"))
    email = str(form.get("email") or "")
    password = str(form.get("password") or "")
    if not login_csrf_matches(request, str(form.get("login_csrf") or "")) or not same_origin(request):
        return refusal(request, 403, "The login form has expired: reload it and try again.")
    if not email or not password:
        return _login_form(request, next_path=next_path, email=email, error="Enter your email and password.",
                           status=400)
    try:
        limit_attempts(request, email)
        identity = await authenticate("user", email, password)
    except TooManyRequests as exc:
        response = _login_form(request, next_path=next_path, email=email, status=429,
                               error="Too many attempts: wait a minute and try again.")
        response.headers.update(exc.headers)
        return response
    except Unauthorized:
        return _login_form(request, next_path=next_path, email=email, error="Invalid email or password.", status=401)
    response = see_other(next_path)
    start_session(response, request, identity, normalise_email(email))
    return response


@routes.post("/dashboard/logout")
@action
async def log_out(request: web.Request, session: DashboardSession) -> web.StreamResponse:
    """Close the session."""
    response = see_other(LOGIN_PATH)
    end_session(response)
    return response
