"""Every Admin API route needs an admin's bearer token: 401 ``{"message": "Unauthorized"}`` otherwise."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

UNAUTHORIZED = {"message": "Unauthorized"}


def admin_routes(app: web.Application) -> list[tuple[str, str]]:
    routes = []
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if path.startswith("/admin/") and route.method != "HEAD":
            routes.append((route.method, path.replace("{id}", "x").replace("{variant_id}", "y")))
    return routes


async def test_admin_routes_are_all_covered(app: web.Application) -> None:
    paths = {path for _, path in admin_routes(app)}
    for resource in ("regions", "products", "api-keys", "sales-channels", "orders", "customers"):
        assert f"/admin/{resource}" in paths


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
    ],
    ids=["no token", "bad token", "basic auth"],
)
async def test_admin_routes_refuse_missing_or_bad_tokens(
    client: Any, app: web.Application, headers: Any
) -> None:
    for method, path in admin_routes(app):
        resp = await client.request(method, path, headers=headers, json={})
        assert resp.status == 401, (method, path)
        assert await resp.json() == UNAUTHORIZED


async def test_admin_routes_refuse_customer_tokens(
    client: Any, app: web.Application, customer_headers: Any
) -> None:
    for method, path in admin_routes(app):
        resp = await client.request(method, path, headers=customer_headers, json={})
        assert resp.status == 401, (method, path)
        assert await resp.json() == UNAUTHORIZED


async def test_admin_token_is_accepted(client: Any, admin: Any) -> None:
    resp = await client.get("/admin/regions", headers=admin)
    assert resp.status == 200
