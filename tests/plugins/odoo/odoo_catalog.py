"""A small Odoo catalogue served by :class:`~tests.plugins.odoo.odoo_stub.OdooStub` for the client's tests.

Company EUR; categories All > Saleable; templates Desk (10: Size x Color; variants 11 S/Black,
12 M/Black, 13 S/White archived), Hammer (20: no attributes, variant 21) and Old (30, archived,
variant 31); pricelists Public (1, EUR: Desk 90 from 10 units), B2B (2, EUR: Public -10 %),
Dollars (3, USD); partners ACME (50, company, B2B) with Jane (51), Bob (60, no company); Desk is
restricted to ACME.
"""

from __future__ import annotations

from typing import Any

from tests.plugins.odoo.odoo_stub import OdooStub, table

__all__ = [
    "load_catalog",
]

OLD = "2025-01-01 00:00:00"


def _template(id: int, name: str, write_date: str, **extra: Any) -> dict[str, Any]:
    return {"id": id, "name": name, "active": True, "default_code": False, "barcode": False,
            "description_sale": False, "categ_id": [2, "All / Saleable"], "attribute_line_ids": [],
            "write_date": write_date, "x_allowed_partner_ids": [], **extra}


def _variant(id: int, template: int, code: str, price: float, ptavs: list[int], **extra: Any) -> dict[str, Any]:
    return {"id": id, "product_tmpl_id": [template, "T"], "default_code": code, "barcode": False, "active": True,
            "lst_price": price, "standard_price": price / 2, "categ_id": [2, "All / Saleable"],
            "product_template_attribute_value_ids": ptavs, "write_date": OLD, "free_qty": 5.0,
            "qty_available": 7.0, "is_storable": True, "allow_out_of_stock_order": False, **extra}


def load_catalog(stub: OdooStub) -> dict[str, list[dict[str, Any]]]:
    """Register the catalogue's tables on ``stub``; returns them (tests may edit the rows)."""
    tables: dict[str, list[dict[str, Any]]] = {
        "res.users": [{"id": 2, "company_id": [1, "My Company"]}],
        "res.company": [{"id": 1, "currency_id": [1, "EUR"]}],
        "product.category": [{"id": 1, "name": "All", "parent_id": False},
                             {"id": 2, "name": "Saleable", "parent_id": [1, "All"]}],
        "product.template": [
            _template(10, "Desk", "2025-03-01 10:00:00", attribute_line_ids=[100, 101], x_allowed_partner_ids=[50]),
            _template(20, "Hammer", "2025-03-02 10:00:00", default_code="HAM"),
            _template(30, "Old", "2025-03-03 10:00:00", active=False),
        ],
        "product.product": [
            _variant(11, 10, "DESK-S-B", 100.0, [1001, 1003]),
            _variant(12, 10, "DESK-M-B", 120.0, [1002, 1003]),
            _variant(13, 10, "DESK-S-W", 100.0, [1001, 1004], active=False),
            _variant(21, 20, "HAM", 19.9, [], is_storable=False, allow_out_of_stock_order=True),
            _variant(31, 30, "OLD", 5.0, [], active=False),
        ],
        "product.template.attribute.value": [
            {"id": 1001, "name": "S", "attribute_id": [5, "Size"], "attribute_line_id": [100, "Size"],
             "product_tmpl_id": [10, "Desk"]},
            {"id": 1002, "name": "M", "attribute_id": [5, "Size"], "attribute_line_id": [100, "Size"],
             "product_tmpl_id": [10, "Desk"]},
            {"id": 1003, "name": "Black", "attribute_id": [6, "Color"], "attribute_line_id": [101, "Color"],
             "product_tmpl_id": [10, "Desk"]},
            {"id": 1004, "name": "White", "attribute_id": [6, "Color"], "attribute_line_id": [101, "Color"],
             "product_tmpl_id": [10, "Desk"]},
        ],
        "product.pricelist": [
            {"id": 1, "name": "Public", "currency_id": [1, "EUR"], "active": True, "company_id": False},
            {"id": 2, "name": "B2B", "currency_id": [1, "EUR"], "active": True, "company_id": False},
            {"id": 3, "name": "Dollars", "currency_id": [2, "USD"], "active": True, "company_id": False},
        ],
        "product.pricelist.item": [
            {"id": 1, "pricelist_id": [1, "Public"], "applied_on": "1_product", "product_tmpl_id": [10, "Desk"],
             "min_quantity": 10, "compute_price": "fixed", "fixed_price": 90.0, "base": "list_price",
             "write_date": OLD},
            {"id": 2, "pricelist_id": [2, "B2B"], "applied_on": "3_global", "compute_price": "formula",
             "base": "pricelist", "base_pricelist_id": [1, "Public"], "price_discount": 10.0, "write_date": OLD},
        ],
        "res.partner": [
            {"id": 50, "name": "ACME", "email": "info@acme.test", "is_company": True,
             "commercial_partner_id": [50, "ACME"], "property_product_pricelist": [2, "B2B"]},
            {"id": 51, "name": "Jane", "email": "jane@acme.test", "is_company": False,
             "commercial_partner_id": [50, "ACME"], "property_product_pricelist": [2, "B2B"]},
            {"id": 60, "name": "Bob", "email": "bob@example.test", "is_company": False,
             "commercial_partner_id": [60, "Bob"], "property_product_pricelist": False},
        ],
        "sale.order": [],
        "stock.quant": [
            {"id": 1, "product_id": [11, "Desk"], "write_date": "2025-04-01 08:00:00"},
            {"id": 2, "product_id": [11, "Desk"], "write_date": "2025-04-02 08:00:00"},
            {"id": 3, "product_id": [21, "Hammer"], "write_date": "2025-04-03 08:00:00"},
        ],
    }
    for model, rows in tables.items():
        stub.on(model, "search_read", table(rows, active_field=None if model == "sale.order" else "active"))
    stub.on("product.pricelist", "search",
            lambda args, kwargs: [r["id"] for r in table(tables["product.pricelist"])(args, kwargs)])
    stub.on("product.product", "search",
            lambda args, kwargs: [r["id"] for r in table(tables["product.product"])(args, kwargs)])
    stub.on("product.template", "search_count", lambda args, kwargs: len(table(tables["product.template"])(
        [args[0], ["id"]], kwargs)))
    stub.on("product.product", "fields_get", {name: {"type": "char"} for name in tables["product.product"][0]})
    stub.on("product.template", "fields_get", {name: {"type": "char"} for name in tables["product.template"][0]})
    return tables
