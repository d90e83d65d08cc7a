"""Request middlewares: Medusa error bodies, CORS, publishable key and bearer-token resolution."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from tortoise.exceptions import ValidationError as FieldValueError

from core.api.endpoint import json_response
from core.api.publishable_keys import PublishableKeyCache
from core.auth.tokens import decode_token
from core.errors import CommerceError, InvalidData, NotAllowed
from core.keys import AUTH, PUBLISHABLE_KEY, SETTINGS

__all__ = [
    "PUBLISHABLE_KEYS",
    "auth_middleware",
    "cors_middleware",
    "error_middleware",
]

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PUBLISHABLE_KEYS = web.AppKey("publishable_keys", PublishableKeyCache)

MISSING_KEY = (
    "Publishable API key required in the request header: x-publishable-api-key. "
    "You can manage your keys in the admin API."
)
INVALID_KEY = "A valid publishable key is required to proceed with the request"
UNKNOWN_ERROR = {"code": "unknown_error", "type": "unknown_error", "message": "An unknown error occurred."}


def _http_error_body(exc: web.HTTPException) -> dict[str, str]:
    if exc.status == 404:
        return {"type": "not_found", "message": f"Route not found: {exc.reason}"}
    if exc.status == 405:
        return {"type": "not_allowed", "message": "Method not allowed on this route"}
    if exc.status == 413:
        return {"type": "invalid_data", "message": "Request body too large"}
    if exc.status == 401:
        return {"type": "unauthorized", "message": exc.text or "Unauthorized"}
    return {"type": "invalid_data", "message": exc.reason}


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn domain errors and aiohttp's HTTP errors into Medusa error bodies; hide crashes."""
    try:
        return await handler(request)
    except CommerceError as exc:
        response = json_response(exc.to_body(), exc.status)
        response.headers.update(exc.headers)
        return response
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        return json_response(_http_error_body(exc), exc.status)
    except FieldValueError as exc:
        # A request value the schemas let through but a column cannot hold (an id or filter longer
        # than the column, found by the fuzz drill): bad input, not a crash.
        field_name = str(exc).split(":", 1)[0] if ":" in str(exc) else "a field"
        return json_response(InvalidData(f"Invalid value for {field_name}: it does not fit").to_body(), 400)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return json_response(UNKNOWN_ERROR, 500)


def _cors_headers(origin: str) -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Vary": "Origin",
    }


@web.middleware
async def cors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """CORS with credentials for the configured storefront origins on ``/store`` and ``/auth``."""
    origin = request.headers.get("Origin")
    path = request.path
    if origin is None or not (path.startswith("/store") or path.startswith("/auth")):
        return await handler(request)
    allowed = request.app[SETTINGS].server.cors_origins
    if origin not in allowed and "*" not in allowed:
        return await handler(request)
    headers = _cors_headers(origin)
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        headers["Access-Control-Allow-Methods"] = "GET, POST, DELETE, OPTIONS"
        requested = request.headers.get("Access-Control-Request-Headers")
        headers["Access-Control-Allow-Headers"] = requested or "content-type, authorization"
        headers["Access-Control-Max-Age"] = "600"
        return web.Response(status=204, headers=headers)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers.update(headers)
        raise
    response.headers.update(headers)
    return response


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Resolve the publishable key on ``/store`` (required) and any bearer token (optional)."""
    path = request.path
    if path.startswith("/store"):
        token = request.headers.get("x-publishable-api-key")
        if not token:
            raise NotAllowed(MISSING_KEY)
        context = await request.app[PUBLISHABLE_KEYS].resolve(token)
        if context is None:
            raise NotAllowed(INVALID_KEY)
        request[PUBLISHABLE_KEY] = context
    authorization = request.headers.get("Authorization", "")
    if authorization[:7].lower() == "bearer ":
        auth = decode_token(request.app[SETTINGS].auth, authorization[7:].strip())
        if auth is not None:
            request[AUTH] = auth
    return await handler(request)

