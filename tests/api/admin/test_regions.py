"""Admin regions: create, list, retrieve, update; countries belong to one region at a time."""

from __future__ import annotations

from typing import Any

from core.models import Country
from core.schemas.regions import RegionListResponse, RegionResponse


async def create_region(admin_api: Any, **fields: Any) -> Any:
    payload = {"name": "Europe", "currency_code": "EUR", "countries": ["de", "FR"], **fields}
    return (await admin_api.post("/admin/regions", payload, model=RegionResponse))["region"]


def iso_codes(region: Any) -> list[str]:
    return [country["iso_2"] for country in region["countries"]]


async def test_create_region_with_countries_and_metadata(admin_api: Any) -> None:
    region = await create_region(admin_api, metadata={"vat": True})
    assert region["id"].startswith("reg_")
    assert (region["name"], region["currency_code"]) == ("Europe", "eur")
    assert iso_codes(region) == ["de", "fr"]
    assert region["metadata"] == {"vat": True} and region["automatic_taxes"] is True
    assert region["countries"][1]["display_name"] == "France"


async def test_create_region_without_countries(admin_api: Any) -> None:
    region = await create_region(admin_api, countries=[], automatic_taxes=False)
    assert region["countries"] == [] and region["automatic_taxes"] is False


async def test_create_region_refuses_unknown_country(admin_api: Any) -> None:
    body = await admin_api.post(
        "/admin/regions", {"name": "X", "currency_code": "eur", "countries": ["zz"]}, status=400
    )
    assert body == {"type": "invalid_data", "message": "Country with iso_2 'zz' is not a valid ISO 3166 code"}


async def test_create_region_refuses_a_country_of_another_region(admin_api: Any) -> None:
    await create_region(admin_api)
    body = await admin_api.post(
        "/admin/regions", {"name": "DACH", "currency_code": "eur", "countries": ["at", "de"]}, status=400
    )
    assert body == {
        "type": "invalid_data",
        "message": 'Countries with codes: "de" are already assigned to a region',
    }
    listed = await admin_api.get("/admin/regions")
    assert [region["name"] for region in listed["regions"]] == ["Europe"]  # nothing of DACH was kept
    assert await Country.filter(iso_2="at", region_id__isnull=False).count() == 0


async def test_create_region_refuses_duplicate_countries(admin_api: Any) -> None:
    body = await admin_api.post(
        "/admin/regions", {"name": "X", "currency_code": "eur", "countries": ["de", "DE"]}, status=400
    )
    assert body["message"] == 'Countries with codes: "de" are already assigned to a region'


async def test_create_region_validates_the_body(admin_api: Any) -> None:
    missing = await admin_api.post("/admin/regions", {"currency_code": "eur"}, status=400)
    assert missing["type"] == "invalid_data" and '"name"' in missing["message"]
    unknown = await admin_api.post(
        "/admin/regions", {"name": "X", "currency_code": "eur", "tax": 1}, status=400
    )
    assert "Unrecognized fields: 'tax'" in unknown["message"]
    bad_currency = await admin_api.post("/admin/regions", {"name": "X", "currency_code": "euro"}, status=400)
    assert "currency_code" in bad_currency["message"]


async def test_list_regions_pages_and_filters(admin_api: Any) -> None:
    await create_region(admin_api)
    await create_region(admin_api, name="USA", currency_code="usd", countries=["us"])
    await create_region(admin_api, name="UK", currency_code="gbp", countries=["gb"])
    page = await admin_api.get("/admin/regions?limit=2&order=-created_at", model=RegionListResponse)
    assert [r["name"] for r in page["regions"]] == ["UK", "USA"]
    assert (page["count"], page["limit"], page["offset"]) == (3, 2, 0)
    found = await admin_api.get("/admin/regions?q=us")
    assert [r["name"] for r in found["regions"]] == ["USA"]


async def test_retrieve_region(admin_api: Any) -> None:
    created = await create_region(admin_api)
    body = await admin_api.get(f"/admin/regions/{created['id']}", model=RegionResponse)
    assert body["region"] == created


async def test_retrieve_unknown_region_is_not_found(admin_api: Any) -> None:
    body = await admin_api.get("/admin/regions/reg_nope", status=404)
    assert body == {"type": "not_found", "message": "Region with id: reg_nope was not found"}


async def test_update_region_fields(admin_api: Any) -> None:
    created = await create_region(admin_api, metadata={"a": 1})
    body = await admin_api.post(
        f"/admin/regions/{created['id']}",
        {"name": "EU", "currency_code": "USD", "metadata": None},
        model=RegionResponse,
    )
    region = body["region"]
    assert (region["name"], region["currency_code"], region["metadata"]) == ("EU", "usd", None)
    assert iso_codes(region) == ["de", "fr"]


async def test_update_region_replaces_countries_and_frees_the_old_ones(admin_api: Any) -> None:
    europe = await create_region(admin_api)
    updated = await admin_api.post(f"/admin/regions/{europe['id']}", {"countries": ["fr", "it"]})
    assert iso_codes(updated["region"]) == ["fr", "it"]
    germany = await create_region(admin_api, name="Germany", countries=["de"])
    assert iso_codes(germany) == ["de"]


async def test_update_region_refuses_a_taken_country_and_changes_nothing(admin_api: Any) -> None:
    europe = await create_region(admin_api)
    usa = await create_region(admin_api, name="USA", currency_code="usd", countries=["us"])
    body = await admin_api.post(
        f"/admin/regions/{usa['id']}", {"name": "Americas", "countries": ["us", "de"]}, status=400
    )
    assert body["message"] == 'Countries with codes: "de" are already assigned to a region'
    unchanged = (await admin_api.get(f"/admin/regions/{usa['id']}"))["region"]
    assert unchanged["name"] == "USA" and iso_codes(unchanged) == ["us"]
    assert iso_codes((await admin_api.get(f"/admin/regions/{europe['id']}"))["region"]) == ["de", "fr"]


async def test_update_unknown_region_is_not_found(admin_api: Any) -> None:
    body = await admin_api.post("/admin/regions/reg_nope", {"name": "X"}, status=404)
    assert body["message"] == "Region with id: reg_nope was not found"


async def test_region_changes_reach_the_store_at_once(admin_api: Any, client: Any, store: Any) -> None:
    resp = await client.get("/store/regions", headers=store.headers())
    assert [r["name"] for r in (await resp.json())["regions"]] == ["Europe"]
    await admin_api.post(f"/admin/regions/{store.region_id}", {"name": "Euro zone"})
    await create_region(admin_api, name="USA", currency_code="usd", countries=["us"])
    resp = await client.get("/store/regions", headers=store.headers())
    assert [r["name"] for r in (await resp.json())["regions"]] == ["Euro zone", "USA"]
