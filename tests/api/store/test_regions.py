"""``GET /store/regions`` and ``GET /store/regions/{id}``."""

from __future__ import annotations

from typing import Any

from core.catalog.cache import bump_catalog_version
from core.countries import ensure_countries
from core.models import Region
from core.schemas.regions import RegionListResponse, RegionResponse


async def get_regions(client: Any, store: Any, query: str = "", status: int = 200) -> Any:
    resp = await client.get(f"/store/regions{query}", headers=store.headers())
    body = await resp.json()
    assert resp.status == status, body
    if status == 200:
        RegionListResponse.model_validate(body)
    return body


async def add_region(name: str, currency_code: str, countries: list[str]) -> Region:
    region = await Region.create(name=name, currency_code=currency_code, metadata={"zone": name})
    for country in await ensure_countries(countries):
        country.region = region
        await country.save(update_fields=["region_id"])
    bump_catalog_version()
    return region


async def test_list_regions_returns_countries_and_envelope(client: Any, store: Any) -> None:
    body = await get_regions(client, store)
    assert body["count"] == 1 and body["offset"] == 0 and body["limit"] == 20
    (region,) = body["regions"]
    assert region["id"] == store.region_id
    assert region["name"] == "Europe" and region["currency_code"] == "eur"
    assert [c["iso_2"] for c in region["countries"]] == ["de", "dk", "fr"]
    germany = region["countries"][0]
    assert germany == {
        "iso_2": "de",
        "iso_3": "deu",
        "num_code": "276",
        "name": "GERMANY",
        "display_name": "Germany",
        "region_id": store.region_id,
    }
    assert region["metadata"] is None and region["deleted_at"] is None


async def test_list_regions_filters_by_currency_name_id_and_q(client: Any, store: Any) -> None:
    usa = await add_region("North America", "usd", ["us", "ca"])
    assert [r["id"] for r in (await get_regions(client, store, "?currency_code=USD"))["regions"]] == [usa.id]
    assert [r["id"] for r in (await get_regions(client, store, "?name=Europe"))["regions"]] == [
        store.region_id
    ]
    by_ids = await get_regions(client, store, f"?id[0]={usa.id}&id[1]={store.region_id}")
    assert by_ids["count"] == 2
    assert [r["id"] for r in (await get_regions(client, store, "?q=america"))["regions"]] == [usa.id]
    assert (await get_regions(client, store, "?id=reg_nope"))["regions"] == []


async def test_list_regions_pages_and_orders(client: Any, store: Any) -> None:
    await add_region("Asia", "jpy", ["jp"])
    await add_region("Oceania", "aud", ["au"])
    page = await get_regions(client, store, "?limit=2&offset=1&order=name")
    assert [r["name"] for r in page["regions"]] == ["Europe", "Oceania"]
    assert (page["count"], page["offset"], page["limit"]) == (3, 1, 2)
    newest_first = await get_regions(client, store, "?order=-created_at")
    assert [r["name"] for r in newest_first["regions"]] == ["Oceania", "Asia", "Europe"]
    empty_page = await get_regions(client, store, "?offset=10")
    assert empty_page["regions"] == [] and empty_page["count"] == 3


async def test_list_regions_refuses_unknown_order_field(client: Any, store: Any) -> None:
    body = await get_regions(client, store, "?order=secret", status=400)
    assert body == {"type": "invalid_data", "message": "Order field secret is not valid"}


async def test_list_regions_refuses_bad_limit(client: Any, store: Any) -> None:
    body = await get_regions(client, store, "?limit=-1", status=400)
    assert body["type"] == "invalid_data" and "limit" in body["message"]


async def test_list_regions_hides_deleted_regions(client: Any, store: Any) -> None:
    gone = await add_region("Gone", "gbp", ["gb"])
    await Region.filter(id=gone.id).update(deleted_at=gone.created_at)
    bump_catalog_version()
    assert [r["id"] for r in (await get_regions(client, store))["regions"]] == [store.region_id]


async def test_retrieve_region(client: Any, store: Any) -> None:
    resp = await client.get(f"/store/regions/{store.region_id}", headers=store.headers())
    body = await resp.json()
    assert resp.status == 200
    region = RegionResponse.model_validate(body).region
    assert region.id == store.region_id and len(region.countries) == 3


async def test_retrieve_unknown_region_is_not_found(client: Any, store: Any) -> None:
    resp = await client.get("/store/regions/reg_nope", headers=store.headers())
    assert resp.status == 404
    assert await resp.json() == {"type": "not_found", "message": "Region with id: reg_nope was not found"}


async def test_regions_need_a_publishable_key(client: Any, store: Any) -> None:
    resp = await client.get("/store/regions")
    assert resp.status == 400
    assert (await resp.json())["type"] == "not_allowed"


async def test_a_filter_or_id_longer_than_its_column_is_invalid_data_not_a_crash(client: Any, store: Any) -> None:
    # found by scripts/drill_fuzz.py: the value reached the ORM, whose length check raised a 500
    body = await get_regions(client, store, "?currency_code=%2F%1B%09l%11", status=400)
    assert body["type"] == "invalid_data" and "currency_code" in body["message"]
    resp = await client.get(f"/store/regions/{'x' * 300}", headers=store.headers())
    assert resp.status == 400 and (await resp.json())["type"] == "invalid_data"
