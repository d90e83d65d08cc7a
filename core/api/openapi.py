"""``GET /openapi.json``: an OpenAPI 3.1 document generated from the routes the app really has.

The generator walks ``app.router.routes()``. A handler decorated with ``@endpoint`` carries an
:class:`~core.api.endpoint.EndpointSpec` (``__endpoint__``): its body, query and response models
become JSON Schemas through ``pydantic.json_schema.models_json_schema`` (draft 2020-12, which is
OAS 3.1's own dialect), its access level a security requirement, its declared errors responses with
the shared ``Error`` body. Routes without a spec (a plugin's webhook, static files) still appear with a
minimal entry. The document is built on the first request and kept in the app's :class:`OpenApiCache`.
"""

from __future__ import annotations

import http
import importlib.metadata
import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pydantic_core
from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from core.api.endpoint import Access, EndpointSpec, endpoint

__all__ = [
    "OPENAPI_CACHE",
    "OpenApiCache",
    "build_document",
    "routes",
]

routes = web.RouteTableDef()

OPENAPI_VERSION = "3.1.0"
REF_TEMPLATE = "#/components/schemas/{model}"
STORE_PREFIX = "/store"
# Methods aiohttp adds on its own (HEAD beside every GET) or that match anything.
SKIPPED_METHODS = frozenset({"HEAD", "*"})
# Pages for people (HTML forms), not part of the API.
SKIPPED_PREFIXES = ("/dashboard",)
_PATH_PARAMETER = re.compile(r"\{([^{}:]+)(?::[^{}]*)?\}")

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Medusa's error body.",
    "properties": {
        "type": {
            "type": "string",
            "description": "Medusa's error type.",
            "examples": ["invalid_data", "not_allowed", "not_found", "unauthorized", "duplicate_error"],
        },
        "message": {"type": "string", "description": "What went wrong, for people."},
        "code": {
            "type": "string",
            "description": "A machine code, when there is one.",
            "examples": ["insufficient_inventory", "invalid_request_error"],
        },
    },
    "required": ["type", "message"],
}
UNAUTHORIZED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The body of a 401 from a route that needs a bearer token.",
    "properties": {"message": {"type": "string", "const": "Unauthorized"}},
    "required": ["message"],
}
SECURITY_SCHEMES: dict[str, Any] = {
    "publishable_api_key": {
        "type": "apiKey",
        "in": "header",
        "name": "x-publishable-api-key",
        "description": "Required on every /store route; missing or unknown gives 400 not_allowed.",
    },
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A token from /auth. The role names in a requirement say which token the route needs.",
    },
}
# The bearer role each access level needs (OAS 3.1 allows role names for non-OAuth schemes).
ACCESS_ROLES: dict[Access, str] = {
    Access.AUTHENTICATED: "any",
    Access.CUSTOMER_IDENTITY: "customer_identity",
    Access.CUSTOMER: "customer",
    Access.ADMIN: "admin",
}


@dataclass
class OpenApiCache:
    """Holds the document once built; one per app (the app cannot change after it started)."""

    document: dict[str, Any] | None = None


OPENAPI_CACHE = web.AppKey("openapi_cache", OpenApiCache)


@dataclass(frozen=True)
class _Operation:
    method: str
    path: str
    handler: Any
    spec: EndpointSpec | None


# -------------------------------------------------------------------------------------------------
# Collecting routes and schemas
# -------------------------------------------------------------------------------------------------


def _route_path(resource: web.AbstractResource) -> str:
    if isinstance(resource, web.StaticResource):
        return f"{resource.canonical.rstrip('/')}/{{filename}}"
    return _PATH_PARAMETER.sub(lambda match: "{" + match.group(1) + "}", resource.canonical)


def _operations(app: web.Application) -> Iterator[_Operation]:
    for route in app.router.routes():
        if route.method in SKIPPED_METHODS or route.resource is None:
            continue
        if route.resource.canonical.startswith(SKIPPED_PREFIXES):
            continue
        spec = getattr(route.handler, "__endpoint__", None)
        yield _Operation(route.method.upper(), _route_path(route.resource), route.handler, spec)


def _schema_inputs(operations: list[_Operation]) -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {}
    for operation in operations:
        spec = operation.spec
        if spec is None:
            continue
        pairs: tuple[tuple[type[BaseModel] | None, JsonSchemaMode], ...] = (
            (spec.body, "validation"),
            (spec.query, "validation"),
            (spec.response, "serialization"),
        )
        for model, mode in pairs:
            if model is not None:
                wanted[(model, mode)] = None
    return list(wanted)


