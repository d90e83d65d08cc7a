"""``GET /store/products`` and ``GET /store/products/{id}``, and the catalog response cache."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from core.catalog.cache import CATALOG_CACHE, ResponseCache, bump_catalog_version
from core.errors import NotFound
from core.ids import new_token
from core.models import (
    Price,
    Product,
    ProductImage,
    ProductVariant,
    PublishableApiKey,
    Region,
    SalesChannel,
)
from core.schemas.products import StoreProductListResponse, StoreProductResponse


async def list_products(client: Any, headers: dict[str, str], query: str = "", status: int = 200) -> Any:
    resp = await client.get(f"/store/products{query}", headers=headers)
    body = await resp.json()
    assert resp.status == status, body
    if status == 200:
        StoreProductListResponse.model_validate(body)
    return body


async def retrieve_product(client: Any, headers: dict[str, str], product_id: str, query: str = "") -> Any:
    resp = await client.get(f"/store/products/{product_id}{query}", headers=headers)
    return resp.status, await resp.json()


async def add_product(channel_id: str | None, title: str, **fields: Any) -> Product:
    fields.setdefault("status", "published")
    product = await Product.create(title=title, handle=title.lower().replace(" ", "-"), **fields)
    if channel_id is not None:
        await product.sales_channels.add(await SalesChannel.get(id=channel_id))
    bump_catalog_version()
    return product


async def key_for(*channels: SalesChannel) -> dict[str, str]:
    key = await PublishableApiKey.create(title="Other", token=new_token("pk"))
    if channels:
        await key.sales_channels.add(*channels)
    return {"x-publishable-api-key": key.token}


def titles(body: Any) -> list[str]:
    return [product["title"] for product in body["products"]]


# --- listing -------------------------------------------------------------------------------------


async def test_list_products_returns_the_medusa_shape(client: Any, store: Any) -> None:
    body = await list_products(client, store.headers())
    assert (body["count"], body["offset"], body["limit"]) == (2, 0, 50)
    shirt = next(p for p in body["products"] if p["handle"] == "shirt")
    assert shirt["status"] == "published" and shirt["description"] == "A shirt"
    assert shirt["tags"] == [] and shirt["collection"] is None and shirt["type"] is None
    (size,) = shirt["options"]
    assert size["title"] == "Size" and [v["value"] for v in size["values"]] == ["S", "M"]
    small, medium = shirt["variants"]
    assert (small["sku"], medium["sku"]) == ("SHIRT-S", "SHIRT-M")
    assert small["options"] == [{"id": size["values"][0]["id"], "value": "S", "option_id": size["id"]}]
    assert small["product_id"] == shirt["id"]
    assert "calculated_price" not in small
    mug = next(p for p in body["products"] if p["handle"] == "mug")
    assert mug["options"] == [] and mug["variants"][0]["options"] == []
    assert mug["variants"][0]["manage_inventory"] is True and mug["variants"][0]["inventory_quantity"] == 3


async def test_list_products_with_region_adds_calculated_prices(client: Any, store: Any) -> None:
    body = await list_products(
        client, store.headers(), f"?region_id={store.region_id}&fields=*variants.calculated_price"
    )
    variants = {v["id"]: v for p in body["products"] for v in p["variants"]}
    for variant_id, amount in store.prices.items():
        price = variants[variant_id]["calculated_price"]
        assert price["calculated_amount"] == float(amount) == price["original_amount"]
        assert price["currency_code"] == "eur"
        assert price["is_calculated_price_tax_inclusive"] is False
        assert price["is_calculated_price_price_list"] is False
        assert price["calculated_price"]["price_list_id"] is None
        assert price["calculated_price"]["min_quantity"] is None
        assert price["original_price"] == price["calculated_price"]


async def test_variant_without_price_in_region_currency_gets_null(client: Any, store: Any) -> None:
    usa = await Region.create(name="USA", currency_code="usd")
    await Price.create(variant_id=store.variant_ids[0], currency_code="usd", amount=Decimal("11.99"))
    bump_catalog_version()
    body = await list_products(client, store.headers(), f"?region_id={usa.id}")
    variants = {v["id"]: v for p in body["products"] for v in p["variants"]}
    assert variants[store.variant_ids[0]]["calculated_price"]["calculated_amount"] == 11.99
    assert variants[store.variant_ids[1]]["calculated_price"] is None
    assert variants[store.variant_ids[2]]["calculated_price"] is None


async def test_unknown_region_is_invalid_data(client: Any, store: Any) -> None:
    body = await list_products(client, store.headers(), "?region_id=reg_nope", status=400)
    assert body == {
        "type": "invalid_data",
        "message": "Region with id reg_nope not found when populating the pricing context",
    }


async def test_list_shows_only_published_live_products_of_the_key_channels(client: Any, store: Any) -> None:
    await add_product(store.sales_channel_id, "Draft", status="draft")
    await add_product(store.sales_channel_id, "Deleted", deleted_at=datetime.now(timezone.utc))
    other = await SalesChannel.create(name="Retail")
    await add_product(other.id, "Elsewhere")
    await add_product(None, "Nowhere")
    bump_catalog_version()
    assert sorted(titles(await list_products(client, store.headers()))) == ["Mug", "Shirt"]
    assert titles(await list_products(client, await key_for(other))) == ["Elsewhere"]


async def test_disabled_sales_channel_shows_nothing(client: Any, store: Any) -> None:
    await SalesChannel.filter(id=store.sales_channel_id).update(is_disabled=True)
    bump_catalog_version()
    body = await list_products(client, store.headers())
    assert body["products"] == [] and body["count"] == 0


async def test_list_filters_by_id_handle_and_q(client: Any, store: Any) -> None:
    shirt_id, mug_id = store.product_ids
    assert titles(await list_products(client, store.headers(), f"?id={mug_id}")) == ["Mug"]
    both = await list_products(client, store.headers(), f"?id[0]={mug_id}&id[1]={shirt_id}")
    assert both["count"] == 2
    assert titles(await list_products(client, store.headers(), "?handle=shirt")) == ["Shirt"]
    assert titles(await list_products(client, store.headers(), "?q=mug")) == ["Mug"]
    assert titles(await list_products(client, store.headers(), "?q=a%20shirt")) == ["Shirt"]
    assert titles(await list_products(client, store.headers(), "?title=Mug")) == ["Mug"]
    assert (await list_products(client, store.headers(), "?q=nothing"))["count"] == 0


async def test_list_pages_and_orders(client: Any, store: Any) -> None:
    for title in ("Cap", "Bag", "Apron"):
        await add_product(store.sales_channel_id, title)
    by_title = await list_products(client, store.headers(), "?order=title&limit=2&offset=1")
    assert titles(by_title) == ["Bag", "Cap"]
    assert (by_title["count"], by_title["offset"], by_title["limit"]) == (5, 1, 2)
    newest = await list_products(client, store.headers(), "?order=-created_at&limit=3")
    assert titles(newest) == ["Apron", "Bag", "Cap"] and newest["count"] == 5
    assert titles(await list_products(client, store.headers(), "?order=-title"))[0] == "Shirt"
    count_only = await list_products(client, store.headers(), "?limit=0")
    assert count_only["products"] == [] and count_only["count"] == 5


async def test_list_refuses_unknown_order_field(client: Any, store: Any) -> None:
    body = await list_products(client, store.headers(), "?order=-price", status=400)
    assert body == {"type": "invalid_data", "message": "Order field price is not valid"}


async def test_sales_channel_filter_must_be_within_the_key(client: Any, store: Any) -> None:
    mine = await list_products(client, store.headers(), f"?sales_channel_id[0]={store.sales_channel_id}")
    assert mine["count"] == 2
    other = await SalesChannel.create(name="Retail")
    body = await list_products(client, store.headers(), f"?sales_channel_id={other.id}", status=400)
    assert body == {
        "type": "invalid_data",
        "message": "Requested sales channel is not part of the publishable key",
    }


async def test_key_without_sales_channel_is_invalid(client: Any, store: Any) -> None:
    body = await list_products(client, await key_for(), status=400)
    assert body == {
        "type": "invalid_data",
        "message": "Publishable key needs to have a sales channel configured",
    }


async def test_images_come_in_rank_order(client: Any, store: Any) -> None:
    shirt_id = store.product_ids[0]
    await ProductImage.create(product_id=shirt_id, url="https://cdn.test/back.jpg", rank=1)
    front = await ProductImage.create(product_id=shirt_id, url="https://cdn.test/front.jpg", rank=0)
    bump_catalog_version()
    status, body = await retrieve_product(client, store.headers(), shirt_id)
    assert status == 200
    assert body["product"]["images"][0] == {"id": front.id, "url": "https://cdn.test/front.jpg", "rank": 0}
    assert [image["rank"] for image in body["product"]["images"]] == [0, 1]


async def test_deleted_variants_are_hidden(client: Any, store: Any) -> None:
    await ProductVariant.filter(id=store.variant_ids[1]).update(deleted_at=datetime.now(timezone.utc))
    bump_catalog_version()
    status, body = await retrieve_product(client, store.headers(), store.product_ids[0])
    assert status == 200
    assert [v["id"] for v in body["product"]["variants"]] == [store.variant_ids[0]]


# --- retrieve ------------------------------------------------------------------------------------


async def test_retrieve_product_with_region_prices(client: Any, store: Any) -> None:
    status, body = await retrieve_product(
        client, store.headers(), store.product_ids[0], f"?region_id={store.region_id}"
    )
    assert status == 200
    product = StoreProductResponse.model_validate(body).product
    prices = [v.calculated_price.calculated_amount for v in product.variants if v.calculated_price]
    assert prices == [10.0, 12.5]


async def test_retrieve_unknown_product_is_not_found(client: Any, store: Any) -> None:
    status, body = await retrieve_product(client, store.headers(), "prod_nope")
    assert status == 404
    assert body == {"type": "not_found", "message": "Product with id: prod_nope was not found"}


async def test_retrieve_draft_or_foreign_product_is_not_found(client: Any, store: Any) -> None:
    draft = await add_product(store.sales_channel_id, "Draft", status="draft")
    other = await SalesChannel.create(name="Retail")
    foreign = await add_product(other.id, "Foreign")
    for product in (draft, foreign):
        status, body = await retrieve_product(client, store.headers(), product.id)
        assert status == 404 and body["message"] == f"Product with id: {product.id} was not found"


async def test_retrieve_with_unknown_region_is_invalid_data(client: Any, store: Any) -> None:
    status, body = await retrieve_product(client, store.headers(), store.product_ids[0], "?region_id=reg_x")
    assert status == 400 and body["type"] == "invalid_data"


# --- the response cache --------------------------------------------------------------------------


def constant(value: bytes) -> Any:
    """A cache build function giving ``value``."""

    async def build() -> bytes:
        return value

    return build


async def test_catalog_write_in_this_process_shows_at_once(client: Any, store: Any) -> None:
    assert titles(await list_products(client, store.headers(), "?order=title")) == ["Mug", "Shirt"]
    await Product.filter(id=store.product_ids[1]).update(title="Cup")
    bump_catalog_version()
    assert titles(await list_products(client, store.headers(), "?order=title")) == ["Cup", "Shirt"]


async def test_write_from_another_process_shows_after_the_ttl(client: Any, app: Any, store: Any) -> None:
    app[CATALOG_CACHE].ttl = 0.2
    assert titles(await list_products(client, store.headers(), "?order=title")) == ["Mug", "Shirt"]
    await Product.filter(id=store.product_ids[1]).update(title="Cup")  # no bump: another process wrote
    assert titles(await list_products(client, store.headers(), "?order=title")) == ["Mug", "Shirt"]
    await asyncio.sleep(0.25)
    assert titles(await list_products(client, store.headers(), "?order=title")) == ["Cup", "Shirt"]


async def test_equivalent_queries_share_a_cache_entry(client: Any, app: Any, store: Any) -> None:
    shirt_id, mug_id = store.product_ids
    await list_products(client, store.headers(), f"?id[0]={mug_id}&id[1]={shirt_id}&fields=title")
    await Product.filter(id=mug_id).update(title="Cup")  # unannounced: only a cache miss would show it
    body = await list_products(client, store.headers(), f"?id[]={shirt_id}&id[]={mug_id}")
    assert "Mug" in titles(body)


async def test_cache_shares_one_build_between_concurrent_misses() -> None:
    cache = ResponseCache(ttl=10)
    builds = 0

    async def build() -> bytes:
        nonlocal builds
        builds += 1
        await asyncio.sleep(0.01)
        return b"{}"

    bodies = await asyncio.gather(*(cache.get_or_build("k", build) for _ in range(5)))
    assert bodies == [b"{}"] * 5 and builds == 1


async def test_cache_does_not_keep_errors_and_shares_them() -> None:
    cache = ResponseCache(ttl=10)

    async def fail() -> bytes:
        await asyncio.sleep(0.01)
        raise NotFound("gone")

    results = await asyncio.gather(*(cache.get_or_build("k", fail) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(result, NotFound) for result in results)

    async def build() -> bytes:
        return b"[]"

    assert await cache.get_or_build("k", build) == b"[]"


async def test_cache_drops_the_oldest_entries_beyond_its_size() -> None:
    cache = ResponseCache(ttl=10, max_entries=2)

    for key in ("a", "b", "c"):
        await cache.get_or_build(key, constant(key.encode()))
    assert await cache.get_or_build("c", constant(b"new")) == b"c"
    assert await cache.get_or_build("a", constant(b"new")) == b"new"


async def test_cache_drops_the_oldest_entries_beyond_its_byte_budget() -> None:
    cache = ResponseCache(ttl=10, max_bytes=10)

    await cache.get_or_build("a", constant(b"aaaa"))
    await cache.get_or_build("b", constant(b"bbbb"))
    await cache.get_or_build("c", constant(b"cccc"))  # 12 bytes > 10: "a" goes
    assert await cache.get_or_build("b", constant(b"new")) == b"bbbb"
    assert await cache.get_or_build("a", constant(b"new")) == b"new"
    await cache.get_or_build("huge", constant(b"x" * 11))  # larger than the budget: never kept
    assert await cache.get_or_build("huge", constant(b"small")) == b"small"


async def test_cache_refreshes_a_hot_entry_in_the_background() -> None:
    cache = ResponseCache(ttl=0.4)
    assert await cache.get_or_build("k", constant(b"old")) == b"old"
    await asyncio.sleep(0.25)  # past half the TTL: still served, and replaced behind the scenes
    assert await cache.get_or_build("k", constant(b"new")) == b"old"
    await asyncio.sleep(0.01)
    assert await cache.get_or_build("k", constant(b"newer")) == b"new"


async def test_cache_background_refresh_failure_keeps_the_entry_until_it_expires() -> None:
    cache = ResponseCache(ttl=0.4)
    await cache.get_or_build("k", constant(b"old"))
    await asyncio.sleep(0.25)

    async def fail() -> bytes:
        raise NotFound("gone")

    assert await cache.get_or_build("k", fail) == b"old"
    await asyncio.sleep(0.01)
    assert await cache.get_or_build("k", fail) == b"old"
    await asyncio.sleep(0.2)
    with pytest.raises(NotFound):
        await cache.get_or_build("k", fail)


async def test_cache_with_zero_ttl_always_builds() -> None:
    cache = ResponseCache(ttl=0)
    calls = 0

    async def build() -> bytes:
        nonlocal calls
        calls += 1
        return b"{}"

    await cache.get_or_build("k", build)
    await cache.get_or_build("k", build)
    assert calls == 2
