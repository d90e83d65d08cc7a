"""The ``@endpoint`` decorator: one place that validates requests and encodes responses.

A handler declares its body, query and response models and who may call it::

    @routes.post("/store/carts/{id}/line-items")
    @endpoint(body=AddLineItem, query=CartQuery, response=CartResponse, summary="Add a line item")
    async def add_line_item(request: web.Request, *, body: AddLineItem, query: CartQuery) -> dict:
        ...

The wrapper parses the JSON body (empty means ``{}``) and the qs-style query into those models,
turns validation failures into 400 ``invalid_data``, enforces the declared :class:`Access`, and
encodes whatever the handler returns (a dict or a pydantic model) as JSON. The same metadata feeds
``GET /openapi.json`` (:mod:`core.api.openapi`).
"""

from __future__ import annotations

import enum
import functools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pydantic_core
from aiohttp import web
from pydantic import BaseModel, ValidationError

from core.api.query import parse_query
from core.errors import InvalidData
from core.keys import AUTH

__all__ = [
    "Access",
    "EndpointSpec",
    "endpoint",
    "json_response",
    "validation_message",
]

Handler = Callable[..., Awaitable[Any]]
UNAUTHORIZED_BODY = b'{"message":"Unauthorized"}'


class Access(enum.Enum):
    """Who may call an endpoint."""

    PUBLIC = "public"
    # Any valid bearer token, whatever its actor type, bound or not (token refresh).
    AUTHENTICATED = "authenticated"
    # A customer bearer token, even one not yet bound to a customer (registration flow).
    CUSTOMER_IDENTITY = "customer_identity"
    # A token bound to a customer.
    CUSTOMER = "customer"
    # A token bound to an admin user.
    ADMIN = "admin"


@dataclass(frozen=True)
class EndpointSpec:
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    summary: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    access: Access = Access.PUBLIC
    errors: tuple[int, ...] = field(default_factory=tuple)
    # What a success answers: JSON (the response model), or another media type as plain text.
    content_type: str = "application/json"


def validation_message(error: ValidationError) -> str:
    """A Medusa-like message: one line per problem, naming the field."""
    lines = []
    unknown = []
    for item in error.errors(include_url=False, include_context=False, include_input=False):
        location = ".".join(str(part) for part in item["loc"])
        if item["type"] == "extra_forbidden":
            unknown.append(f"'{location}'")
        elif location:
            lines.append(f'Validation error: {item["msg"]} at "{location}"')
        else:
            lines.append(f"Validation error: {item['msg']}")
    if unknown:
        lines.insert(0, f"Invalid request: Unrecognized fields: {', '.join(unknown)}")
    return "\n".join(lines)


def json_response(data: Any, status: int = 200) -> web.Response:
    """Encode a dict or model as JSON (datetimes as ISO strings)."""
    if isinstance(data, BaseModel):
        payload = data.model_dump_json().encode()
    else:
        payload = pydantic_core.to_json(data)
    return web.Response(body=payload, status=status, content_type="application/json")


NUL_MESSAGE = "The request contains a NUL character (U+0000), which no field accepts"


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def _refuse_nul_in_url(request: web.Request, *, query: bool) -> None:
    """Path values (and, with ``query``, the query's) with U+0000: PostgreSQL cannot store or
    compare them (it was a 500, found by scripts/drill_fuzz.py), and no value of ours holds one.
    A handler reading the raw query itself (the webhook's token) checks it first, its own way."""
    if any("\x00" in value for value in request.match_info.values()) or (query and any(
        "\x00" in key or "\x00" in value for key, value in request.query.items()
    )):
        raise InvalidData(NUL_MESSAGE)


def _refuse_nul_in_body(raw: bytes) -> None:
    """Same for the JSON body (U+0000 can only come as the escape ``\\u0000``: checked cheaply first)."""
    if b"\\u0000" in raw:
        try:
            decoded = json.loads(raw)
        except (ValueError, RecursionError):
            return  # not JSON: the model's own parsing refuses it
        if _holds_nul(decoded):
            raise InvalidData(NUL_MESSAGE)


async def _parse_body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    raw = await request.read()
    if not raw.strip():
        raw = b"{}"
    _refuse_nul_in_body(raw)
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        if any(item["type"] == "json_invalid" for item in exc.errors()):
            raise InvalidData("Invalid JSON in the request body") from None
        if any(item["type"] == "model_type" and not item["loc"] for item in exc.errors()):
            raise InvalidData("The request body must be a JSON object") from None
        raise InvalidData(validation_message(exc)) from None


def _parse_query(request: web.Request, model: type[BaseModel]) -> BaseModel:
    try:
        return model.model_validate(parse_query(request.query))
    except ValidationError as exc:
        raise InvalidData(validation_message(exc)) from None


def _allowed(request: web.Request, access: Access) -> bool:
    if access is Access.PUBLIC:
        return True
    auth = request.get(AUTH)
    if auth is None:
        return False
    if access is Access.AUTHENTICATED:
        return True
    if access is Access.ADMIN:
        return auth.actor_type == "user" and bool(auth.actor_id)
    if auth.actor_type != "customer":
        return False
    return access is Access.CUSTOMER_IDENTITY or bool(auth.actor_id)


def endpoint(
    *,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    summary: str = "",
    description: str = "",
    tags: tuple[str, ...] = (),
    access: Access = Access.PUBLIC,
    errors: tuple[int, ...] = (),
    content_type: str = "application/json",
) -> Callable[[Handler], Handler]:
    """Declare a handler's request and response models (see the module docstring).

    :param content_type: a success's media type when it is not JSON (the handler then returns a
        ``web.Response``; the OpenAPI document describes the body as a string of that type).
    """
    spec = EndpointSpec(body, query, response, status, summary, description, tags, access, errors, content_type)

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapper(request: web.Request) -> web.StreamResponse:
            if not _allowed(request, spec.access):
                return web.Response(body=UNAUTHORIZED_BODY, status=401, content_type="application/json")
            kwargs: dict[str, Any] = {}
            _refuse_nul_in_url(request, query=spec.query is not None)
            if spec.body is not None:
                kwargs["body"] = await _parse_body(request, spec.body)
            if spec.query is not None:
                kwargs["query"] = _parse_query(request, spec.query)
            result = await handler(request, **kwargs)
            if isinstance(result, web.StreamResponse):
                return result
            return json_response(result, spec.status)

        wrapper.__endpoint__ = spec  # type: ignore[attr-defined]
        return wrapper

    return decorate
