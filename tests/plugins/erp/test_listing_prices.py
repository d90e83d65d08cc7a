"""ERP prices in product listings (``prices_in_listings``): per customer, one ERP call per listing, cached."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pluggy
import pytest

from core.config import Settings
from core.models import Customer, ProductVariant, Region
from erpcommerce_erp.contract import PriceQuote
from tests.api.store.carts_support import customer_token, error_of
from tests.plugins.erp.conftest import ErpStore
from tests.plugins.erp.fake_erp import FakeErp


@pytest.fixture
def erp_options() -> dict[str, object]:
    return {"prices_in_listings": True}


async def listed_prices(
    client: Any, erp_store: ErpStore, region_id: str | None = None, token: str | None = None
) -> dict[str, dict[str, Any] | None]:
    """``GET /store/products?region_id=...``: each variant's ``calculated_price``."""
    resp = await client.get(
        f"/store/products?region_id={region_id or erp_store.store.region_id}", headers=erp_store.store.headers(token)
    )
    body = await resp.json()
    assert resp.status == 200, body
    return {v["id"]: v["calculated_price"] for p in body["products"] for v in p["variants"]}


def amounts(prices: dict[str, dict[str, Any] | None]) -> dict[str, tuple[float, float] | None]:
    return {k: None if p is None else (p["calculated_amount"], p["original_amount"]) for k, p in prices.items()}


def asked_prices(fake: FakeErp) -> list[list[tuple[str, int]]]:
    """Per get_prices call: the (variant, quantity) pairs asked, sorted (listing order is the page's)."""
    return [sorted((r.variant_external_id, r.quantity) for r in args[0]) for op, args in fake.log if op == "get_prices"]


async def company_token(settings: Settings, company: str) -> str:
    customer_id, token = await customer_token(settings, "buyer@acme.example")
    await Customer.filter(id=customer_id).update(company_name=company)
    return token


async def test_listings_show_erp_prices_over_the_database_price(client: Any, erp_store: ErpStore) -> None:
    prices = await listed_prices(client, erp_store)
    assert amounts(prices) == {
        erp_store.shirt_s: (9.0, 10.0),
        erp_store.shirt_m: (11.5, 12.5),
        erp_store.mug: (4.5, 5.0),
    }
    price = prices[erp_store.shirt_s]
    assert price is not None and price["currency_code"] == "eur"
    assert price["calculated_price"]["min_quantity"] is None and price["original_price"]["id"] == price["id"]
    assert asked_prices(erp_store.fake) == [[("V1", 1), ("V2", 1), ("V3", 1)]]
    (_, (_, currency, customer)) = erp_store.fake.log[-1]
    assert (currency, customer) == ("eur", None)


async def test_one_erp_call_per_listing_and_the_answers_are_cached(client: Any, erp_store: ErpStore) -> None:
    await listed_prices(client, erp_store)
    await listed_prices(client, erp_store)  # the response cache
    resp = await client.get(
        f"/store/products/{erp_store.store.product_ids[0]}?region_id={erp_store.store.region_id}",
        headers=erp_store.store.headers(),
    )
    product = (await resp.json())["product"]
    assert [v["calculated_price"]["calculated_amount"] for v in product["variants"]] == [9.0, 11.5]
    assert erp_store.fake.calls["get_prices"] == 1  # the product page came from the price cache


async def test_listings_are_priced_and_cached_per_customer(
    client: Any, erp_store: ErpStore, settings: Settings
) -> None:
    erp_store.fake.company_prices[("ACME GmbH", "V1")] = [(1, Decimal("7.25"))]
    assert amounts(await listed_prices(client, erp_store))[erp_store.shirt_s] == (9.0, 10.0)
    token = await company_token(settings, "ACME GmbH")
    assert amounts(await listed_prices(client, erp_store, token=token))[erp_store.shirt_s] == (7.25, 10.0)
    assert amounts(await listed_prices(client, erp_store))[erp_store.shirt_s] == (9.0, 10.0)
    customer = erp_store.fake.log[-1][1][2]
    assert customer is not None and customer.company_name == "ACME GmbH"
    assert erp_store.fake.calls["get_prices"] == 2


