"""The catalog: regions and countries, sales channels, publishable keys, products, variants, prices."""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from core.models.base import TimestampedModel, id_field, money_field

__all__ = [
    "Country",
    "Price",
    "Product",
    "ProductImage",
    "ProductOption",
    "ProductOptionValue",
    "ProductVariant",
    "PublishableApiKey",
    "Region",
    "SalesChannel",
]


class Region(TimestampedModel):
    id = id_field("reg")
    name = fields.CharField(max_length=255)
    currency_code = fields.CharField(max_length=3)
    automatic_taxes = fields.BooleanField(default=True, db_default=True)
    metadata = fields.JSONField(null=True)
    deleted_at = fields.DatetimeField(null=True)

    countries: fields.ReverseRelation[Country]

    class Meta:
        table = "region"


class Country(Model):
    iso_2 = fields.CharField(primary_key=True, max_length=2)
    iso_3 = fields.CharField(max_length=3)
    num_code = fields.CharField(max_length=3)
    name = fields.CharField(max_length=255)
    display_name = fields.CharField(max_length=255)
    region: fields.ForeignKeyNullableRelation[Region] = fields.ForeignKeyField(
        "commerce.Region", related_name="countries", null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "country"


class SalesChannel(TimestampedModel):
    id = id_field("sc")
    name = fields.CharField(max_length=255)
    description = fields.TextField(null=True)
    is_disabled = fields.BooleanField(default=False, db_default=False)

    class Meta:
        table = "sales_channel"


class PublishableApiKey(TimestampedModel):
    """A publishable key a storefront sends as ``x-publishable-api-key``, scoped to sales channels."""

    id = id_field("apk")
    token = fields.CharField(max_length=80, unique=True)
    title = fields.CharField(max_length=255)
    revoked_at = fields.DatetimeField(null=True)
    sales_channels: fields.ManyToManyRelation[SalesChannel] = fields.ManyToManyField(
        "commerce.SalesChannel", related_name="api_keys", through="publishable_api_key_sales_channel"
    )

    class Meta:
        table = "publishable_api_key"


class Product(TimestampedModel):
    id = id_field("prod")
    title = fields.CharField(max_length=255)
    subtitle = fields.CharField(max_length=255, null=True)
    description = fields.TextField(null=True)
    handle = fields.CharField(max_length=255, unique=True)
    status = fields.CharField(max_length=16, default="draft", db_default="draft")
    thumbnail = fields.CharField(max_length=1024, null=True)
    is_giftcard = fields.BooleanField(default=False, db_default=False)
    discountable = fields.BooleanField(default=True, db_default=True)
    external_id = fields.CharField(max_length=255, null=True, unique=True)
    metadata = fields.JSONField(null=True)
    deleted_at = fields.DatetimeField(null=True)
    sales_channels: fields.ManyToManyRelation[SalesChannel] = fields.ManyToManyField(
        "commerce.SalesChannel", related_name="products", through="product_sales_channel"
    )

    options: fields.ReverseRelation[ProductOption]
    variants: fields.ReverseRelation[ProductVariant]
    images: fields.ReverseRelation[ProductImage]

    class Meta:
        table = "product"
        indexes = (Index(fields=("status", "created_at")),)


class ProductImage(TimestampedModel):
    id = id_field("img")
    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField(
        "commerce.Product", related_name="images", on_delete=fields.CASCADE
    )
    url = fields.CharField(max_length=1024)
    rank = fields.IntField(default=0, db_default=0)

    class Meta:
        table = "product_image"


class ProductOption(TimestampedModel):
    id = id_field("opt")
    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField(
        "commerce.Product", related_name="options", on_delete=fields.CASCADE
    )
    title = fields.CharField(max_length=255)

    values: fields.ReverseRelation[ProductOptionValue]

    class Meta:
        table = "product_option"
        unique_together = (("product", "title"),)


class ProductOptionValue(TimestampedModel):
    id = id_field("optval")
    option: fields.ForeignKeyRelation[ProductOption] = fields.ForeignKeyField(
        "commerce.ProductOption", related_name="values", on_delete=fields.CASCADE
    )
    value = fields.CharField(max_length=255)

    class Meta:
        table = "product_option_value"
        unique_together = (("option", "value"),)


class ProductVariant(TimestampedModel):
    id = id_field("variant")
    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField(
        "commerce.Product", related_name="variants", on_delete=fields.CASCADE
    )
    title = fields.CharField(max_length=255)
    sku = fields.CharField(max_length=255, null=True, unique=True)
    barcode = fields.CharField(max_length=255, null=True)
    external_id = fields.CharField(max_length=255, null=True, unique=True)
    manage_inventory = fields.BooleanField(default=False, db_default=False)
    allow_backorder = fields.BooleanField(default=False, db_default=False)
    inventory_quantity = fields.IntField(default=0, db_default=0)
    variant_rank = fields.IntField(default=0, db_default=0)
    metadata = fields.JSONField(null=True)
    deleted_at = fields.DatetimeField(null=True)
    options: fields.ManyToManyRelation[ProductOptionValue] = fields.ManyToManyField(
        "commerce.ProductOptionValue", related_name="variants", through="product_variant_option"
    )

    prices: fields.ReverseRelation[Price]

    class Meta:
        table = "product_variant"


class Price(TimestampedModel):
    """A variant's price in one currency, optionally from a minimum quantity on (quantity breaks)."""

    id = id_field("price")
    variant: fields.ForeignKeyRelation[ProductVariant] = fields.ForeignKeyField(
        "commerce.ProductVariant", related_name="prices", on_delete=fields.CASCADE
    )
    currency_code = fields.CharField(max_length=3)
    amount = money_field()
    min_quantity = fields.IntField(null=True)
    max_quantity = fields.IntField(null=True)

    class Meta:
        table = "price"
        indexes = (Index(fields=("variant_id", "currency_code")),)