class _Schemas:
    """The JSON Schema of every model, as ``$ref``s into ``components.schemas``."""

    def __init__(self, operations: list[_Operation]) -> None:
        inputs = _schema_inputs(operations)
        refs, definitions = models_json_schema(inputs, ref_template=REF_TEMPLATE) if inputs else ({}, {})
        self.refs: dict[tuple[Any, str], dict[str, Any]] = {key: schema for key, schema in refs.items()}
        self.components: dict[str, Any] = dict(definitions.get("$defs", {}))
        for name, schema in (("Error", ERROR_SCHEMA), ("Unauthorized", UNAUTHORIZED_SCHEMA)):
            if name in self.components:
                raise RuntimeError(f"a model named {name!r} clashes with the shared OpenAPI schema")
            self.components[name] = schema

    def ref(self, model: type[BaseModel], mode: str) -> dict[str, Any]:
        return self.refs[(model, mode)]

    def resolve(self, model: type[BaseModel], mode: str) -> dict[str, Any]:
        """The model's own schema (not a ``$ref``), to read its properties."""
        reference = self.ref(model, mode)
        if "$ref" not in reference:
            return reference
        return self.components[reference["$ref"].rsplit("/", 1)[-1]]  # type: ignore[no-any-return]


# -------------------------------------------------------------------------------------------------
# Building one operation
# -------------------------------------------------------------------------------------------------


def _path_parameters(path: str) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAMETER.findall(path)
    ]


def _query_parameters(model: type[BaseModel], schemas: _Schemas) -> list[dict[str, Any]]:
    schema = schemas.resolve(model, "validation")
    required = set(schema.get("required", ()))
    parameters = []
    for name, property_schema in schema.get("properties", {}).items():
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": property_schema,
        }
        if _is_object(property_schema, schemas):
            # Nested values arrive qs-style: a[b]=1.
            parameter["style"] = "deepObject"
            parameter["explode"] = True
        if "description" in property_schema:
            parameter["description"] = property_schema["description"]
        parameters.append(parameter)
    return parameters


def _is_object(schema: dict[str, Any], schemas: _Schemas) -> bool:
    """Whether a value of this schema may be an object (then it arrives qs-style, ``a[b]=1``)."""
    if "$ref" in schema:
        schema = schemas.components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    if schema.get("type") == "object":
        return True
    return any(_is_object(member, schemas) for member in schema.get("anyOf", ()))


def _json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _error_response(status: int, spec: EndpointSpec) -> dict[str, Any]:
    error_ref = {"$ref": REF_TEMPLATE.format(model="Error")}
    schema: dict[str, Any] = error_ref
    if status == 401 and spec.access is not Access.PUBLIC:
        # The access check answers {"message": "Unauthorized"}; the handler may raise Unauthorized too.
        unauthorized_ref = {"$ref": REF_TEMPLATE.format(model="Unauthorized")}
        schema = {"anyOf": [unauthorized_ref, error_ref]} if 401 in spec.errors else unauthorized_ref
    return {"description": http.HTTPStatus(status).phrase, "content": _json_content(schema)}


def _responses(operation: _Operation, spec: EndpointSpec, schemas: _Schemas) -> dict[str, Any]:
    if spec.response is not None:
        body_schema = schemas.ref(spec.response, "serialization")
    else:
        body_schema = {"type": "object"}
    responses: dict[str, Any] = {
        str(spec.status): {"description": spec.summary or http.HTTPStatus(spec.status).phrase}
    }
    if spec.status != 204 and spec.content_type != "application/json":
        responses[str(spec.status)]["content"] = {spec.content_type: {"schema": {"type": "string"}}}
    elif spec.status != 204:
        responses[str(spec.status)]["content"] = _json_content(body_schema)
    error_statuses = set(spec.errors)
    if spec.body is not None or spec.query is not None or operation.path.startswith(STORE_PREFIX):
        error_statuses.add(400)  # invalid_data, or not_allowed for a missing publishable key
    if spec.access is not Access.PUBLIC:
        error_statuses.add(401)
    for status in sorted(error_statuses):
        responses[str(status)] = _error_response(status, spec)
    return responses


