"""Customer request/response models and :func:`render_customer` (Store and Admin APIs share the shape)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.models import Customer

__all__ = [
    "CreateCustomerBody",
    "CustomerOut",
    "CustomerQuery",
    "CustomerResponse",
    "UpdateCustomerBody",
    "render_customer",
]

NAME_LENGTH = 255
PHONE_LENGTH = 64


class CustomerOut(BaseModel):
    """A customer as Medusa's Store API returns it (``addresses`` is always empty: no address book yet)."""

    id: str
    email: str
    first_name: str | None
    last_name: str | None
    phone: str | None
    company_name: str | None
    has_account: bool
    metadata: dict[str, Any] | None
    addresses: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class CustomerResponse(BaseModel):
    customer: CustomerOut


class _CustomerFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    company_name: str | None = Field(default=None, max_length=NAME_LENGTH)
    first_name: str | None = Field(default=None, max_length=NAME_LENGTH)
    last_name: str | None = Field(default=None, max_length=NAME_LENGTH)
    phone: str | None = Field(default=None, max_length=PHONE_LENGTH)
    metadata: dict[str, Any] | None = None


class CreateCustomerBody(_CustomerFields):
    """``POST /store/customers``: the email defaults to the registered identity's (and must match it)."""

    email: str | None = Field(default=None, max_length=NAME_LENGTH)


class UpdateCustomerBody(_CustomerFields):
    """``POST /store/customers/me``: the email is not updatable here (an ``email`` field is refused)."""


class CustomerQuery(BaseModel):
    """``fields`` is accepted (the default field set is always returned)."""

    model_config = ConfigDict(extra="ignore")

    fields: str | None = None


def render_customer(customer: Customer) -> dict[str, Any]:
    """The Store/Admin API ``customer`` object of ``customer``."""
    return {
        "id": customer.id,
        "email": customer.email,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "phone": customer.phone,
        "company_name": customer.company_name,
        "has_account": customer.has_account,
        "metadata": customer.metadata,
        "addresses": [],
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
        "deleted_at": customer.deleted_at,
    }
