"""Admin products: create with options/variants/prices, list, retrieve, update, variants, delete."""

from __future__ import annotations

from typing import Any

import pytest

from core.catalog.admin import handle_from_title
from core.models import Product, ProductVariant, SalesChannel
from core.schemas.products import AdminProductListResponse, AdminProductResponse, ProductDeletedResponse


def tee_payload(**fields: Any) -> dict[str, Any]:
    """A T-shirt in two sizes and two colours... of which two combinations are sold."""
    payload = {
        "title": "Tee Shirt",
        "description": "Organic cotton",
        "status": "published",
        "thumbnail": "https://cdn.test/tee.jpg",
        "images": [{"url": "https://cdn.test/tee-front.jpg"}, {"url": "https://cdn.test/tee-back.jpg"}],
        "external_id": "odoo-tmpl-7",
        "metadata": {"origin": "erp"},
        "options": [
            {"title": "Size", "values": ["S", "M"]},
            {"title": "Color", "values": ["Black", "White"]},
        ],
        "variants": [
            {
                "title": "S / Black",
                "sku": "TEE-S-BLK",
                "manage_inventory": True,
                "inventory_quantity": 5,
                "options": {"Size": "S", "Color": "Black"},
                "prices": [
                    {"currency_code": "EUR", "amount": 19.9},
                    {"currency_code": "eur", "amount": "17.50", "min_quantity": 10},
                    {"currency_code": "usd", "amount": 21},
                ],
            },
            {
                "title": "M / White",
                "sku": "TEE-M-WHT",
                "allow_backorder": True,
                "options": {"Size": "M", "Color": "White"},
                "prices": [{"currency_code": "eur", "amount": 21.5}],
                "metadata": {"fit": "regular"},
            },
        ],
    }
    payload.update(fields)
    return payload


async def create(admin_api: Any, expect: int = 200, **fields: Any) -> Any:
    body = await admin_api.post("/admin/products", tee_payload(**fields), status=expect)
    if expect == 200:
        AdminProductResponse.model_validate(body)
        return body["product"]
    return body


async def store_titles(client: Any, store: Any) -> list[str]:
    resp = await client.get("/store/products?order=title", headers=store.headers())
    return [product["title"] for product in (await resp.json())["products"]]


# --- create --------------------------------------------------------------------------------------


async def test_create_product_with_options_variants_prices_and_images(admin_api: Any, store: Any) -> None:
    product = await create(admin_api, sales_channels=[{"id": store.sales_channel_id}])
    assert product["handle"] == "tee-shirt" and product["status"] == "published"
    assert product["external_id"] == "odoo-tmpl-7" and product["metadata"] == {"origin": "erp"}
    assert [image["url"] for image in product["images"]] == [
        "https://cdn.test/tee-front.jpg",
        "https://cdn.test/tee-back.jpg",
    ]
    assert [image["rank"] for image in product["images"]] == [0, 1]
    assert [(o["title"], [v["value"] for v in o["values"]]) for o in product["options"]] == [
        ("Size", ["S", "M"]),
        ("Color", ["Black", "White"]),
    ]
    small, medium = product["variants"]
    assert [option["value"] for option in small["options"]] == ["S", "Black"]  # in the product's option order
    assert (small["manage_inventory"], small["inventory_quantity"], small["variant_rank"]) == (True, 5, 0)
    assert medium["allow_backorder"] is True and medium["metadata"] == {"fit": "regular"}
    prices = {(p["currency_code"], p["min_quantity"]): p["amount"] for p in small["prices"]}
    assert prices == {("eur", None): 19.9, ("eur", 10): 17.5, ("usd", None): 21.0}
    assert [channel["id"] for channel in product["sales_channels"]] == [store.sales_channel_id]


async def test_created_product_is_sold_in_the_store_at_once(admin_api: Any, client: Any, store: Any) -> None:
    assert await store_titles(client, store) == ["Mug", "Shirt"]
    product = await create(admin_api, sales_channels=[{"id": store.sales_channel_id}])
    assert await store_titles(client, store) == ["Mug", "Shirt", "Tee Shirt"]
    resp = await client.get(
        f"/store/products/{product['id']}?region_id={store.region_id}", headers=store.headers()
    )
    variants = (await resp.json())["product"]["variants"]
    assert [v["calculated_price"]["calculated_amount"] for v in variants] == [19.9, 21.5]


async def test_minimal_product_is_a_draft_without_variants(admin_api: Any) -> None:
    body = await admin_api.post("/admin/products", {"title": "Gift Card"}, model=AdminProductResponse)
    product = body["product"]
    assert (product["handle"], product["status"]) == ("gift-card", "draft")
    assert product["variants"] == [] and product["options"] == [] and product["sales_channels"] == []


