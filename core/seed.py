"""A demo store to start from: region, sales channel, publishable key, admin user, ~20 products.

:func:`seed_demo_store` is idempotent: what exists (matched by name, handle or email) is kept, and
the publishable key and admin password written to ``<data dir>/credentials.json`` by an earlier run
are reused. When the admin exists but its password cannot be read back from that file, the
password is reset and the result says so. The database must be open and migrated.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import secrets
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from tortoise.transactions import in_transaction

from core.auth.passwords import hash_password, verify_password
from core.config import ServerSettings
from core.countries import ensure_countries
from core.ids import new_token
from core.models import (
    AuthIdentity,
    Price,
    Product,
    ProductOption,
    ProductOptionValue,
    ProductVariant,
    PublishableApiKey,
    Region,
    SalesChannel,
    User,
)
from core.users import create_admin_user

__all__ = [
    "ADMIN_EMAIL",
    "CATALOG",
    "CREDENTIALS_FILE",
    "Credentials",
    "ProductSeed",
    "SeedResult",
    "public_base_url",
    "read_credentials",
    "seed_demo_store",
    "write_credentials",
]

ADMIN_EMAIL = "admin@example.com"
CREDENTIALS_FILE = "credentials.json"
REGION_NAME = "Europe"
REGION_CURRENCY = "eur"
REGION_COUNTRIES = ("de", "fr", "dk", "it", "es", "se", "gb", "nl", "at", "be")
SALES_CHANNEL_NAME = "Default Sales Channel"
PUBLISHABLE_KEY_TITLE = "Default Publishable API Key"

AdminStatus = Literal["created", "kept", "reset"]


@dataclass(frozen=True)
class ProductSeed:
    """One demo product; every combination of its option values is a variant at the same prices.

    :param prices: ``(min quantity, EUR amount)`` pairs; the first applies from one item.
    :param stock: manage inventory with this quantity; None leaves inventory unmanaged.
    """

    handle: str
    title: str
    description: str
    prices: tuple[tuple[int, str], ...]
    options: tuple[tuple[str, tuple[str, ...]], ...] = ()
    stock: int | None = None


CATALOG: tuple[ProductSeed, ...] = (
    ProductSeed(
        "classic-t-shirt", "Classic T-Shirt", "Organic cotton, regular fit.", ((1, "19.90"), (10, "17.90")),
        (("Size", ("S", "M", "L", "XL")), ("Colour", ("Black", "White"))),
    ),
    ProductSeed(
        "zip-hoodie", "Zip Hoodie", "Heavy fleece with a full zip.", ((1, "49.00"),),
        (("Size", ("S", "M", "L")),),
    ),
    ProductSeed(
        "canvas-sneakers", "Canvas Sneakers", "Low-top canvas sneakers.", ((1, "69.00"),),
        (("Size", ("40", "41", "42", "43", "44")), ("Colour", ("Navy", "Off-white"))),
    ),
    ProductSeed("cap", "Cap", "Six-panel cotton cap.", ((1, "22.00"),), (("Colour", ("Black", "Beige")),)),
    ProductSeed(
        "sports-socks", "Sports Socks", "Three pairs.", ((1, "9.90"), (6, "8.90")),
        (("Size", ("39-42", "43-46")),),
    ),
    ProductSeed("coffee-mug", "Coffee Mug", "Stoneware, 350 ml.", ((1, "9.50"), (12, "8.50")), stock=25),
    ProductSeed("daypack", "Daypack", "A 20 litre backpack.", ((1, "79.00"),), stock=5),
    ProductSeed("water-bottle", "Water Bottle", "Insulated steel, 750 ml.", ((1, "14.90"),)),
    ProductSeed("a5-notebook", "A5 Notebook", "Dotted pages.", ((1, "6.50"), (10, "5.90"), (50, "4.90"))),
    ProductSeed("ballpoint-pen", "Ballpoint Pen", "Refillable, blue ink.", ((1, "1.90"), (100, "1.20"))),
    ProductSeed("tote-bag", "Tote Bag", "Canvas tote with long handles.", ((1, "12.00"),)),
    ProductSeed("beanie", "Beanie", "Merino wool.", ((1, "18.00"),)),
    ProductSeed("umbrella", "Umbrella", "Wind-proof, automatic.", ((1, "24.90"),)),
    ProductSeed("desk-lamp", "Desk Lamp", "LED, dimmable.", ((1, "39.00"),)),
    ProductSeed("phone-stand", "Phone Stand", "Aluminium.", ((1, "15.00"),)),
    ProductSeed("sticker-pack", "Sticker Pack", "Ten vinyl stickers.", ((1, "4.00"), (20, "3.00"))),
    ProductSeed("poster", "Poster", "A2, matte paper.", ((1, "12.50"),)),
    ProductSeed("wool-scarf", "Wool Scarf", "Soft lambswool.", ((1, "29.00"),)),
    ProductSeed("espresso-beans", "Espresso Beans 1 kg", "Whole beans.", ((1, "24.00"), (5, "21.00"))),
    ProductSeed("enamel-pin", "Enamel Pin", "Hard enamel, 25 mm.", ((1, "5.50"),)),
)


@dataclass(frozen=True)
class Credentials:
    """What a storefront developer needs; written to ``credentials.json``."""

    base_url: str
    publishable_api_key: str
    admin_email: str
    admin_password: str
    extra: dict[str, str] = field(default_factory=dict)
    """More entries (``odoo_url``, ``webhook_secret`` for the demo), written beside the others."""

    def as_json(self) -> dict[str, str]:
        fixed = {name: value for name, value in asdict(self).items() if name != "extra"}
        return {**fixed, **self.extra}


@dataclass(frozen=True)
class SeedResult:
    credentials: Credentials
    credentials_path: Path
    created: list[str] = field(default_factory=list)
    admin_status: AdminStatus = "kept"


def public_base_url(server: ServerSettings) -> str:
    """The URL a local client uses to reach the server (a wildcard address becomes 127.0.0.1)."""
    host = "127.0.0.1" if server.host in ("0.0.0.0", "::", "") else server.host
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{server.port}"


def read_credentials(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None when it is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_credentials(path: Path, credentials: Credentials) -> None:
    """Write the credentials readable by the owner only (mode 0600), replacing the file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(credentials.as_json(), handle, indent=2)
        handle.write("\n")
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


