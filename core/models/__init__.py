"""Tortoise models of the ``commerce`` app, re-exported for ``from core.models import Cart``.

Model docstrings become table comments, and Tortoise 1.1's SQLite schema editor splits DDL on
semicolons: keep ";" out of model docstrings.
"""

from __future__ import annotations

from core.models.carts import Address, Cart, LineItem, PaymentCollection, PaymentSession
from core.models.catalog import (
    Country,
    Price,
    Product,
    ProductImage,
    ProductOption,
    ProductOptionValue,
    ProductVariant,
    PublishableApiKey,
    Region,
    SalesChannel,
)
from core.models.customers import AuthIdentity, Customer, User
from core.models.events import Event
from core.models.integration import SyncCursor, SyncRun, WebhookEvent
from core.models.orders import Counter, Order, OrderItem
from core.models.workflows import WorkflowRunRecord, WorkflowStepRecord

__all__ = [
    "Address",
    "AuthIdentity",
    "Cart",
    "Counter",
    "Country",
    "Customer",
    "Event",
    "LineItem",
    "Order",
    "OrderItem",
    "PaymentCollection",
    "PaymentSession",
    "Price",
    "Product",
    "ProductImage",
    "ProductOption",
    "ProductOptionValue",
    "ProductVariant",
    "PublishableApiKey",
    "Region",
    "SalesChannel",
    "SyncCursor",
    "SyncRun",
    "User",
    "WebhookEvent",
    "WorkflowRunRecord",
    "WorkflowStepRecord",
]

MODEL_MODULES = [
    "core.models.catalog",
    "core.models.customers",
    "core.models.carts",
    "core.models.orders",
    "core.models.events",
    "core.models.workflows",
    "core.models.integration",
]
