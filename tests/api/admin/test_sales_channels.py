"""Admin sales channels: create, list, retrieve."""

from __future__ import annotations

from typing import Any

from core.schemas.sales_channels import SalesChannelListResponse, SalesChannelResponse


async def test_create_sales_channel(admin_api: Any) -> None:
    body = await admin_api.post(
        "/admin/sales-channels",
        {"name": "B2B portal", "description": "Companies"},
        model=SalesChannelResponse,
    )
    channel = body["sales_channel"]
    assert channel["id"].startswith("sc_")
    assert (channel["name"], channel["description"], channel["is_disabled"]) == (
        "B2B portal",
        "Companies",
        False,
    )


async def test_create_sales_channel_validates_the_body(admin_api: Any) -> None:
    body = await admin_api.post("/admin/sales-channels", {"description": "x"}, status=400)
    assert body["type"] == "invalid_data" and '"name"' in body["message"]
    body = await admin_api.post("/admin/sales-channels", {"name": "x", "store_id": "s"}, status=400)
    assert "Unrecognized fields: 'store_id'" in body["message"]


async def test_list_and_retrieve_sales_channels(admin_api: Any, store: Any) -> None:
    await admin_api.post("/admin/sales-channels", {"name": "App", "is_disabled": True})
    listed = await admin_api.get("/admin/sales-channels?order=name", model=SalesChannelListResponse)
    assert [c["name"] for c in listed["sales_channels"]] == ["App", "Webshop"] and listed["count"] == 2
    assert [c["name"] for c in (await admin_api.get("/admin/sales-channels?q=web"))["sales_channels"]] == [
        "Webshop"
    ]
    body = await admin_api.get(f"/admin/sales-channels/{store.sales_channel_id}", model=SalesChannelResponse)
    assert body["sales_channel"]["name"] == "Webshop"


async def test_retrieve_unknown_sales_channel_is_not_found(admin_api: Any) -> None:
    body = await admin_api.get("/admin/sales-channels/sc_nope", status=404)
    assert body == {"type": "not_found", "message": "Sales channel with id: sc_nope was not found"}