@pytest.mark.parametrize(
    ("title", "handle"),
    [("Crème Brûlée 2", "creme-brulee-2"), ("  Big -- Mug!  ", "big-mug"), ("T_Shirt/XL", "t-shirt-xl")],
)
def test_handle_is_derived_from_the_title(title: str, handle: str) -> None:
    assert handle_from_title(title) == handle


async def test_title_without_letters_needs_a_handle(admin_api: Any) -> None:
    body = await admin_api.post("/admin/products", {"title": "!!!"}, status=400)
    assert body["type"] == "invalid_data" and "handle" in body["message"]
    assert (await admin_api.post("/admin/products", {"title": "!!!", "handle": "bang"}))["product"][
        "handle"
    ] == "bang"


async def test_duplicate_handle_is_refused(admin_api: Any) -> None:
    await create(admin_api)
    body = await create(admin_api, expect=422, external_id=None, variants=[])
    assert body == {
        "type": "duplicate_error",
        "code": "invalid_request_error",
        "message": "Product with handle: tee-shirt, already exists.",
    }


async def test_duplicate_sku_is_refused_in_the_body_and_against_the_catalog(admin_api: Any) -> None:
    payload = tee_payload()
    payload["variants"][1]["sku"] = "TEE-S-BLK"
    body = await admin_api.post("/admin/products", payload, status=422)
    assert body["message"] == "Product variant with sku: TEE-S-BLK, already exists."
    await create(admin_api)
    other = tee_payload(title="Other", external_id=None)
    other["variants"][1]["sku"] = "OTHER"
    body = await admin_api.post("/admin/products", other, status=422)
    assert body["message"] == "Product variant with sku: TEE-S-BLK, already exists."
    assert await Product.all().count() == 1


async def test_duplicate_external_id_is_refused(admin_api: Any) -> None:
    await create(admin_api)
    body = await create(admin_api, expect=422, handle="other", variants=[])
    assert body["message"] == "Product with external_id: odoo-tmpl-7, already exists."


@pytest.mark.parametrize(
    ("variant_options", "message"),
    [
        ({"Size": "S"}, 'Variant "S / Black" has no value for option "Color"'),
        (
            {"Size": "S", "Color": "Black", "Fit": "Slim"},
            'Variant "S / Black" names an option the product does not have: "Fit"',
        ),
        ({"Size": "XL", "Color": "Black"}, 'Variant "S / Black": "XL" is not a value of option "Size"'),
        ({"Size": "M", "Color": "White"}, 'Variants "S / Black" and "M / White" have the same option values'),
    ],
)
async def test_variant_options_must_match_the_product_options(
    admin_api: Any, variant_options: dict[str, str], message: str
) -> None:
    payload = tee_payload()
    payload["variants"][0]["options"] = variant_options
    body = await admin_api.post("/admin/products", payload, status=400)
    assert body == {"type": "invalid_data", "message": message}
    assert await Product.all().count() == 0


async def test_options_must_have_distinct_titles_and_values(admin_api: Any) -> None:
    titles = await create(
        admin_api, expect=400, options=[{"title": "Size", "values": ["S"]}] * 2, variants=[]
    )
    assert titles["message"] == "Product options must have distinct titles"
    values = await create(
        admin_api, expect=400, options=[{"title": "Size", "values": ["S", "S"]}], variants=[]
    )
    assert values["message"] == 'Option "Size" has duplicate values'


async def test_prices_must_be_consistent(admin_api: Any) -> None:
    payload = tee_payload()
    payload["variants"][1]["prices"] = [
        {"currency_code": "eur", "amount": 1},
        {"currency_code": "EUR", "amount": 2},
    ]
    body = await admin_api.post("/admin/products", payload, status=400)
    assert body["message"] == 'Variant "M / White" has two eur prices from the same quantity'
    payload["variants"][1]["prices"] = [
        {"currency_code": "eur", "amount": 1, "min_quantity": 5, "max_quantity": 2}
    ]
    body = await admin_api.post("/admin/products", payload, status=400)
    assert "max_quantity below its min_quantity" in body["message"]
    payload["variants"][1]["prices"] = [{"currency_code": "eur", "amount": -1}]
    body = await admin_api.post("/admin/products", payload, status=400)
    assert "amount" in body["message"]


async def test_create_refuses_unknown_sales_channel_status_and_fields(admin_api: Any) -> None:
    channel = await create(admin_api, expect=400, sales_channels=[{"id": "sc_nope"}])
    assert channel == {"type": "invalid_data", "message": "Sales channels with ids: sc_nope were not found"}
    status = await create(admin_api, expect=400, status="archived")
    assert "status" in status["message"]
    unknown = await create(admin_api, expect=400, collection_id="pcol_1")
    assert "Unrecognized fields: 'collection_id'" in unknown["message"]
    assert await Product.all().count() == 0