async def test_variants_the_erp_does_not_price_keep_the_database_price(client: Any, erp_store: ErpStore) -> None:
    await ProductVariant.filter(id=erp_store.shirt_s).update(external_id=None)
    del erp_store.fake.prices["V3"]
    prices = amounts(await listed_prices(client, erp_store))
    assert prices == {erp_store.shirt_s: (10.0, 10.0), erp_store.shirt_m: (11.5, 12.5), erp_store.mug: (5.0, 5.0)}
    assert asked_prices(erp_store.fake) == [[("V2", 1), ("V3", 1)]]


async def test_the_erps_compare_at_price_is_the_original_amount(client: Any, erp_store: ErpStore) -> None:
    erp_store.fake.malformed["get_prices"] = [
        PriceQuote(
            variant_external_id="V1", quantity=1, unit_price=Decimal("8"), currency_code="eur",
            compare_at_unit_price=Decimal("15"),
        )
    ]  # fmt: skip
    prices = amounts(await listed_prices(client, erp_store))
    assert prices[erp_store.shirt_s] == (8.0, 15.0) and prices[erp_store.mug] == (5.0, 5.0)


async def test_a_region_without_database_prices_shows_erp_prices(client: Any, erp_store: ErpStore) -> None:
    usa = await Region.create(name="USA", currency_code="usd")
    prices = await listed_prices(client, erp_store, region_id=usa.id)
    price = prices[erp_store.mug]
    assert price is not None
    assert (price["calculated_amount"], price["original_amount"], price["currency_code"]) == (4.5, 4.5, "usd")
    assert price["id"] == erp_store.mug


async def test_without_region_nothing_is_priced(client: Any, erp_store: ErpStore) -> None:
    resp = await client.get("/store/products", headers=erp_store.store.headers())
    assert resp.status == 200
    assert erp_store.fake.calls["get_prices"] == 0


async def test_erp_down_is_503_and_not_cached(client: Any, erp_store: ErpStore) -> None:
    erp_store.fake.down = True
    url = f"/store/products?region_id={erp_store.store.region_id}"
    body = await error_of(await client.get(url, headers=erp_store.store.headers()), 503)
    assert body == {
        "type": "unexpected_state",
        "message": "FakeERP could not be reached (get_prices): connect to FakeERP refused",
    }
    erp_store.fake.down = False
    assert amounts(await listed_prices(client, erp_store))[erp_store.mug] == (4.5, 5.0)


@pytest.mark.parametrize("erp_options", [{"prices_in_listings": True, "timeout_seconds": 0.05}])
async def test_erp_too_slow_is_503(client: Any, erp_store: ErpStore) -> None:
    erp_store.fake.delay = 0.5
    url = f"/store/products?region_id={erp_store.store.region_id}"
    body = await error_of(await client.get(url, headers=erp_store.store.headers()), 503)
    assert body["message"] == "FakeERP did not answer within 0.05 s (get_prices); try again later"


async def test_malformed_erp_answers_are_503(client: Any, erp_store: ErpStore) -> None:
    erp_store.fake.malformed["get_prices"] = [{"V1": 9}]
    url = f"/store/products?region_id={erp_store.store.region_id}"
    body = await error_of(await client.get(url, headers=erp_store.store.headers()), 503)
    assert body["message"] == "FakeERP answered get_prices with malformed data: expected a list of PriceQuote, got list"


@pytest.mark.parametrize("erp_options", [{}])
async def test_listings_keep_database_prices_by_default(
    client: Any, erp_store: ErpStore, plugins: pluggy.PluginManager
) -> None:
    assert plugins.hook.price_variants.get_hookimpls() == []
    prices = amounts(await listed_prices(client, erp_store))
    assert prices == {erp_store.shirt_s: (10.0, 10.0), erp_store.shirt_m: (12.5, 12.5), erp_store.mug: (5.0, 5.0)}
    assert erp_store.fake.calls["get_prices"] == 0
