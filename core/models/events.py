"""The events outbox: rows written in the same transaction as the change they announce."""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from core.models.base import id_field

__all__ = [
    "Event",
]


class Event(Model):
    """An event such as ``order.placed`` with payload ``{"id": order_id}``.

    Written inside the transaction that commits the change, so an event exists if and only if
    its change does. Delivery to subscribers is a separate, durable concern.
    """

    id = id_field("evt")
    name = fields.CharField(max_length=128)
    payload = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)
    dispatched_at = fields.DatetimeField(null=True)

    class Meta:
        table = "event"
        indexes = (Index(fields=("dispatched_at", "created_at")),)