# --- list and retrieve ---------------------------------------------------------------------------


async def test_list_includes_drafts_and_filters(admin_api: Any, store: Any) -> None:
    await admin_api.post("/admin/products", {"title": "Draft Cap"})
    everything = await admin_api.get("/admin/products?order=title", model=AdminProductListResponse)
    assert [p["title"] for p in everything["products"]] == ["Draft Cap", "Mug", "Shirt"]
    drafts = await admin_api.get("/admin/products?status=draft")
    assert [p["title"] for p in drafts["products"]] == ["Draft Cap"]
    published = await admin_api.get("/admin/products?status[]=published&status[]=proposed&order=-title")
    assert [p["title"] for p in published["products"]] == ["Shirt", "Mug"]
    assert [p["title"] for p in (await admin_api.get("/admin/products?q=cap"))["products"]] == ["Draft Cap"]
    in_channel = await admin_api.get(f"/admin/products?sales_channel_id={store.sales_channel_id}")
    assert in_channel["count"] == 2
    page = await admin_api.get("/admin/products?limit=1&offset=1&order=title")
    assert [p["title"] for p in page["products"]] == ["Mug"] and page["count"] == 3


async def test_list_refuses_unknown_status(admin_api: Any) -> None:
    body = await admin_api.get("/admin/products?status=archived", status=400)
    assert body["type"] == "invalid_data" and "status" in body["message"]


async def test_retrieve_product_shows_prices_and_channels(admin_api: Any, store: Any) -> None:
    body = await admin_api.get(f"/admin/products/{store.product_ids[0]}", model=AdminProductResponse)
    product = body["product"]
    medium = product["variants"][1]
    assert sorted(price["amount"] for price in medium["prices"]) == [11.0, 12.5]
    assert product["sales_channels"][0]["name"] == "Webshop"


async def test_retrieve_unknown_product_is_not_found(admin_api: Any) -> None:
    body = await admin_api.get("/admin/products/prod_nope", status=404)
    assert body == {"type": "not_found", "message": "Product with id: prod_nope was not found"}


# --- update --------------------------------------------------------------------------------------


async def test_update_product_fields(admin_api: Any, client: Any, store: Any) -> None:
    shirt_id = store.product_ids[0]
    body = await admin_api.post(
        f"/admin/products/{shirt_id}",
        {"title": "Polo", "subtitle": "Classic", "description": None, "handle": "polo", "metadata": {"a": 1}},
        model=AdminProductResponse,
    )
    product = body["product"]
    assert (product["title"], product["subtitle"], product["description"]) == ("Polo", "Classic", None)
    assert product["handle"] == "polo" and product["metadata"] == {"a": 1}
    assert len(product["variants"]) == 2  # untouched
    assert await store_titles(client, store) == ["Mug", "Polo"]


async def test_update_refuses_unknown_fields(admin_api: Any, store: Any) -> None:
    body = await admin_api.post(f"/admin/products/{store.product_ids[0]}", {"options": []}, status=400)
    assert body["message"] == "Invalid request: Unrecognized fields: 'options'"


async def test_unpublishing_hides_the_product_from_the_store(admin_api: Any, client: Any, store: Any) -> None:
    await admin_api.post(f"/admin/products/{store.product_ids[1]}", {"status": "draft"})
    assert await store_titles(client, store) == ["Shirt"]


async def test_update_sales_channels_replaces_them(admin_api: Any, client: Any, store: Any) -> None:
    retail = await SalesChannel.create(name="Retail")
    body = await admin_api.post(
        f"/admin/products/{store.product_ids[1]}", {"sales_channels": [{"id": retail.id}]}
    )
    assert [channel["name"] for channel in body["product"]["sales_channels"]] == ["Retail"]
    assert await store_titles(client, store) == ["Shirt"]
    await admin_api.post(f"/admin/products/{store.product_ids[1]}", {"sales_channels": []})
    assert (await admin_api.get(f"/admin/products/{store.product_ids[1]}"))["product"]["sales_channels"] == []


async def test_update_refuses_a_taken_handle(admin_api: Any, store: Any) -> None:
    body = await admin_api.post(f"/admin/products/{store.product_ids[0]}", {"handle": "mug"}, status=422)
    assert body["message"] == "Product with handle: mug, already exists."
    same = await admin_api.post(f"/admin/products/{store.product_ids[0]}", {"handle": "shirt"})
    assert same["product"]["handle"] == "shirt"


async def test_update_refuses_unknown_product_and_channel(admin_api: Any, store: Any) -> None:
    body = await admin_api.post("/admin/products/prod_nope", {"title": "X"}, status=404)
    assert body["message"] == "Product with id: prod_nope was not found"
    body = await admin_api.post(
        f"/admin/products/{store.product_ids[0]}", {"sales_channels": [{"id": "sc_x"}]}, status=400
    )
    assert body["message"] == "Sales channels with ids: sc_x were not found"