def _security(path: str, access: Access) -> list[dict[str, list[str]]] | None:
    role = ACCESS_ROLES.get(access)
    on_store = path.startswith(STORE_PREFIX)
    if role is None:
        if not on_store:
            return None
        # Public /store routes still need the key, and pick up a customer token when one is sent.
        return [{"publishable_api_key": []}, {"publishable_api_key": [], "bearer": ["customer"]}]
    requirement = {"bearer": [role]}
    if on_store:
        requirement["publishable_api_key"] = []
    return [requirement]


def _documented_operation(operation: _Operation, spec: EndpointSpec, schemas: _Schemas) -> dict[str, Any]:
    first_line, rest = _docstring(operation.handler)
    entry: dict[str, Any] = {"summary": spec.summary or first_line}
    description = spec.description or rest
    if description:
        entry["description"] = description
    parameters = _path_parameters(operation.path)
    if spec.query is not None:
        parameters += _query_parameters(spec.query, schemas)
    if parameters:
        entry["parameters"] = parameters
    if spec.body is not None:
        body_schema = schemas.resolve(spec.body, "validation")
        entry["requestBody"] = {
            "required": bool(body_schema.get("required")),
            "content": _json_content(schemas.ref(spec.body, "validation")),
        }
    entry["responses"] = _responses(operation, spec, schemas)
    security = _security(operation.path, spec.access)
    if security is not None:
        entry["security"] = security
    entry["x-access"] = spec.access.value
    return entry


def _minimal_operation(operation: _Operation) -> dict[str, Any]:
    summary = _docstring(operation.handler)[0] or f"{operation.method} {operation.path}"
    entry: dict[str, Any] = {"summary": summary}
    parameters = _path_parameters(operation.path)
    if parameters:
        entry["parameters"] = parameters
    entry["responses"] = {"default": {"description": "Not described by the route (it has no @endpoint)."}}
    if operation.path.startswith(STORE_PREFIX):
        entry["security"] = [{"publishable_api_key": []}]
    return entry


def _docstring(handler: Any) -> tuple[str, str]:
    """A handler function's docstring as (first line, the rest); empty for other callables."""
    doc = inspect.getdoc(handler) if inspect.isfunction(handler) else None
    if not doc:
        return "", ""
    first, _, rest = doc.strip().partition("\n")
    return first.strip(), rest.strip()


def _operation_id(operation: _Operation, taken: set[str]) -> str:
    module = getattr(operation.handler, "__module__", None) or "route"
    name = getattr(operation.handler, "__qualname__", None) or operation.method.lower()
    base = re.sub(r"[^A-Za-z0-9_.]", "_", f"{module.removeprefix('core.api.')}.{name}")
    candidate, counter = base, 1
    while candidate in taken:
        counter += 1
        candidate = f"{base}_{counter}"
    taken.add(candidate)
    return candidate


def _tags(operation: _Operation) -> list[str]:
    if operation.spec is not None and operation.spec.tags:
        return list(operation.spec.tags)
    segments = [segment for segment in operation.path.split("/") if segment and "{" not in segment]
    return [segments[0].capitalize()] if segments else []


# -------------------------------------------------------------------------------------------------
# The document and its route
# -------------------------------------------------------------------------------------------------


def _version() -> str:
    try:
        return importlib.metadata.version("erpcommerce")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0"


def build_document(app: web.Application) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route ``app`` has."""
    operations = sorted(_operations(app), key=lambda op: (op.path, op.method))
    schemas = _Schemas(operations)
    paths: dict[str, dict[str, Any]] = {}
    taken: set[str] = set()
    for operation in operations:
        if operation.spec is not None:
            entry = _documented_operation(operation, operation.spec, schemas)
        else:
            entry = _minimal_operation(operation)
        entry["operationId"] = _operation_id(operation, taken)
        tags = _tags(operation)
        if tags:
            entry["tags"] = tags
        paths.setdefault(operation.path, {})[operation.method.lower()] = entry
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "erpcommerce API",
            "version": _version(),
            "description": "Store API (Medusa v2 compatible), auth, admin and ERP routes of erpcommerce.",
        },
        "paths": paths,
        "components": {"schemas": schemas.components, "securitySchemes": SECURITY_SCHEMES},
    }


@routes.get("/openapi.json")
@endpoint(summary="This OpenAPI 3.1 document", tags=("Meta",))
async def openapi_document(request: web.Request) -> web.Response:
    cache = request.app.get(OPENAPI_CACHE)
    if cache is None:
        cache = OpenApiCache()
    if cache.document is None:
        cache.document = build_document(request.app)
    return web.Response(body=pydantic_core.to_json(cache.document), content_type="application/json")

