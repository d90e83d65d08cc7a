"""Odoo records as ``search_read`` returns them, validated (a malformed answer fails here).

Odoo writes ``False`` for every empty value (strings, numbers, many2one); many2one values are
``[id, display_name]``. These models turn ``False`` into ``None`` and keep many2one ids (and,
where useful, names). Each model lists the fields the client reads (``FIELDS``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

__all__ = [
    "Category",
    "Partner",
    "PricelistItem",
    "PricelistRecord",
    "SaleOrderRecord",
    "TemplateRecord",
    "TemplateValue",
    "VariantRecord",
    "m2o_name",
    "parse_datetime",
]

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def _none_if_false(value: Any) -> Any:
    return None if value is False else value


def _m2o_id(value: Any) -> Any:
    if value is False or value is None:
        return None
    if isinstance(value, list | tuple) and len(value) == 2:
        return value[0]
    return value


def _m2o_pair(value: Any) -> Any:
    if value is False or value is None:
        return None
    if isinstance(value, list | tuple) and len(value) == 2:
        return (value[0], value[1] if isinstance(value[1], str) else str(value[1]))
    return value


def parse_datetime(value: str) -> datetime:
    """An Odoo datetime (``YYYY-MM-DD HH:MM:SS``, UTC) or date (``YYYY-MM-DD``), as a naive UTC datetime."""
    if len(value) == 10:
        return datetime.strptime(value, "%Y-%m-%d")
    return datetime.strptime(value[:19], DATETIME_FORMAT)


Text = Annotated[str | None, BeforeValidator(_none_if_false)]
Number = Annotated[Decimal, BeforeValidator(lambda v: 0 if v is False or v is None else v)]
M2oId = Annotated[int | None, BeforeValidator(_m2o_id)]
M2oPair = Annotated[tuple[int, str] | None, BeforeValidator(_m2o_pair)]
Stamp = Annotated[str | None, BeforeValidator(_none_if_false)]


def m2o_name(pair: tuple[int, str] | None) -> str | None:
    """The display name of a many2one ``(id, name)`` pair."""
    return None if pair is None else pair[1]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    FIELDS: ClassVar[list[str]] = []

    id: int


class TemplateRecord(_Record):
    """``product.template``."""

    FIELDS: ClassVar[list[str]] = [
        "name", "active", "default_code", "barcode", "description_sale", "categ_id",
        "attribute_line_ids", "write_date",
    ]

    name: str = Field(min_length=1)
    active: bool = True
    default_code: Text = None
    barcode: Text = None
    description_sale: Text = None
    categ_id: M2oId = None
    attribute_line_ids: list[int] = Field(default_factory=list)
    write_date: Stamp = None


class VariantRecord(_Record):
    """``product.product`` (the template fields it inherits included)."""

    FIELDS: ClassVar[list[str]] = [
        "product_tmpl_id", "default_code", "barcode", "active", "lst_price", "standard_price", "categ_id",
        "product_template_attribute_value_ids", "write_date",
    ]

    product_tmpl_id: M2oId
    default_code: Text = None
    barcode: Text = None
    active: bool = True
    lst_price: Number = Decimal(0)
    standard_price: Number = Decimal(0)
    categ_id: M2oId = None
    product_template_attribute_value_ids: list[int] = Field(default_factory=list)
    write_date: Stamp = None


class TemplateValue(_Record):
    """``product.template.attribute.value`` (PTAV): one value of one attribute line of a template."""

    FIELDS: ClassVar[list[str]] = ["name", "attribute_id", "attribute_line_id", "product_tmpl_id"]

    name: str = Field(min_length=1)
    attribute_id: M2oPair
    attribute_line_id: M2oId = None
    product_tmpl_id: M2oId = None


class Category(_Record):
    """``product.category``."""

    FIELDS: ClassVar[list[str]] = ["name", "parent_id"]

    name: str
    parent_id: M2oId = None


class PricelistRecord(_Record):
    """``product.pricelist``."""

    FIELDS: ClassVar[list[str]] = ["name", "currency_id", "active"]

    name: str
    currency_id: M2oPair
    active: bool = True


class PricelistItem(_Record):
    """``product.pricelist.item``: one price rule."""

    FIELDS: ClassVar[list[str]] = [
        "pricelist_id", "applied_on", "categ_id", "product_tmpl_id", "product_id", "min_quantity",
        "date_start", "date_end", "compute_price", "fixed_price", "percent_price", "base",
        "base_pricelist_id", "price_discount", "price_surcharge", "price_round", "price_min_margin",
        "price_max_margin", "write_date",
    ]

    pricelist_id: M2oId
    applied_on: str = "3_global"
    categ_id: M2oId = None
    product_tmpl_id: M2oId = None
    product_id: M2oId = None
    min_quantity: Number = Decimal(0)
    date_start: Stamp = None
    date_end: Stamp = None
    compute_price: str = "fixed"
    fixed_price: Number = Decimal(0)
    percent_price: Number = Decimal(0)
    base: Text = "list_price"
    base_pricelist_id: M2oId = None
    price_discount: Number = Decimal(0)
    price_surcharge: Number = Decimal(0)
    price_round: Number = Decimal(0)
    price_min_margin: Number = Decimal(0)
    price_max_margin: Number = Decimal(0)
    write_date: Stamp = None


class Partner(_Record):
    """``res.partner``."""

    FIELDS: ClassVar[list[str]] = ["name", "email", "commercial_partner_id", "property_product_pricelist"]

    name: Text = None
    email: Text = None
    commercial_partner_id: M2oPair = None
    property_product_pricelist: M2oId = None

    @property
    def commercial_id(self) -> int:
        return self.id if self.commercial_partner_id is None else self.commercial_partner_id[0]


class SaleOrderRecord(_Record):
    """``sale.order``."""

    FIELDS: ClassVar[list[str]] = ["name", "state", "client_order_ref"]

    name: Text = None
    state: str
    client_order_ref: Text = None
