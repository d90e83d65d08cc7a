"""``/auth``: emailpass registration and login for customers and admin users, token refresh.

Registration and login are rate-limited per client address and per email
(``[auth] login_attempts_per_minute``); over the limit they answer 429 with ``Retry-After``.
"""

from __future__ import annotations

from aiohttp import web

from core.api.endpoint import Access, endpoint
from core.auth.accounts import (
    authenticate,
    identity_context,
    refresh_context,
    register_identity,
)
from core.auth.ratelimit import AUTH_ATTEMPTS
from core.auth.tokens import AuthContext, issue_token
from core.emails import normalise_email
from core.errors import TooManyRequests
from core.keys import AUTH, SETTINGS
from core.schemas.auth import EmailPassBody, TokenResponse

__all__ = [
    "limit_attempts",
    "routes",
]

routes = web.RouteTableDef()

TAGS = ("Auth",)


def limit_attempts(request: web.Request, email: str) -> None:
    """Count this attempt for the client address and the email; refuse it when either is over the limit."""
    retry_after = request.app[AUTH_ATTEMPTS].acquire(
        ("address", request.remote or ""), ("email", normalise_email(email))
    )
    if retry_after is not None:
        raise TooManyRequests(retry_after)


def _token(request: web.Request, context: AuthContext) -> dict[str, str]:
    return {"token": issue_token(request.app[SETTINGS].auth, context)}


@routes.post("/auth/customer/emailpass/register")
@endpoint(
    body=EmailPassBody,
    response=TokenResponse,
    summary="Register a customer identity (actor-less token)",
    description="The token then creates the customer with `POST /store/customers`.",
    tags=TAGS,
    errors=(400, 401, 429),
)
async def register_customer(request: web.Request, *, body: EmailPassBody) -> dict[str, str]:
    limit_attempts(request, body.email)
    identity = await register_identity("customer", body.email, body.password)
    return _token(request, identity_context(identity))


@routes.post("/auth/customer/emailpass")
@endpoint(
    body=EmailPassBody,
    response=TokenResponse,
    summary="Log a customer in",
    description="The token is bound to the customer, or actor-less if no customer was created yet.",
    tags=TAGS,
    errors=(400, 401, 429),
)
async def login_customer(request: web.Request, *, body: EmailPassBody) -> dict[str, str]:
    limit_attempts(request, body.email)
    identity = await authenticate("customer", body.email, body.password)
    return _token(request, identity_context(identity))


@routes.post("/auth/user/emailpass")
@endpoint(
    body=EmailPassBody,
    response=TokenResponse,
    summary="Log an admin user in",
    tags=TAGS,
    errors=(400, 401, 429),
)
async def login_user(request: web.Request, *, body: EmailPassBody) -> dict[str, str]:
    limit_attempts(request, body.email)
    identity = await authenticate("user", body.email, body.password)
    return _token(request, identity_context(identity))


@routes.post("/auth/token/refresh")
@endpoint(
    response=TokenResponse,
    summary="Refresh a bearer token",
    description="Re-reads the identity, so a token refreshed after `POST /store/customers` is bound.",
    tags=TAGS,
    access=Access.AUTHENTICATED,
    errors=(401,),
)
async def refresh_token(request: web.Request) -> dict[str, str]:
    context = await refresh_context(request[AUTH])
    return _token(request, context)
