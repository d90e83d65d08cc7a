"""Orders, their items, and the counters that number them."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from core.models.base import TimestampedModel, id_field, money_field

__all__ = [
    "Counter",
    "Order",
    "OrderItem",
]


class Counter(Model):
    """A named gapless counter, incremented inside the transaction that uses it (``order_display_id``)."""

    name = fields.CharField(primary_key=True, max_length=64)
    value = fields.BigIntField(default=0, db_default=0)

    class Meta:
        table = "counter"


class Order(TimestampedModel):
    id = id_field("order")
    display_id = fields.BigIntField(unique=True)
    # One order per cart: the database itself makes completion idempotent.
    cart_id = fields.CharField(max_length=64, unique=True, null=True)
    status = fields.CharField(max_length=32, default="pending", db_default="pending")
    fulfillment_status = fields.CharField(max_length=32, default="not_fulfilled", db_default="not_fulfilled")
    payment_status = fields.CharField(max_length=32, default="not_paid", db_default="not_paid")
    region_id = fields.CharField(max_length=64, null=True)
    customer_id = fields.CharField(max_length=64, null=True, db_index=True)
    sales_channel_id = fields.CharField(max_length=64, null=True)
    email = fields.CharField(max_length=255, null=True)
    currency_code = fields.CharField(max_length=3)
    item_total = money_field(default=0)
    subtotal = money_field(default=0)
    tax_total = money_field(default=0)
    shipping_total = money_field(default=0)
    discount_total = money_field(default=0)
    total = money_field(default=0)
    shipping_address = fields.JSONField(null=True)
    billing_address = fields.JSONField(null=True)
    metadata = fields.JSONField(null=True)
    canceled_at = fields.DatetimeField(null=True)

    items: fields.ReverseRelation[OrderItem]

    class Meta:
        table = "order"


class OrderItem(TimestampedModel):
    id = id_field("ordli")
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "commerce.Order", related_name="items", on_delete=fields.CASCADE
    )
    line_item_id = fields.CharField(max_length=64, null=True)
    title = fields.CharField(max_length=255)
    subtitle = fields.CharField(max_length=255, null=True)
    thumbnail = fields.CharField(max_length=1024, null=True)
    quantity = fields.IntField()
    unit_price = money_field()
    is_custom_price = fields.BooleanField(default=False, db_default=False)
    is_tax_inclusive = fields.BooleanField(default=False, db_default=False)
    requires_shipping = fields.BooleanField(default=False, db_default=False)
    variant_id = fields.CharField(max_length=64, null=True)
    product_id = fields.CharField(max_length=64, null=True)
    product_title = fields.CharField(max_length=255, null=True)
    product_handle = fields.CharField(max_length=255, null=True)
    variant_title = fields.CharField(max_length=255, null=True)
    variant_sku = fields.CharField(max_length=255, null=True)
    metadata = fields.JSONField(null=True)

    class Meta:
        table = "order_item"
