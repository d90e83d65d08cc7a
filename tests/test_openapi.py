"""GET /openapi.json: a valid OpenAPI 3.1 document of every route, generated from the route specs."""

from __future__ import annotations

import re
from typing import Any

import pluggy
import pytest
from aiohttp import web
from openapi_spec_validator import validate
from pydantic import BaseModel, ConfigDict

from core.api import openapi
from core.api.endpoint import Access, endpoint
from core.api.openapi import OPENAPI_CACHE, build_document
from core.app import create_app
from core.config import Settings
from core.hookspecs import hookimpl

# -------------------------------------------------------------------------------------------------
# A small app declaring every kind of route, so the document's details can be checked exactly
# -------------------------------------------------------------------------------------------------


class WidgetBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    quantity: int = 1


class WidgetQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    fields: str | None = None
    limit: int = 20
    filters: dict[str, str] | None = None


class Widget(BaseModel):
    id: str
    name: str


class WidgetResponse(BaseModel):
    widget: Widget


class OptionalBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = None


widget_routes = web.RouteTableDef()


@widget_routes.post("/store/widgets/{id}")
@endpoint(
    body=WidgetBody, query=WidgetQuery, response=WidgetResponse, summary="Update a widget", tags=("Widgets",),
    errors=(404,),
)
async def update_widget(request: web.Request, *, body: WidgetBody, query: WidgetQuery) -> dict[str, Any]:
    """Update a widget.

    Changes its name.
    """
    return {"widget": {"id": request.match_info["id"], "name": body.name}}


@widget_routes.get("/store/widgets/mine")
@endpoint(response=WidgetResponse, access=Access.CUSTOMER, summary="My widget")
async def my_widget(request: web.Request) -> dict[str, Any]:
    return {"widget": {"id": "w_1", "name": "mine"}}


@widget_routes.post("/store/widgets/{id:[a-z0-9_]+}/touch")
@endpoint(body=OptionalBody, status=204, summary="Touch a widget")
async def touch_widget(request: web.Request, *, body: OptionalBody) -> web.Response:
    return web.Response(status=204)


@widget_routes.delete("/admin/widgets/{id}")
@endpoint(access=Access.ADMIN, errors=(401, 404), summary="Delete a widget")
async def delete_widget(request: web.Request) -> dict[str, Any]:
    return {"id": request.match_info["id"], "deleted": True}


@widget_routes.get("/plugin/ping/{name}")
async def plugin_ping(request: web.Request) -> web.Response:
    """Ping from a plugin."""
    return web.json_response({"pong": True})


@pytest.fixture
def widget_document() -> dict[str, Any]:
    app = web.Application()
    app.router.add_routes(widget_routes)
    app.router.add_routes(openapi.routes)
    return build_document(app)


def operation(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    return document["paths"][path][method]  # type: ignore[no-any-return]


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    name = schema["$ref"].removeprefix("#/components/schemas/")
    return document["components"]["schemas"][name]  # type: ignore[no-any-return]


def test_widget_document_is_valid_openapi_3_1(widget_document: dict[str, Any]) -> None:
    assert widget_document["openapi"] == "3.1.0"
    validate(widget_document)


def test_path_parameters_are_documented_without_their_pattern(widget_document: dict[str, Any]) -> None:
    touch = operation(widget_document, "/store/widgets/{id}/touch", "post")
    assert {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}} in touch["parameters"]


def test_query_model_becomes_query_parameters(widget_document: dict[str, Any]) -> None:
    update = operation(widget_document, "/store/widgets/{id}", "post")
    query = {p["name"]: p for p in update["parameters"] if p["in"] == "query"}
    assert set(query) == {"fields", "limit", "filters"}
    assert query["limit"]["schema"]["type"] == "integer"
    assert query["filters"]["style"] == "deepObject"
    assert "style" not in query["fields"]


def test_body_and_response_models_are_referenced(widget_document: dict[str, Any]) -> None:
    update = operation(widget_document, "/store/widgets/{id}", "post")
    body = update["requestBody"]
    assert body["required"] is True
    body_schema = resolve(widget_document, body["content"]["application/json"]["schema"])
    assert body_schema["required"] == ["name"]
    assert body_schema["additionalProperties"] is False
    response_schema = update["responses"]["200"]["content"]["application/json"]["schema"]
    widget_property = resolve(widget_document, response_schema)["properties"]["widget"]
    assert widget_property == {"$ref": "#/components/schemas/Widget"}


def test_summary_description_tags_come_from_the_spec_and_docstring(widget_document: dict[str, Any]) -> None:
    update = operation(widget_document, "/store/widgets/{id}", "post")
    assert update["summary"] == "Update a widget"
    assert update["description"] == "Changes its name."
    assert update["tags"] == ["Widgets"]
    assert update["operationId"].endswith("test_openapi.update_widget")


def test_optional_body_is_not_required_and_204_has_no_content(widget_document: dict[str, Any]) -> None:
    touch = operation(widget_document, "/store/widgets/{id}/touch", "post")
    assert touch["requestBody"]["required"] is False
    assert "content" not in touch["responses"]["204"]