async def test_null_for_a_required_field_changes_nothing(admin_api: Any, store: Any) -> None:
    body = await admin_api.post(f"/admin/products/{store.product_ids[0]}", {"title": None, "status": None})
    assert (body["product"]["title"], body["product"]["status"]) == ("Shirt", "published")


# --- variants ------------------------------------------------------------------------------------


async def test_update_variant_fields_and_replace_prices(admin_api: Any, client: Any, store: Any) -> None:
    shirt_id, medium_id = store.product_ids[0], store.variant_ids[1]
    body = await admin_api.post(
        f"/admin/products/{shirt_id}/variants/{medium_id}",
        {
            "title": "Medium",
            "sku": "SHIRT-MED",
            "inventory_quantity": 7,
            "manage_inventory": True,
            "metadata": {"x": 1},
            "prices": [{"currency_code": "eur", "amount": 13.25}],
        },
        model=AdminProductResponse,
    )
    medium = body["product"]["variants"][1]
    assert (medium["title"], medium["sku"], medium["inventory_quantity"]) == ("Medium", "SHIRT-MED", 7)
    assert medium["manage_inventory"] is True and medium["metadata"] == {"x": 1}
    assert [(p["currency_code"], p["amount"], p["min_quantity"]) for p in medium["prices"]] == [
        ("eur", 13.25, None)
    ]
    resp = await client.get(
        f"/store/products/{shirt_id}?region_id={store.region_id}", headers=store.headers()
    )
    store_medium = (await resp.json())["product"]["variants"][1]
    assert store_medium["calculated_price"]["calculated_amount"] == 13.25


async def test_update_variant_without_prices_keeps_them(admin_api: Any, store: Any) -> None:
    body = await admin_api.post(
        f"/admin/products/{store.product_ids[0]}/variants/{store.variant_ids[1]}", {"barcode": "123"}
    )
    assert len(body["product"]["variants"][1]["prices"]) == 2


async def test_update_variant_refuses_taken_sku(admin_api: Any, store: Any) -> None:
    path = f"/admin/products/{store.product_ids[0]}/variants/{store.variant_ids[1]}"
    body = await admin_api.post(path, {"sku": "MUG"}, status=422)
    assert body["message"] == "Product variant with sku: MUG, already exists."


async def test_update_variant_refuses_bad_prices(admin_api: Any, store: Any) -> None:
    path = f"/admin/products/{store.product_ids[0]}/variants/{store.variant_ids[1]}"
    body = await admin_api.post(path, {"prices": [{"currency_code": "eur", "amount": 1}] * 2}, status=400)
    assert "two eur prices" in body["message"]


async def test_update_variant_of_another_product_is_not_found(admin_api: Any, store: Any) -> None:
    mug_id, shirt_small = store.product_ids[1], store.variant_ids[0]
    body = await admin_api.post(
        f"/admin/products/{mug_id}/variants/{shirt_small}", {"title": "X"}, status=404
    )
    assert body == {"type": "not_found", "message": f"Product variant with id: {shirt_small} was not found"}
    body = await admin_api.post(
        f"/admin/products/prod_nope/variants/{shirt_small}", {"title": "X"}, status=404
    )
    assert body["message"] == "Product with id: prod_nope was not found"


# --- delete --------------------------------------------------------------------------------------


async def test_delete_product_is_soft_and_leaves_the_store(admin_api: Any, client: Any, store: Any) -> None:
    mug_id = store.product_ids[1]
    body = await admin_api.delete(f"/admin/products/{mug_id}", model=ProductDeletedResponse)
    assert body == {"id": mug_id, "object": "product", "deleted": True}
    assert await store_titles(client, store) == ["Shirt"]
    resp = await client.get(f"/store/products/{mug_id}", headers=store.headers())
    assert resp.status == 404
    assert (await admin_api.get("/admin/products"))["count"] == 1
    await admin_api.get(f"/admin/products/{mug_id}", status=404)
    product = await Product.get(id=mug_id)
    assert product.deleted_at is not None
    assert await ProductVariant.filter(product_id=mug_id, deleted_at__isnull=True).count() == 0


async def test_delete_unknown_or_deleted_product_is_not_found(admin_api: Any, store: Any) -> None:
    await admin_api.delete(f"/admin/products/{store.product_ids[1]}")
    body = await admin_api.delete(f"/admin/products/{store.product_ids[1]}", status=404)
    assert body["message"] == f"Product with id: {store.product_ids[1]} was not found"
    await admin_api.post(f"/admin/products/{store.product_ids[1]}", {"title": "X"}, status=404)
