"""The fake's models ("Fake Odoo: minimum faithful surface" of the reference), and a database of them."""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from ..api import Call
from ..registry import Database
from .attributes import (
    ProductAttribute,
    ProductAttributeValue,
    ProductTemplateAttributeLine,
    ProductTemplateAttributeValue,
)
from .base import AccountTax, IrModel, IrModelData, ResCompany, ResCountry, ResCurrency, ResUsers, UomUom
from .partners import ResPartner
from .pricelists import ProductPricelist, ProductPricelistItem
from .products import ProductCategory, ProductProduct, ProductTemplate
from .sales import SaleOrder, SaleOrderLine
from .stock import StockLocation, StockQuant, StockWarehouse

__all__ = [
    "MODELS",
    "create_database",
]

MODELS = (
    IrModel,
    IrModelData,
    ResCurrency,
    ResCountry,
    ResCompany,
    ResUsers,
    ResPartner,
    UomUom,
    AccountTax,
    ProductCategory,
    ProductAttribute,
    ProductAttributeValue,
    ProductTemplate,
    ProductTemplateAttributeLine,
    ProductTemplateAttributeValue,
    ProductProduct,
    ProductPricelist,
    ProductPricelistItem,
    StockLocation,
    StockWarehouse,
    StockQuant,
    SaleOrder,
    SaleOrderLine,
)


def create_database(
    name: str = "demo", version: str = "17.0", clock: Callable[[], datetime] | None = None
) -> Database:
    """An empty database with every model registered and listed in ``ir.model``."""
    db = Database(name, version, clock)
    for model_class in MODELS:
        db.add(model_class)
    root = Call(1)
    for model_class in MODELS:
        db.models["ir.model"].create_record(root, {"model": model_class._name, "name": model_class._description})
    return db
