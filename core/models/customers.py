"""Customers, admin users and the credentials (auth identities) that log them in."""

from __future__ import annotations

from tortoise import fields

from core.models.base import TimestampedModel, id_field

__all__ = [
    "AuthIdentity",
    "Customer",
    "User",
]


class Customer(TimestampedModel):
    id = id_field("cus")
    email = fields.CharField(max_length=255, db_index=True)
    company_name = fields.CharField(max_length=255, null=True)
    first_name = fields.CharField(max_length=255, null=True)
    last_name = fields.CharField(max_length=255, null=True)
    phone = fields.CharField(max_length=64, null=True)
    has_account = fields.BooleanField(default=False, db_default=False)
    metadata = fields.JSONField(null=True)
    deleted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "customer"


class User(TimestampedModel):
    """An admin (operator) of the store."""

    id = id_field("user")
    email = fields.CharField(max_length=255, unique=True)
    first_name = fields.CharField(max_length=255, null=True)
    last_name = fields.CharField(max_length=255, null=True)
    metadata = fields.JSONField(null=True)

    class Meta:
        table = "user"


class AuthIdentity(TimestampedModel):
    """An email/password credential for one actor type (``customer`` or ``user``).

    ``actor_id`` is empty until the credential is bound to a customer (Medusa's actor-less token).
    The password is stored only as a scrypt hash (see :mod:`core.auth.passwords`).
    """

    id = id_field("authid")
    provider = fields.CharField(max_length=32, default="emailpass", db_default="emailpass")
    entity_id = fields.CharField(max_length=255)
    actor_type = fields.CharField(max_length=32)
    actor_id = fields.CharField(max_length=64, null=True)
    password_hash = fields.CharField(max_length=255)

    class Meta:
        table = "auth_identity"
        unique_together = (("provider", "entity_id", "actor_type"),)
