"""Smoke tests of the foundation: migrations, middlewares, error bodies."""

from __future__ import annotations

from typing import Any


async def test_health_reports_ok(client: Any) -> None:
    resp = await client.get("/health")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok"}


async def test_store_route_without_publishable_key_is_refused(client: Any) -> None:
    resp = await client.get("/store/regions")
    assert resp.status == 400
    body = await resp.json()
    assert body["type"] == "not_allowed"
    assert "x-publishable-api-key" in body["message"]


async def test_store_route_with_unknown_key_is_refused(client: Any) -> None:
    resp = await client.get("/store/regions", headers={"x-publishable-api-key": "pk_nope"})
    assert resp.status == 400
    assert (await resp.json())["message"] == "A valid publishable key is required to proceed with the request"


async def test_unknown_route_gives_json_not_found(client: Any) -> None:
    resp = await client.get("/nowhere")
    assert resp.status == 404
    assert (await resp.json())["type"] == "not_found"


async def test_store_fixture_seeds_products(store: Any) -> None:
    assert len(store.variant_ids) == 3
