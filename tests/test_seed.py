"""The demo store seed (core.seed): what it creates, and that running it again changes nothing."""

from __future__ import annotations

import json
import stat
from decimal import Decimal
from pathlib import Path

from core.auth.passwords import verify_password
from core.config import ServerSettings
from core.models import (
    AuthIdentity,
    Country,
    Price,
    Product,
    ProductOption,
    ProductVariant,
    PublishableApiKey,
    Region,
    SalesChannel,
    User,
)
from core.seed import ADMIN_EMAIL, CATALOG, SeedResult, public_base_url, seed_demo_store

BASE_URL = "http://127.0.0.1:9000"


async def seed(data_dir: Path) -> SeedResult:
    return await seed_demo_store(data_dir=data_dir, base_url=BASE_URL)


async def row_counts() -> dict[str, int]:
    models = (Region, SalesChannel, PublishableApiKey, User, AuthIdentity, Product, ProductVariant, Price)
    return {model.__name__: await model.all().count() for model in models}


async def admin_password_hash() -> str:
    identity = await AuthIdentity.get(entity_id=ADMIN_EMAIL, actor_type="user")
    return identity.password_hash


async def test_seed_creates_region_channel_key_admin_and_catalog(db: None, tmp_path: Path) -> None:
    result = await seed(tmp_path)

    region = await Region.get(name="Europe")
    assert region.currency_code == "eur"
    countries = {country.iso_2 for country in await Country.filter(region_id=region.id)}
    assert {"de", "fr", "dk", "it", "es", "se", "gb"} <= countries
    channel = await SalesChannel.get(name="Default Sales Channel")
    key = await PublishableApiKey.get(token=result.credentials.publishable_api_key)
    assert [c.id for c in await key.sales_channels.all()] == [channel.id]
    assert verify_password(result.credentials.admin_password, await admin_password_hash())
    assert await Product.filter(status="published").count() == len(CATALOG) == 20
    assert await Product.filter(sales_channels__id=channel.id).count() == 20
    assert result.admin_status == "created"
    assert result.created[-1] == "20 products"


async def test_seed_builds_option_variants_prices_and_inventory(db: None, tmp_path: Path) -> None:
    await seed(tmp_path)

    shirt = await Product.get(handle="classic-t-shirt")
    assert sorted(option.title for option in await ProductOption.filter(product=shirt)) == ["Colour", "Size"]
    variants = await ProductVariant.filter(product=shirt).prefetch_related("options")
    assert len(variants) == 8
    large_black = next(v for v in variants if v.title == "L / Black")
    assert large_black.sku == "CLASSIC-T-SHIRT-L-BLACK"
    assert sorted(value.value for value in large_black.options) == ["Black", "L"]
    prices = {(p.min_quantity, Decimal(p.amount)) for p in await Price.filter(variant=large_black)}
    assert prices == {(None, Decimal("19.90")), (10, Decimal("17.90"))}

    managed = await ProductVariant.filter(manage_inventory=True).prefetch_related("product")
    assert {variant.product.handle for variant in managed} == {"coffee-mug", "daypack"}
    assert all(variant.inventory_quantity > 0 for variant in managed)
    assert await Price.filter(currency_code="eur").count() == await Price.all().count()


async def test_seed_writes_credentials_readable_by_owner_only(db: None, tmp_path: Path) -> None:
    result = await seed(tmp_path / "data")
    path = tmp_path / "data" / "credentials.json"
    assert result.credentials_path == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {
        "base_url": BASE_URL,
        "publishable_api_key": result.credentials.publishable_api_key,
        "admin_email": ADMIN_EMAIL,
        "admin_password": result.credentials.admin_password,
    }


async def test_seed_twice_creates_nothing_and_keeps_key_and_password(db: None, tmp_path: Path) -> None:
    first = await seed(tmp_path)
    counts = await row_counts()
    second = await seed(tmp_path)

    assert await row_counts() == counts
    assert second.created == []
    assert second.admin_status == "kept"
    assert second.credentials == first.credentials


async def test_seed_without_credentials_file_resets_admin_password(db: None, tmp_path: Path) -> None:
    first = await seed(tmp_path)
    first.credentials_path.unlink()
    second = await seed(tmp_path)

    assert second.admin_status == "reset"
    assert second.credentials.admin_password != first.credentials.admin_password
    assert verify_password(second.credentials.admin_password, await admin_password_hash())
    assert second.credentials.publishable_api_key == first.credentials.publishable_api_key
    assert await User.filter(email=ADMIN_EMAIL).count() == 1


async def test_seed_with_a_stale_password_in_the_file_resets_it(db: None, tmp_path: Path) -> None:
    first = await seed(tmp_path)
    stale = json.loads(first.credentials_path.read_text())
    stale["admin_password"] = "not-the-password"
    first.credentials_path.write_text(json.dumps(stale))

    second = await seed(tmp_path)
    assert second.admin_status == "reset"
    assert verify_password(second.credentials.admin_password, await admin_password_hash())


async def test_seed_recreates_a_deleted_admin_with_the_password_from_the_file(db: None, tmp_path: Path) -> None:
    first = await seed(tmp_path)
    await User.filter(email=ADMIN_EMAIL).delete()

    second = await seed(tmp_path)
    assert second.admin_status == "created"
    assert second.credentials.admin_password == first.credentials.admin_password
    assert verify_password(first.credentials.admin_password, await admin_password_hash())


async def test_seed_replaces_a_revoked_key(db: None, tmp_path: Path) -> None:
    first = await seed(tmp_path)
    key = await PublishableApiKey.get(token=first.credentials.publishable_api_key)
    await PublishableApiKey.filter(id=key.id).update(revoked_at=key.created_at)

    second = await seed(tmp_path)
    assert second.credentials.publishable_api_key != first.credentials.publishable_api_key
    assert "publishable key" in second.created


def test_public_base_url_turns_a_wildcard_address_into_loopback() -> None:
    assert public_base_url(ServerSettings(host="0.0.0.0", port=9100)) == "http://127.0.0.1:9100"
    assert public_base_url(ServerSettings(host="shop.internal", port=80)) == "http://shop.internal:80"
    assert public_base_url(ServerSettings(host="::1", port=9000)) == "http://[::1]:9000"


async def test_seed_without_catalog_writes_the_extra_credentials(db: None, tmp_path: Path) -> None:
    extra = {"odoo_url": "http://127.0.0.1:8069", "webhook_secret": "s" * 40}
    result = await seed_demo_store(data_dir=tmp_path, base_url=BASE_URL, with_catalog=False, extra_credentials=extra)

    assert await Product.all().count() == 0
    assert await PublishableApiKey.filter(token=result.credentials.publishable_api_key).exists()
    written = json.loads((tmp_path / "credentials.json").read_text())
    assert written == {
        "base_url": BASE_URL,
        "publishable_api_key": result.credentials.publishable_api_key,
        "admin_email": ADMIN_EMAIL,
        "admin_password": result.credentials.admin_password,
        **extra,
    }
