"""Carts, their line items, addresses and payment collections."""

from __future__ import annotations

from tortoise import fields

from core.models.base import TimestampedModel, id_field, money_field

__all__ = [
    "Address",
    "Cart",
    "LineItem",
    "PaymentCollection",
    "PaymentSession",
]


class Address(TimestampedModel):
    id = id_field("caaddr")
    first_name = fields.CharField(max_length=255, null=True)
    last_name = fields.CharField(max_length=255, null=True)
    phone = fields.CharField(max_length=64, null=True)
    company = fields.CharField(max_length=255, null=True)
    address_1 = fields.CharField(max_length=255, null=True)
    address_2 = fields.CharField(max_length=255, null=True)
    city = fields.CharField(max_length=255, null=True)
    country_code = fields.CharField(max_length=2, null=True)
    province = fields.CharField(max_length=255, null=True)
    postal_code = fields.CharField(max_length=32, null=True)
    metadata = fields.JSONField(null=True)

    class Meta:
        table = "address"


class Cart(TimestampedModel):
    id = id_field("cart")
    region: fields.ForeignKeyRelation["Region"] = fields.ForeignKeyField(  # noqa: F821
        "commerce.Region", related_name="carts", on_delete=fields.RESTRICT
    )
    currency_code = fields.CharField(max_length=3)
    email = fields.CharField(max_length=255, null=True)
    customer: fields.ForeignKeyNullableRelation["Customer"] = fields.ForeignKeyField(  # noqa: F821
        "commerce.Customer", related_name="carts", null=True, on_delete=fields.SET_NULL
    )
    sales_channel: fields.ForeignKeyNullableRelation["SalesChannel"] = fields.ForeignKeyField(  # noqa: F821
        "commerce.SalesChannel", related_name="carts", null=True, on_delete=fields.SET_NULL
    )
    shipping_address: fields.ForeignKeyNullableRelation[Address] = fields.ForeignKeyField(
        "commerce.Address", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    billing_address: fields.ForeignKeyNullableRelation[Address] = fields.ForeignKeyField(
        "commerce.Address", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    locale = fields.CharField(max_length=16, null=True)
    metadata = fields.JSONField(null=True)
    completed_at = fields.DatetimeField(null=True)
    # Completion lease: set while one request completes the cart, so a concurrent one gets 409.
    completing_until = fields.DatetimeField(null=True)

    items: fields.ReverseRelation[LineItem]

    class Meta:
        table = "cart"


class LineItem(TimestampedModel):
    id = id_field("cali")
    cart: fields.ForeignKeyRelation[Cart] = fields.ForeignKeyField(
        "commerce.Cart", related_name="items", on_delete=fields.CASCADE
    )
    title = fields.CharField(max_length=255)
    subtitle = fields.CharField(max_length=255, null=True)
    thumbnail = fields.CharField(max_length=1024, null=True)
    quantity = fields.IntField()
    unit_price = money_field()
    compare_at_unit_price = money_field(null=True)
    is_custom_price = fields.BooleanField(default=False, db_default=False)
    is_tax_inclusive = fields.BooleanField(default=False, db_default=False)
    requires_shipping = fields.BooleanField(default=False, db_default=False)
    variant_id = fields.CharField(max_length=64, null=True)
    product_id = fields.CharField(max_length=64, null=True)
    product_title = fields.CharField(max_length=255, null=True)
    product_description = fields.TextField(null=True)
    product_subtitle = fields.CharField(max_length=255, null=True)
    product_handle = fields.CharField(max_length=255, null=True)
    variant_title = fields.CharField(max_length=255, null=True)
    variant_sku = fields.CharField(max_length=255, null=True)
    variant_barcode = fields.CharField(max_length=255, null=True)
    metadata = fields.JSONField(null=True)

    class Meta:
        table = "line_item"


class PaymentCollection(TimestampedModel):
    id = id_field("pay_col")
    cart: fields.OneToOneRelation[Cart] = fields.OneToOneField(
        "commerce.Cart", related_name="payment_collection", on_delete=fields.CASCADE
    )
    currency_code = fields.CharField(max_length=3)
    amount = money_field()
    status = fields.CharField(max_length=32, default="not_paid", db_default="not_paid")
    metadata = fields.JSONField(null=True)

    sessions: fields.ReverseRelation[PaymentSession]

    class Meta:
        table = "payment_collection"


class PaymentSession(TimestampedModel):
    id = id_field("payses")
    collection: fields.ForeignKeyRelation[PaymentCollection] = fields.ForeignKeyField(
        "commerce.PaymentCollection", related_name="sessions", on_delete=fields.CASCADE
    )
    provider_id = fields.CharField(max_length=64)
    currency_code = fields.CharField(max_length=3)
    amount = money_field()
    status = fields.CharField(max_length=32, default="pending", db_default="pending")
    data = fields.JSONField(null=True)

    class Meta:
        table = "payment_session"
