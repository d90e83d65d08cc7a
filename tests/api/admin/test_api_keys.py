"""Admin publishable API keys: create, list, retrieve, link sales channels, revoke."""

from __future__ import annotations

from typing import Any

from core.models import SalesChannel
from core.schemas.api_keys import ApiKeyListResponse, ApiKeyResponse


async def create_key(admin_api: Any, title: str = "Storefront") -> Any:
    body = await admin_api.post(
        "/admin/api-keys", {"title": title, "type": "publishable"}, model=ApiKeyResponse
    )
    return body["api_key"]


async def store_status(client: Any, token: str) -> tuple[int, Any]:
    resp = await client.get("/store/products", headers={"x-publishable-api-key": token})
    return resp.status, await resp.json()


async def test_create_publishable_key(admin_api: Any) -> None:
    key = await create_key(admin_api)
    assert key["id"].startswith("apk_") and key["token"].startswith("pk_") and len(key["token"]) == 67
    assert key["type"] == "publishable" and key["title"] == "Storefront"
    assert key["redacted"] == f"{key['token'][:6]}***{key['token'][-3:]}"
    assert key["revoked_at"] is None and key["sales_channels"] == []


async def test_create_refuses_secret_keys_and_missing_title(admin_api: Any) -> None:
    secret = await admin_api.post("/admin/api-keys", {"title": "Admin", "type": "secret"}, status=400)
    assert secret["type"] == "invalid_data" and '"type"' in secret["message"]
    untitled = await admin_api.post("/admin/api-keys", {"type": "publishable"}, status=400)
    assert '"title"' in untitled["message"]


async def test_list_and_retrieve_keys(admin_api: Any) -> None:
    first = await create_key(admin_api, "Web")
    await create_key(admin_api, "App")
    listed = await admin_api.get("/admin/api-keys?order=title", model=ApiKeyListResponse)
    assert [key["title"] for key in listed["api_keys"]] == ["App", "Web"] and listed["count"] == 2
    assert [k["title"] for k in (await admin_api.get("/admin/api-keys?q=we"))["api_keys"]] == ["Web"]
    assert (await admin_api.get(f"/admin/api-keys/{first['id']}"))["api_key"] == first


async def test_retrieve_unknown_key_is_not_found(admin_api: Any) -> None:
    body = await admin_api.get("/admin/api-keys/apk_nope", status=404)
    assert body == {"type": "not_found", "message": "API key with id: apk_nope was not found"}


async def test_new_key_works_in_the_store_once_it_has_a_channel(
    admin_api: Any, client: Any, store: Any
) -> None:
    key = await create_key(admin_api)
    status, body = await store_status(client, key["token"])
    assert status == 400 and body["message"] == "Publishable key needs to have a sales channel configured"
    linked = await admin_api.post(
        f"/admin/api-keys/{key['id']}/sales-channels", {"add": [store.sales_channel_id]}
    )
    assert [channel["id"] for channel in linked["api_key"]["sales_channels"]] == [store.sales_channel_id]
    status, body = await store_status(client, key["token"])
    assert status == 200 and body["count"] == 2


async def test_removing_a_channel_applies_at_once(admin_api: Any, client: Any, store: Any) -> None:
    keys = await admin_api.get("/admin/api-keys")
    (key,) = keys["api_keys"]
    retail = await SalesChannel.create(name="Retail")
    await admin_api.post(f"/admin/api-keys/{key['id']}/sales-channels", {"add": [retail.id]})
    assert (await store_status(client, key["token"]))[1]["count"] == 2
    body = await admin_api.post(
        f"/admin/api-keys/{key['id']}/sales-channels",
        {"remove": [store.sales_channel_id]},
        model=ApiKeyResponse,
    )
    assert [channel["name"] for channel in body["api_key"]["sales_channels"]] == ["Retail"]
    assert (await store_status(client, key["token"]))[1]["count"] == 0


async def test_sales_channel_changes_refuse_unknown_ids(admin_api: Any, store: Any) -> None:
    key = await create_key(admin_api)
    body = await admin_api.post(
        f"/admin/api-keys/{key['id']}/sales-channels", {"add": ["sc_nope"]}, status=400
    )
    assert body == {"type": "invalid_data", "message": "Sales channels with ids: sc_nope were not found"}
    body = await admin_api.post("/admin/api-keys/apk_nope/sales-channels", {"add": []}, status=404)
    assert body["message"] == "API key with id: apk_nope was not found"
    body = await admin_api.post(f"/admin/api-keys/{key['id']}/sales-channels", {"set": []}, status=400)
    assert "Unrecognized fields: 'set'" in body["message"]


async def test_revoked_key_stops_working_at_once(admin_api: Any, client: Any, store: Any) -> None:
    (key,) = (await admin_api.get("/admin/api-keys"))["api_keys"]
    assert (await store_status(client, key["token"]))[0] == 200  # now cached as valid
    body = await admin_api.post(f"/admin/api-keys/{key['id']}/revoke", model=ApiKeyResponse)
    assert body["api_key"]["revoked_at"] is not None
    status, error = await store_status(client, key["token"])
    assert status == 400
    assert error == {
        "type": "not_allowed",
        "message": "A valid publishable key is required to proceed with the request",
    }
    revoked = await admin_api.get("/admin/api-keys?revoked=true")
    assert [k["id"] for k in revoked["api_keys"]] == [key["id"]]
    assert (await admin_api.get("/admin/api-keys?revoked=false"))["count"] == 0


async def test_revoking_twice_or_an_unknown_key_is_refused(admin_api: Any) -> None:
    key = await create_key(admin_api)
    await admin_api.post(f"/admin/api-keys/{key['id']}/revoke")
    body = await admin_api.post(f"/admin/api-keys/{key['id']}/revoke", status=400)
    assert body == {"type": "not_allowed", "message": f"API key with id: {key['id']} is already revoked"}
    body = await admin_api.post("/admin/api-keys/apk_nope/revoke", status=404)
    assert body["type"] == "not_found"