# -------------------------------------------------------------------------------------------------
# Store set-up
# -------------------------------------------------------------------------------------------------


async def _ensure_region(created: list[str]) -> Region:
    region = await Region.get_or_none(name=REGION_NAME, deleted_at=None)
    if region is None:
        region = await Region.create(name=REGION_NAME, currency_code=REGION_CURRENCY)
        created.append(f"region {REGION_NAME}")
    for country in await ensure_countries(REGION_COUNTRIES):
        if country.region_id is None:  # type: ignore[attr-defined]
            country.region = region
            await country.save(update_fields=["region_id"])
    return region


async def _ensure_sales_channel(created: list[str]) -> SalesChannel:
    channel = await SalesChannel.get_or_none(name=SALES_CHANNEL_NAME)
    if channel is None:
        channel = await SalesChannel.create(name=SALES_CHANNEL_NAME)
        created.append(f"sales channel {SALES_CHANNEL_NAME}")
    return channel


async def _ensure_publishable_key(
    channel: SalesChannel, previous_token: str | None, created: list[str]
) -> PublishableApiKey:
    key = None
    if previous_token:
        key = await PublishableApiKey.get_or_none(token=previous_token, revoked_at=None)
    if key is None:
        candidates = PublishableApiKey.filter(title=PUBLISHABLE_KEY_TITLE, revoked_at=None)
        key = await candidates.order_by("created_at").first()
    if key is None:
        key = await PublishableApiKey.create(title=PUBLISHABLE_KEY_TITLE, token=new_token("pk"))
        created.append("publishable key")
    if not await key.sales_channels.filter(id=channel.id).exists():
        await key.sales_channels.add(channel)
    return key


