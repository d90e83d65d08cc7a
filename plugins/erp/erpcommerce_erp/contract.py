"""The ERP client contract: what an ERP-specific plugin implements, with pydantic models in and out.

An ERP plugin (``erpcommerce-odoo-example``...) subclasses :class:`ErpClient` and returns an
instance from the ``erp_client()`` hook. Every call is async and **batched**: the cart hooks make
at most one call per hook per request, whatever the number of items. The client builds the
result models from the ERP's answers (``Model.model_validate(...)``), so a malformed answer
raises :class:`pydantic.ValidationError`; :mod:`erpcommerce_erp.gateway` turns that, timeouts and
transport failures into :class:`core.errors.ErpUnavailable` (503 to a storefront, retried by
durable runs) and checks the answers against the questions.

Errors a client raises:

- :class:`core.errors.ErpUnavailable` (or any :class:`core.errors.RetryableError`): transient
  (the ERP is down, overloaded, timed out, answered garbage): cart calls fail closed with 503,
  durable steps retry with backoff;
- :class:`core.errors.PermanentError`: the ERP refused for a business reason a retry cannot fix
  (a validation error on an order): the durable run fails (and compensates);
- :class:`core.errors.ConfigError`: bad credentials or settings: not retried.

Identifiers are the ERP's, as strings (``external_id`` in the store). Amounts are ``Decimal`` in
major units; currency codes are ISO 4217, lower case.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.errors import InvalidData

__all__ = [
    "ErpAddress",
    "ErpClient",
    "ErpCustomer",
    "ErpOption",
    "ErpOrder",
    "ErpOrderLine",
    "ErpOrderRef",
    "ErpOrderState",
    "ErpPrice",
    "ErpProduct",
    "ErpVariant",
    "OrderUpdate",
    "Page",
    "PriceQuote",
    "PriceRequest",
    "PurchaseDecision",
    "StockLevel",
    "VariantPrices",
    "WebhookMode",
]

WebhookMode = Literal["signed", "token"]
T = TypeVar("T")


class ErpModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _currency(value: str) -> str:
    value = value.strip().lower()
    if len(value) != 3 or not value.isalpha():
        raise ValueError(f"{value!r} is not an ISO 4217 currency code")
    return value


# -------------------------------------------------------------------------------------------------
# Catalogue (product sync)
# -------------------------------------------------------------------------------------------------


class ErpPrice(ErpModel):
    """A price of a variant in one currency, for quantities from ``min_quantity`` to ``max_quantity``."""

    currency_code: str
    amount: Decimal = Field(ge=0)
    min_quantity: int | None = Field(default=None, ge=1)
    max_quantity: int | None = Field(default=None, ge=1)

    _currency = field_validator("currency_code")(_currency)


class ErpOption(ErpModel):
    """A product option (``Size``) and its values, in display order."""

    title: str = Field(min_length=1, max_length=255)
    values: list[str] = Field(min_length=1)


class ErpVariant(ErpModel):
    """A sellable variant. ``options`` maps each of the product's option titles to this variant's value.

    ``prices`` None leaves the store's prices as they are (the price stream owns them); a list
    replaces them.
    """

    external_id: str = Field(min_length=1, max_length=255)
    title: str = Field(min_length=1, max_length=255)
    sku: str | None = Field(default=None, max_length=255)
    barcode: str | None = Field(default=None, max_length=255)
    options: dict[str, str] = Field(default_factory=dict)
    prices: list[ErpPrice] | None = None
    active: bool = True
    metadata: dict[str, Any] | None = None


class ErpProduct(ErpModel):
    """A product with all its current variants (a variant missing here is archived in the store)."""

    external_id: str = Field(min_length=1, max_length=255)
    title: str = Field(min_length=1, max_length=255)
    handle: str | None = Field(default=None, max_length=255)
    subtitle: str | None = Field(default=None, max_length=255)
    description: str | None = None
    thumbnail: str | None = Field(default=None, max_length=1024)
    active: bool = True
    options: list[ErpOption] = Field(default_factory=list)
    variants: list[ErpVariant] = Field(default_factory=list)
    metadata: dict[str, Any] | None = None


class VariantPrices(ErpModel):
    """The complete price list of one variant (replaces the store's prices of that variant)."""

    variant_external_id: str = Field(min_length=1)
    prices: list[ErpPrice]


class StockLevel(ErpModel):
    """What the ERP can sell of a variant now.

    ``manage_inventory`` False: the ERP does not track stock for it (a service), always sellable.
    """

    variant_external_id: str = Field(min_length=1)
    qty_available: Decimal
    allow_out_of_stock_order: bool = False
    manage_inventory: bool = True


class Page(ErpModel, Generic[T]):
    """One page of a change stream.

    ``next_page`` is the opaque token of the next page (None: this is the last page). ``cursor`` is
    the opaque position to resume from on the next sync once the whole stream was read; the sync
    stores the last page's cursor only after every page was applied.
    """

    items: list[T]
    next_page: str | None = None
    cursor: str | None = None


# -------------------------------------------------------------------------------------------------
# Cart questions (prices, restrictions, stock)
# -------------------------------------------------------------------------------------------------


class ErpCustomer(ErpModel):
    """The store customer the ERP is asked about (its company decides prices and permissions).

    ``external_id`` is the ERP's partner id when the store knows it (the customer's
    ``metadata["external_id"]``); otherwise the client finds the partner by email or company name.
    """

    id: str | None = None
    email: str
    company_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    external_id: str | None = None

    @property
    def cache_key(self) -> str:
        return self.external_id or f"{self.email.lower()}|{self.company_name or ''}"


class PriceRequest(ErpModel):
    variant_external_id: str = Field(min_length=1)
    product_external_id: str | None = None
    quantity: int = Field(ge=1)


class PriceQuote(ErpModel):
    """The unit price the ERP gives for a variant at a quantity, for the customer asked about."""

    variant_external_id: str
    quantity: int = Field(ge=1)
    unit_price: Decimal = Field(ge=0)
    currency_code: str
    compare_at_unit_price: Decimal | None = Field(default=None, ge=0)

    _currency = field_validator("currency_code")(_currency)


class PurchaseDecision(ErpModel):
    """Whether the customer's company may buy a product; ``reason`` explains a refusal."""

    product_external_id: str
    allowed: bool
    company_name: str | None = None
    reason: str | None = None


# -------------------------------------------------------------------------------------------------
# Orders
# -------------------------------------------------------------------------------------------------


class ErpAddress(ErpModel):
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    address_1: str | None = None
    address_2: str | None = None
    city: str | None = None
    postal_code: str | None = None
    province: str | None = None
    country_code: str | None = None
    phone: str | None = None


class ErpOrderLine(ErpModel):
    line_id: str
    variant_external_id: str | None = None
    product_external_id: str | None = None
    sku: str | None = None
    title: str
    quantity: int = Field(ge=1)
    unit_price: Decimal = Field(ge=0)


class ErpOrder(ErpModel):
    """A store order as the ERP receives it (``id`` is the store's order id)."""

    id: str
    display_id: int
    email: str | None = None
    currency_code: str
    customer: ErpCustomer | None = None
    items: list[ErpOrderLine]
    shipping_address: ErpAddress | None = None
    billing_address: ErpAddress | None = None
    total: Decimal
    created_at: datetime
    metadata: dict[str, Any] | None = None


class ErpOrderRef(ErpModel):
    """The ERP's order: its id (stored as the order's ``metadata.external_id``), name and status."""

    external_id: str = Field(min_length=1)
    name: str | None = None
    status: str | None = None


class ErpOrderState(ErpModel):
    """An ERP order found for a store order (``erpcommerce reconcile``), cancelled ones included.

    ``reference`` is the store order id it was made for (:attr:`ErpOrder.id`, which
    :meth:`ErpClient.create_order` received); ``status`` and ``fulfillment_status`` are in the
    ERP's terms, mapped as the order-update webhook maps them.
    """

    reference: str = Field(min_length=1)
    external_id: str = Field(min_length=1)
    name: str | None = None
    status: str = Field(min_length=1)
    fulfillment_status: str | None = None


class OrderUpdate(ErpModel):
    """An order change the ERP reported through the webhook.

    ``status`` is in the ERP's terms; ``[plugins.erp] status_map`` (over the client's
    :attr:`ErpClient.order_status_map`) maps it to the store's order status.
    """

    event_id: str = Field(min_length=1, max_length=255)
    external_id: str = Field(min_length=1, max_length=255)
    status: str = Field(min_length=1, max_length=64)
    fulfillment_status: str | None = Field(default=None, max_length=64)
    metadata: dict[str, Any] | None = None


class _SignedOrderBody(ErpModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    class _Order(ErpModel):
        model_config = ConfigDict(frozen=True, extra="ignore")

        external_id: str | int
        status: str
        fulfillment_status: str | None = None
        metadata: dict[str, Any] | None = None

    event_id: str = Field(min_length=1, max_length=255)
    type: Literal["order.updated"]
    order: _Order


# -------------------------------------------------------------------------------------------------
# The client
# -------------------------------------------------------------------------------------------------


class ErpClient(ABC):
    """What an ERP plugin implements. One instance per process, shared by concurrent requests.

    Class attributes an implementation may override:

    :cvar name: the ERP's name in messages ("Odoo").
    :cvar webhook_mode: how ``POST /erp/order-updates`` authenticates it: ``"signed"`` (HMAC
        headers, DESIGN §7) or ``"token"`` (``?token=<webhook_secret>``, for ERPs that cannot sign).
    :cvar order_status_map: ERP order status -> store order status (``"sale": "pending"``).
    :cvar fulfillment_status_map: ERP order status -> store fulfillment status, for ERPs whose
        single status also says how far delivery went.
    :cvar order_create_settle_seconds: how long a :meth:`create_order` call whose answer was lost
        (a timeout, a dropped connection, a crash) may still complete inside the ERP. 0 for an ERP
        that deduplicates by the idempotency key atomically. Otherwise the order sync never calls
        :meth:`create_order` again for the same order before this long, so the first call has either
        committed (and the new call finds its order) or been abandoned by the ERP.
    """

    name: str = "ERP"
    webhook_mode: WebhookMode = "signed"
    order_status_map: Mapping[str, str] = {}
    fulfillment_status_map: Mapping[str, str] = {}
    order_create_settle_seconds: float = 0.0

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Open sessions and pools (called once when the process starts)."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Close what :meth:`start` opened."""

    # -- product sync: three change streams, each with its own cursor --------------------------

    @abstractmethod
    async def list_products(self, cursor: str | None, page: str | None, limit: int) -> Page[ErpProduct]:
        """Products (with every variant) changed since ``cursor`` (None: all), archived ones included.

        From ``cursor`` None the stream lists every product once: ``erpcommerce reconcile`` reads
        it so to compare the whole catalogue.

        :param page: the previous page's ``next_page`` (None: the first page).
        :param limit: the most products in one page.
        """

    async def count_products(self, cursor: str | None) -> int | None:
        """How many products :meth:`list_products` will return from ``cursor`` (for progress), or None."""
        return None

    @abstractmethod
    async def list_price_changes(self, cursor: str | None, page: str | None, limit: int) -> Page[VariantPrices]:
        """Variants whose store prices changed since ``cursor`` (ERP price rules change without
        touching the product's write date), each with its complete price list.

        From ``cursor`` None: every variant the ERP prices, once each, with its current list (the
        whole price list as ``erpcommerce reconcile`` compares it)."""

    @abstractmethod
    async def list_stock_changes(self, cursor: str | None, page: str | None, limit: int) -> Page[StockLevel]:
        """Variants whose stock changed since ``cursor`` (None: every variant, once each)."""

    # -- the cart: one batched call per hook -----------------------------------------------------

    @abstractmethod
    async def get_prices(
        self, requests: list[PriceRequest], currency_code: str, customer: ErpCustomer | None
    ) -> list[PriceQuote]:
        """Unit prices for ``customer`` (None: a guest) in ``currency_code``, one quote per request
        the ERP prices (a variant it does not know is left out)."""

    @abstractmethod
    async def check_purchase(
        self, product_external_ids: list[str], customer: ErpCustomer | None
    ) -> list[PurchaseDecision]:
        """Whether ``customer``'s company may buy each product (unknown products may be left out: allowed)."""

    @abstractmethod
    async def get_stock(self, variant_external_ids: list[str]) -> list[StockLevel]:
        """Live stock of each variant (unknown variants left out)."""

    # -- orders ----------------------------------------------------------------------------------

    @abstractmethod
    async def create_order(self, order: ErpOrder, idempotency_key: str) -> ErpOrderRef:
        """Create (and confirm) the order in the ERP, exactly once per ``idempotency_key``.

        A second call with the same key (a retry, a resumed run) returns the order made by the
        first, without creating another; an order cancelled by :meth:`cancel_order` does not count
        (a retried run after compensation creates a new one).
        """

    @abstractmethod
    async def cancel_order(self, external_id: str, idempotency_key: str) -> None:
        """Cancel (or delete, while still a draft) an order :meth:`create_order` made: the
        compensation of a failed order sync. Cancelling an already cancelled order is not an error."""

    # -- reconcile -------------------------------------------------------------------------------

    async def list_orders_by_reference(self, references: list[str]) -> list[ErpOrderState]:
        """Every ERP order made for one of the store orders ``references`` (store order ids, at
        most a few hundred per call), cancelled ones included, with its current status.

        ``erpcommerce reconcile`` uses it to find store orders missing in the ERP, duplicated
        there (several live ERP orders for one store order) or whose status differs.

        :raises NotImplementedError: the default: reconcile then reports that it cannot check orders.
        """
        raise NotImplementedError(f"{self.name}'s client cannot list orders by store reference")

    # -- webhook ---------------------------------------------------------------------------------

    def parse_order_update(self, body: bytes, *, event_id: str | None = None) -> OrderUpdate:
        """Parse an authenticated webhook body into an :class:`OrderUpdate`.

        The default reads the signed form of DESIGN §7. Token-mode ERPs parse their own format;
        ``event_id`` is then the SHA-256 of the raw body, to use unless the body carries one.

        :raises core.errors.InvalidData: when the body is malformed (400).
        """
        try:
            parsed = _SignedOrderBody.model_validate_json(body)
        except (ValidationError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidData(f"Malformed order update: {_first_error(exc)}") from None
        return OrderUpdate(
            event_id=parsed.event_id,
            external_id=str(parsed.order.external_id),
            status=parsed.order.status,
            fulfillment_status=parsed.order.fulfillment_status,
            metadata=parsed.order.metadata,
        )


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or "body"
        return f"{where}: {error['msg']}"
    return str(exc)
