"""Dashboard logins: a signed session cookie, CSRF tokens, and the guard every page goes through.

The session is a JWT (HS256, ``[auth] jwt_secret``, audience ``dashboard``) in an HttpOnly,
SameSite=Strict cookie scoped to ``/dashboard``; it carries the admin user's identity, email and a
random session id. Each state-changing form carries a CSRF token: an HMAC of the session id, so
it is valid for this session only and needs no server-side storage. The login form itself is
protected the double-submit way (a random value in a short-lived cookie and in the form).
Bearer tokens of the Admin API are not accepted here: a browser page must not read them.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import jwt
from aiohttp import web

from core.config import Settings
from core.keys import SETTINGS
from core.models import AuthIdentity

__all__ = [
    "CSRF_FIELD",
    "LOGIN_CSRF_COOKIE",
    "SESSION_COOKIE",
    "DashboardSession",
    "csrf_token_for",
    "end_session",
    "login_csrf_matches",
    "login_csrf_value",
    "read_session",
    "same_origin",
    "set_login_csrf",
    "start_session",
]

SESSION_COOKIE = "erpcommerce_dashboard"
LOGIN_CSRF_COOKIE = "erpcommerce_dashboard_login"
CSRF_FIELD = "csrf_token"
COOKIE_PATH = "/dashboard"
AUDIENCE = "dashboard"
LOGIN_CSRF_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class DashboardSession:
    """A logged-in admin user, as the session cookie says (and the database still agrees)."""

    user_id: str
    email: str
    session_id: str
    csrf_token: str


def _secret(settings: Settings) -> str:
    return settings.auth.jwt_secret


def csrf_token_for(settings: Settings, session_id: str) -> str:
    """The CSRF token of a session: an HMAC of its id under a key derived for this purpose."""
    key = hashlib.sha256(f"dashboard-csrf:{_secret(settings)}".encode()).digest()
    return hmac.new(key, session_id.encode(), hashlib.sha256).hexdigest()


def _is_loopback(request: web.Request) -> bool:
    host = (request.host or "").rsplit(":", 1)[0].strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _secure(request: web.Request) -> bool:
    mode = request.app[SETTINGS].dashboard.secure_cookie
    if mode == "auto":
        return request.secure or not _is_loopback(request)
    return mode == "always"


def _set_cookie(response: web.StreamResponse, request: web.Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path=COOKIE_PATH, httponly=True, samesite="Strict", secure=_secure(request)
    )


# -------------------------------------------------------------------------------------------------
# Session
# -------------------------------------------------------------------------------------------------


def start_session(response: web.StreamResponse, request: web.Request, identity: AuthIdentity, email: str) -> None:
    """Log ``identity`` (an admin user's) in: set the session cookie on ``response``."""
    settings = request.app[SETTINGS]
    now = int(time.time())
    lifetime = settings.dashboard.session_seconds
    claims = {
        "sub": identity.id,
        "uid": identity.actor_id,
        "email": email,
        "sid": secrets.token_urlsafe(18),
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + lifetime,
    }
    _set_cookie(response, request, SESSION_COOKIE, jwt.encode(claims, _secret(settings), algorithm="HS256"), lifetime)
    response.del_cookie(LOGIN_CSRF_COOKIE, path=COOKIE_PATH)


def end_session(response: web.StreamResponse) -> None:
    """Log out: expire the session cookie."""
    response.del_cookie(SESSION_COOKIE, path=COOKIE_PATH)


async def read_session(request: web.Request) -> DashboardSession | None:
    """The session of this request: a valid, unexpired cookie of an admin user who still exists."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    settings = request.app[SETTINGS]
    try:
        claims = jwt.decode(
            raw, _secret(settings), algorithms=["HS256"], audience=AUDIENCE,
            options={"require": ["exp", "iat", "sub", "sid", "aud"]},
        )
    except jwt.PyJWTError:
        return None
    identity_id, session_id = str(claims["sub"]), str(claims["sid"])
    still_admin = await AuthIdentity.filter(id=identity_id, actor_type="user", actor_id__isnull=False).exists()
    if not still_admin:
        return None
    return DashboardSession(
        user_id=str(claims.get("uid") or ""),
        email=str(claims.get("email") or ""),
        session_id=session_id,
        csrf_token=csrf_token_for(settings, session_id),
    )


# -------------------------------------------------------------------------------------------------
# CSRF
# -------------------------------------------------------------------------------------------------


def login_csrf_value(request: web.Request) -> str:
    """The login form's double-submit value: the one of the browser's login cookie, or a new one."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)


def set_login_csrf(response: web.StreamResponse, request: web.Request, value: str) -> None:
    """Put the login form's value in the short-lived login cookie too."""
    _set_cookie(response, request, LOGIN_CSRF_COOKIE, value, LOGIN_CSRF_SECONDS)


def login_csrf_matches(request: web.Request, submitted: str | None) -> bool:
    """Whether the login form's value is the one in the login cookie (compared in constant time)."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    return bool(expected and submitted) and hmac.compare_digest(str(expected), str(submitted))


def same_origin(request: web.Request) -> bool:
    """False when the browser says the form came from another site (``Origin`` or ``Referer``).

    Browsers send ``Origin`` on every cross-site POST; requests without either header (curl,
    tests) are judged by the CSRF token alone.
    """
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source or source == "null":
        return source != "null"
    return urlsplit(source).netloc == request.host