async def _ensure_admin(email: str, previous_password: str | None) -> tuple[str, AdminStatus]:
    """The admin's password and whether the user was created, kept as it was, or had its password reset."""
    identity = await AuthIdentity.get_or_none(provider="emailpass", entity_id=email, actor_type="user")
    user = await User.get_or_none(email=email)
    if user is None:
        if identity is not None:
            await identity.delete()  # a credential left behind by a deleted user
        password = previous_password or _new_password()
        await create_admin_user(email, password)
        return password, "created"
    if identity is not None and previous_password:
        if verify_password(previous_password, identity.password_hash):
            return previous_password, "kept"
    password = _new_password()
    if identity is None:
        await AuthIdentity.create(
            entity_id=email, actor_type="user", actor_id=user.id, password_hash=hash_password(password)
        )
    else:
        identity.password_hash = hash_password(password)
        await identity.save(update_fields=["password_hash"])
    return password, "reset"


def _new_password() -> str:
    return secrets.token_urlsafe(12)


# -------------------------------------------------------------------------------------------------
# Catalog
# -------------------------------------------------------------------------------------------------


def _sku(handle: str, values: tuple[str, ...]) -> str:
    return re.sub(r"[^A-Z0-9]+", "-", "-".join((handle, *values)).upper()).strip("-")


async def _create_product(seed: ProductSeed, channel: SalesChannel) -> None:
    async with in_transaction():
        product = await Product.create(
            title=seed.title, handle=seed.handle, description=seed.description, status="published"
        )
        await product.sales_channels.add(channel)
        option_values: list[list[ProductOptionValue]] = []
        for title, values in seed.options:
            option = await ProductOption.create(product=product, title=title)
            option_values.append(
                [await ProductOptionValue.create(option=option, value=value) for value in values]
            )
        for rank, combination in enumerate(itertools.product(*option_values)):
            labels = tuple(value.value for value in combination)
            variant = await ProductVariant.create(
                product=product,
                title=" / ".join(labels) or "Default",
                sku=_sku(seed.handle, labels),
                variant_rank=rank,
                manage_inventory=seed.stock is not None,
                inventory_quantity=seed.stock or 0,
            )
            if combination:
                await variant.options.add(*combination)
            for minimum, amount in seed.prices:
                await Price.create(
                    variant=variant,
                    currency_code=REGION_CURRENCY,
                    amount=Decimal(amount),
                    min_quantity=minimum if minimum > 1 else None,
                )


async def _ensure_catalog(channel: SalesChannel, created: list[str]) -> None:
    handles = [seed.handle for seed in CATALOG]
    existing = {product.handle for product in await Product.filter(handle__in=handles).only("id", "handle")}
    missing = [seed for seed in CATALOG if seed.handle not in existing]
    for seed in missing:
        await _create_product(seed, channel)
    if missing:
        created.append(f"{len(missing)} products")


async def seed_demo_store(
    *,
    data_dir: Path,
    base_url: str,
    admin_email: str = ADMIN_EMAIL,
    with_catalog: bool = True,
    extra_credentials: dict[str, str] | None = None,
) -> SeedResult:
    """Create what is missing of the demo store and write ``<data_dir>/credentials.json``.

    :param with_catalog: also the 20 demo products (not when the catalogue comes from an ERP).
    :param extra_credentials: more entries for ``credentials.json``.

    :raises core.errors.InvalidData: when a password read back from the file is too short.
    """
    path = data_dir / CREDENTIALS_FILE
    previous = read_credentials(path) or {}
    created: list[str] = []
    await _ensure_region(created)
    channel = await _ensure_sales_channel(created)
    stored_token = previous.get("publishable_api_key")
    key = await _ensure_publishable_key(channel, stored_token if isinstance(stored_token, str) else None, created)
    email = admin_email.strip().lower()
    same_admin = str(previous.get("admin_email", "")).strip().lower() == email
    stored_password = previous.get("admin_password")
    previous_password = stored_password if same_admin and isinstance(stored_password, str) else None
    password, admin_status = await _ensure_admin(email, previous_password)
    if admin_status == "created":
        created.append(f"admin user {email}")
    if with_catalog:
        await _ensure_catalog(channel, created)
    credentials = Credentials(
        base_url=base_url,
        publishable_api_key=key.token,
        admin_email=email,
        admin_password=password,
        extra=dict(extra_credentials or {}),
    )
    write_credentials(path, credentials)
    return SeedResult(credentials, path, created, admin_status)