def test_errors_use_the_shared_error_schema(widget_document: dict[str, Any]) -> None:
    update = operation(widget_document, "/store/widgets/{id}", "post")
    error_ref = {"$ref": "#/components/schemas/Error"}
    assert update["responses"]["404"]["content"]["application/json"]["schema"] == error_ref
    assert update["responses"]["400"]["content"]["application/json"]["schema"] == error_ref  # invalid_data
    error = widget_document["components"]["schemas"]["Error"]
    assert error["required"] == ["type", "message"]
    assert set(error["properties"]) == {"type", "message", "code"}


def test_store_routes_require_the_publishable_key(widget_document: dict[str, Any]) -> None:
    schemes = widget_document["components"]["securitySchemes"]
    assert schemes["publishable_api_key"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-publishable-api-key",
        "description": schemes["publishable_api_key"]["description"],
    }
    update = operation(widget_document, "/store/widgets/{id}", "post")
    assert all("publishable_api_key" in requirement for requirement in update["security"])


def test_customer_route_needs_a_customer_token_and_has_the_401_body(widget_document: dict[str, Any]) -> None:
    mine = operation(widget_document, "/store/widgets/mine", "get")
    assert mine["security"] == [{"bearer": ["customer"], "publishable_api_key": []}]
    assert mine["x-access"] == "customer"
    unauthorized = mine["responses"]["401"]["content"]["application/json"]["schema"]
    assert unauthorized == {"$ref": "#/components/schemas/Unauthorized"}
    assert widget_document["components"]["schemas"]["Unauthorized"]["required"] == ["message"]


def test_admin_route_needs_an_admin_token_and_no_publishable_key(widget_document: dict[str, Any]) -> None:
    delete = operation(widget_document, "/admin/widgets/{id}", "delete")
    assert delete["security"] == [{"bearer": ["admin"]}]
    # 401 may be the access check's {"message"} or a handler's Unauthorized error.
    assert delete["responses"]["401"]["content"]["application/json"]["schema"] == {
        "anyOf": [{"$ref": "#/components/schemas/Unauthorized"}, {"$ref": "#/components/schemas/Error"}]
    }


def test_route_without_endpoint_gets_a_minimal_entry(widget_document: dict[str, Any]) -> None:
    ping = operation(widget_document, "/plugin/ping/{name}", "get")
    assert ping["summary"] == "Ping from a plugin."
    assert "default" in ping["responses"]
    assert ping["parameters"][0]["name"] == "name"
    assert "head" not in widget_document["paths"]["/plugin/ping/{name}"]


def test_operation_ids_are_unique(widget_document: dict[str, Any]) -> None:
    ids = [op["operationId"] for path in widget_document["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))


# -------------------------------------------------------------------------------------------------
# The real application
# -------------------------------------------------------------------------------------------------


def documented_path(resource: web.AbstractResource) -> str:
    return re.sub(r"\{([^{}:]+)(?::[^{}]*)?\}", r"{\1}", resource.canonical)


async def test_openapi_json_is_served_without_keys_and_validates(client: Any) -> None:
    response = await client.get("/openapi.json")
    assert response.status == 200
    assert response.content_type == "application/json"
    document = await response.json()
    assert document["openapi"] == "3.1.0"
    validate(document)


async def test_every_route_with_an_endpoint_spec_is_documented(client: Any, app: web.Application) -> None:
    document = await (await client.get("/openapi.json")).json()
    for route in app.router.routes():
        if route.method == "HEAD" or not hasattr(route.handler, "__endpoint__"):
            continue
        assert route.resource is not None
        path = documented_path(route.resource)
        assert route.method.lower() in document["paths"].get(path, {}), f"{route.method} {path} missing"
        access = route.handler.__endpoint__.access.value
        assert document["paths"][path][route.method.lower()]["x-access"] == access


async def test_document_is_built_once_and_cached_on_the_app(client: Any, app: web.Application) -> None:
    assert app[OPENAPI_CACHE].document is None
    first = await (await client.get("/openapi.json")).read()
    cached = app[OPENAPI_CACHE].document
    assert cached is not None
    second = await (await client.get("/openapi.json")).read()
    assert app[OPENAPI_CACHE].document is cached
    assert first == second


class PluginWithRoute:
    """A plugin adding an undocumented route, as a webhook plugin would."""

    @hookimpl
    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/plugin/webhook", self.webhook)

    async def webhook(self, request: web.Request) -> web.Response:
        return web.json_response({}, status=202)


async def test_routes_added_by_plugins_appear(
    aiohttp_client: Any, settings: Settings, plugins: pluggy.PluginManager, db: None
) -> None:
    plugins.register(PluginWithRoute())
    client = await aiohttp_client(create_app(settings, plugins, manage_database=False))
    document = await (await client.get("/openapi.json")).json()
    validate(document)
    assert "default" in document["paths"]["/plugin/webhook"]["post"]["responses"]
