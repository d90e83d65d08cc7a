"""Payment collections, sessions and providers: request bodies, responses and rendering."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.models import PaymentCollection, PaymentSession
from core.schemas.paging import ListQuery

__all__ = [
    "CreatePaymentCollectionBody",
    "CreatePaymentSessionBody",
    "PaymentCollectionOut",
    "PaymentCollectionResponse",
    "PaymentProviderOut",
    "PaymentProvidersQuery",
    "PaymentProvidersResponse",
    "PaymentSessionOut",
    "render_payment_collection",
]


class CreatePaymentCollectionBody(BaseModel):
    """``POST /store/payment-collections``."""

    model_config = ConfigDict(extra="forbid")

    cart_id: str = Field(min_length=1, max_length=64)


class CreatePaymentSessionBody(BaseModel):
    """``POST /store/payment-collections/{id}/payment-sessions``."""

    model_config = ConfigDict(extra="forbid")

    provider_id: str = Field(min_length=1, max_length=64)
    data: dict[str, Any] | None = None
    context: dict[str, Any] | None = None


class PaymentProvidersQuery(ListQuery):
    """``GET /store/payment-providers?region_id=``."""

    region_id: str = Field(min_length=1)


class PaymentSessionOut(BaseModel):
    id: str
    payment_collection_id: str
    provider_id: str
    currency_code: str
    amount: float
    status: str
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class PaymentCollectionOut(BaseModel):
    id: str
    currency_code: str
    amount: float
    status: str
    metadata: dict[str, Any] | None
    payment_sessions: list[PaymentSessionOut]
    created_at: datetime
    updated_at: datetime


class PaymentCollectionResponse(BaseModel):
    payment_collection: PaymentCollectionOut


class PaymentProviderOut(BaseModel):
    id: str
    is_enabled: bool


class PaymentProvidersResponse(BaseModel):
    payment_providers: list[PaymentProviderOut]
    count: int
    offset: int
    limit: int


def render_payment_collection(
    collection: PaymentCollection | None, sessions: Iterable[PaymentSession]
) -> dict[str, Any] | None:
    """A collection and its sessions as :class:`PaymentCollectionOut`, or None."""
    if collection is None:
        return None
    return {
        "id": collection.id,
        "currency_code": collection.currency_code,
        "amount": float(collection.amount),
        "status": collection.status,
        "metadata": collection.metadata,
        "payment_sessions": [
            {
                "id": session.id,
                "payment_collection_id": collection.id,
                "provider_id": session.provider_id,
                "currency_code": session.currency_code,
                "amount": float(session.amount),
                "status": session.status,
                "data": session.data or {},
                "created_at": session.created_at,
                "updated_at": session.updated_at,
            }
            for session in sessions
        ],
        "created_at": collection.created_at,
        "updated_at": collection.updated_at,
    }
