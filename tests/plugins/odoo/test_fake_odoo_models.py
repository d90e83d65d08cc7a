"""The fake Odoo's models: read semantics, variants, pricelist rules, stock, sales orders, versions."""

from __future__ import annotations

from typing import Any

import pytest

from erpcommerce_odoo.fake_odoo import FakeOdoo
from erpcommerce_odoo.fake_odoo.errors import AccessError, MissingError, UserError, ValidationError

from .fake_odoo_support import fake_odoo

__all__ = ["fake_odoo"]


def variant(fake: FakeOdoo, code: str) -> int:
    [found] = fake.call("product.product", "search", [("default_code", "=", code)], context={"active_test": False})
    return int(found)


def partner(fake: FakeOdoo, name: str) -> int:
    [found] = fake.call("res.partner", "search", [("name", "=", name)])
    return int(found)


def price(fake: FakeOdoo, pricelist: int, code: str, quantity: float, date: str = "2025-06-01 12:00:00") -> float:
    return fake.db.models["product.pricelist"].price(pricelist, variant(fake, code), quantity, date)  # type: ignore[attr-defined]


def pricelist_of(fake: FakeOdoo, name: str) -> int:
    [row] = fake.call("res.partner", "read", [partner(fake, name)], ["property_product_pricelist"])
    return int(row["property_product_pricelist"][0])


# Reading ---------------------------------------------------------------------------------------


def test_read_follows_odoo_conventions(fake_odoo: FakeOdoo) -> None:
    lamp, arm = variant(fake_odoo, "LAMP"), variant(fake_odoo, "ARM")
    rows = fake_odoo.call("product.product", "read", [arm, lamp], ["barcode", "product_tmpl_id", "taxes_id"])
    assert [r["id"] for r in rows] == [arm, lamp]
    assert rows[0]["barcode"] is False and rows[1]["barcode"] == "5400000000011"
    assert rows[0]["product_tmpl_id"][1] == "[ARM] Monitor Arm" and rows[0]["taxes_id"] == []
    [bare] = fake_odoo.call("product.product", "read", [arm], ["product_tmpl_id"], load="_classic_write")
    assert bare["product_tmpl_id"] == rows[0]["product_tmpl_id"][0]
    with pytest.raises(ValueError):
        fake_odoo.call("product.product", "read", [arm], ["no_such_field"])
    with pytest.raises(MissingError):
        fake_odoo.call("product.product", "read", [arm, 99999], ["name"])


def test_fields_get_describes_every_field(fake_odoo: FakeOdoo) -> None:
    fields = fake_odoo.call("sale.order", "fields_get")
    assert all("type" in info for info in fields.values())
    assert fields["partner_id"]["relation"] == "res.partner"
    assert ["sale", "Sales Order"] in fields["state"]["selection"]
    assert fields["order_line"]["type"] == "one2many"
    only = fake_odoo.call("sale.order", "fields_get", ["state"], ["type"])
    assert only == {"state": {"type": "selection"}}


def test_variants_come_from_attribute_lines(fake_odoo: FakeOdoo) -> None:
    color = fake_odoo.call("product.attribute", "search", [("name", "=", "Color")])[0]
    values = fake_odoo.call("product.attribute.value", "search", [("attribute_id", "=", color)])
    template = fake_odoo.call("product.template", "create", {
        "name": "Stool", "list_price": 40.0,
        "attribute_line_ids": [(0, 0, {"attribute_id": color, "value_ids": [(6, 0, values[:2])]})],
    })
    [row] = fake_odoo.call("product.template", "read", [template], ["product_variant_ids", "product_variant_count"])
    assert row["product_variant_count"] == 2
    names = [r["display_name"] for r in fake_odoo.call("product.product", "read", row["product_variant_ids"], ["display_name"])]
    assert names == ["Stool (Black)", "Stool (White)"]
    line = fake_odoo.call("product.template.attribute.line", "search", [("product_tmpl_id", "=", template)])
    fake_odoo.call("product.template.attribute.line", "write", line, {"value_ids": [(4, values[2])]})
    assert fake_odoo.call("product.product", "search_count", [("product_tmpl_id", "=", template)]) == 3


def test_single_variant_template_shares_its_code(fake_odoo: FakeOdoo) -> None:
    template = fake_odoo.call("product.template", "create", {"name": "Mug", "default_code": "MUG", "list_price": 8})
    [row] = fake_odoo.call("product.product", "search_read", [("product_tmpl_id", "=", template)], ["default_code", "lst_price"])
    assert row == {"id": row["id"], "default_code": "MUG", "lst_price": 8.0}
    assert fake_odoo.call("product.template", "read", [template], ["display_name"])[0]["display_name"] == "[MUG] Mug"


def test_lst_price_adds_attribute_extras_and_writes_back(fake_odoo: FakeOdoo) -> None:
    red = variant(fake_odoo, "CHAIR-RED")
    assert fake_odoo.call("product.product", "read", [red], ["lst_price", "price_extra"])[0]["lst_price"] == 130.0
    fake_odoo.call("product.product", "write", [red], {"lst_price": 150.0})
    template = fake_odoo.call("product.product", "read", [red], ["product_tmpl_id"])[0]["product_tmpl_id"][0]
    assert fake_odoo.call("product.template", "read", [template], ["list_price"])[0]["list_price"] == 140.0


def test_archiving_a_template_archives_its_variants(fake_odoo: FakeOdoo) -> None:
    desk = fake_odoo.call("product.template", "search", [("name", "=", "Standing Desk")])
    fake_odoo.call("product.template", "write", desk, {"active": False})
    assert fake_odoo.call("product.product", "search", [("product_tmpl_id", "in", desk)]) == []
    fake_odoo.call("product.template", "write", desk, {"active": True})
    assert len(fake_odoo.call("product.product", "search", [("product_tmpl_id", "in", desk)])) == 3


def test_duplicate_barcode_is_a_validation_error(fake_odoo: FakeOdoo) -> None:
    with pytest.raises(ValidationError, match="already assigned"):
        fake_odoo.call("product.product", "write", [variant(fake_odoo, "ARM")], {"barcode": "5400000000011"})


def test_unknown_field_on_create_is_refused(fake_odoo: FakeOdoo) -> None:
    with pytest.raises(ValueError):
        fake_odoo.call("res.partner", "create", {"name": "X", "nope": 1})


def test_missing_required_field_is_a_validation_error(fake_odoo: FakeOdoo) -> None:
    with pytest.raises(ValidationError, match="mandatory"):
        fake_odoo.call("sale.order", "create", {"client_order_ref": "no partner"})


def test_read_only_user_gets_access_errors(fake_odoo: FakeOdoo) -> None:
    from erpcommerce_odoo.fake_odoo.api import call_kw

    reader = fake_odoo.call("res.users", "search", [("login", "=", "readonly")])[0]
    partners = fake_odoo.db["res.partner"]
    assert call_kw(partners, "search_count", [[]], {}, reader) > 0
    with pytest.raises(AccessError):
        call_kw(partners, "create", [{"name": "Nope"}], {}, reader)
    assert call_kw(partners, "check_access_rights", ["create"], {"raise_exception": False}, reader) is False


def test_commercial_partner_and_company_dependent_pricelist(fake_odoo: FakeOdoo) -> None:
    deco, douglas = partner(fake_odoo, "Deco Addict"), partner(fake_odoo, "Douglas Fletcher")
    [row] = fake_odoo.call("res.partner", "read", [douglas], ["commercial_partner_id", "display_name", "property_product_pricelist"])
    assert row["commercial_partner_id"][0] == deco
    assert row["display_name"] == "Deco Addict, Douglas Fletcher"
    assert row["property_product_pricelist"][1] == "Deco Addict Wholesale"
    fake_odoo.call("res.partner", "write", [douglas], {"property_product_pricelist": 1})
    assert pricelist_of(fake_odoo, "Deco Addict") == 1
    other_company = fake_odoo.call("res.company", "create", {"name": "Second Company", "currency_id": 1})
    [row] = fake_odoo.call("res.partner", "read", [deco], ["property_product_pricelist"],
                           context={"allowed_company_ids": [other_company]})
    assert row["property_product_pricelist"][1] == "Public Pricelist"


def test_private_pricing_method_exists_but_is_not_public(fake_odoo: FakeOdoo) -> None:
    with pytest.raises(AccessError, match="Private methods"):
        fake_odoo.call("product.pricelist", "_get_product_price", [1])


# Pricelist rules -------------------------------------------------------------------------------


def test_percentage_rules_and_quantity_breaks(fake_odoo: FakeOdoo) -> None:
    wholesale = pricelist_of(fake_odoo, "Deco Addict")
    assert price(fake_odoo, wholesale, "CHAIR-BLK", 1) == 108.0
    assert price(fake_odoo, wholesale, "CHAIR-BLK", 10) == 96.0
    assert price(fake_odoo, wholesale, "LAMP", 50) == 29.0


def test_formula_rule_on_a_category(fake_odoo: FakeOdoo) -> None:
    contract = pricelist_of(fake_odoo, "Azure Interior")
    assert price(fake_odoo, contract, "CHAIR-BLK", 1) == 113.99
    assert price(fake_odoo, contract, "KBD-US", 1) == 95.0


def test_date_windows_select_the_rule(fake_odoo: FakeOdoo) -> None:
    contract = pricelist_of(fake_odoo, "Azure Interior")
    assert price(fake_odoo, contract, "DESK-140", 1) == 399.0
    assert price(fake_odoo, contract, "DESK-120", 1) == 427.99
    assert price(fake_odoo, contract, "DESK-120", 1, "2021-06-01 00:00:00") == 1.0


def test_fixed_quantity_breaks_and_chained_pricelist(fake_odoo: FakeOdoo) -> None:
    breaks = pricelist_of(fake_odoo, "Gemini Furniture")
    assert [price(fake_odoo, breaks, "CHAIR-WHT", q) for q in (1, 4, 5, 19, 20)] == [110, 110, 100, 100, 90]
    assert price(fake_odoo, breaks, "LAMP", 1) == pytest.approx(33.95)


def test_no_rule_falls_back_to_the_list_price(fake_odoo: FakeOdoo) -> None:
    assert price(fake_odoo, pricelist_of(fake_odoo, "Lumber Inc"), "CHAIR-RED", 3) == 130.0


def test_pricelist_items_are_readable_in_rule_order(fake_odoo: FakeOdoo) -> None:
    items = fake_odoo.call("product.pricelist.item", "search_read", [("pricelist_id", "=", pricelist_of(fake_odoo, "Deco Addict"))],
                           ["applied_on", "min_quantity", "compute_price"])
    assert [(i["applied_on"], i["min_quantity"]) for i in items] == [("1_product", 0.0), ("3_global", 10.0), ("3_global", 0.0)]


# Stock ------------------------------------------------------------------------------------------


def test_quantities_come_from_internal_quants(fake_odoo: FakeOdoo) -> None:
    chair = variant(fake_odoo, "CHAIR-BLK")
    [row] = fake_odoo.call("product.product", "read", [chair], ["qty_available", "free_qty", "virtual_available"])
    assert row["qty_available"] == 30.0 and row["free_qty"] == 30.0
    shelf = fake_odoo.call("stock.location", "search", [("complete_name", "=", "WH/Stock/Shelf 1")])[0]
    [row] = fake_odoo.call("product.product", "read", [chair], ["qty_available"], context={"location": shelf})
    assert row["qty_available"] == 5.0
    template = fake_odoo.call("product.template", "search", [("name", "=", "Office Chair")])
    assert fake_odoo.call("product.template", "read", template, ["qty_available"])[0]["qty_available"] == 40.0
    assert fake_odoo.call("product.product", "search", [("qty_available", ">", 35)], order="id") == [
        variant(fake_odoo, "LAMP"), variant(fake_odoo, "KBD-US")
    ]


def test_inventory_is_applied_through_inventory_quantity(fake_odoo: FakeOdoo) -> None:
    lamp = variant(fake_odoo, "LAMP")
    quant = fake_odoo.call("stock.quant", "search", [("product_id", "=", lamp)])
    with pytest.raises(UserError, match="restricted"):
        fake_odoo.call("stock.quant", "write", quant, {"quantity": 3})
    fake_odoo.call("stock.quant", "write", quant, {"inventory_quantity": 3})
    assert fake_odoo.call("stock.quant", "action_apply_inventory", quant) is None
    assert fake_odoo.call("product.product", "read", [lamp], ["qty_available"])[0]["qty_available"] == 3.0


def test_confirmed_orders_reserve_and_cancel_releases(fake_odoo: FakeOdoo) -> None:
    kbd = variant(fake_odoo, "KBD-DE")
    order = fake_odoo.call("sale.order", "create", {
        "partner_id": partner(fake_odoo, "Joel Willis"), "order_line": [(0, 0, {"product_id": kbd, "product_uom_qty": 5})],
    })
    fake_odoo.call("sale.order", "action_confirm", [order])
    [row] = fake_odoo.call("product.product", "read", [kbd], ["qty_available", "free_qty", "virtual_available", "outgoing_qty"])
    assert (row["qty_available"], row["free_qty"], row["virtual_available"], row["outgoing_qty"]) == (12.0, 7.0, 7.0, 5.0)
    fake_odoo.call("sale.order", "action_cancel", [order])
    assert fake_odoo.call("product.product", "read", [kbd], ["free_qty"])[0]["free_qty"] == 12.0


# Sales orders -----------------------------------------------------------------------------------


def new_order(fake: FakeOdoo, lines: list[Any], **vals: Any) -> int:
    return int(fake.call("sale.order", "create", {"partner_id": partner(fake, "Douglas Fletcher"), "order_line": lines, **vals}))


def test_order_defaults_prices_and_amounts(fake_odoo: FakeOdoo) -> None:
    chair = variant(fake_odoo, "CHAIR-BLK")
    order = new_order(fake_odoo, [(0, 0, {"product_id": chair, "product_uom_qty": 10}),
                                  (0, 0, {"product_id": variant(fake_odoo, "LAMP"), "price_unit": 19.9, "tax_id": [(6, 0, [2])]})],
                      client_order_ref="WEB-1001")
    [row] = fake_odoo.call("sale.order", "read", [order], [
        "name", "state", "pricelist_id", "partner_invoice_id", "amount_untaxed", "amount_tax", "amount_total", "order_line",
    ])
    assert row["name"].startswith("S") and row["state"] == "draft"
    assert row["pricelist_id"][1] == "Deco Addict Wholesale"
    assert row["partner_invoice_id"][1] == "Deco Addict, Douglas Fletcher"
    lines = fake_odoo.call("sale.order.line", "read", row["order_line"], ["price_unit", "price_subtotal", "name"])
    assert [line["price_unit"] for line in lines] == [96.0, 19.9]
    assert lines[0]["name"] == "[CHAIR-BLK] Office Chair (Black)"
    assert (row["amount_untaxed"], row["amount_tax"], row["amount_total"]) == (979.9, 4.18, 984.08)


def test_x2many_commands_including_short_forms(fake_odoo: FakeOdoo) -> None:
    lamp, arm = variant(fake_odoo, "LAMP"), variant(fake_odoo, "ARM")
    order = new_order(fake_odoo, [(0, 0, {"product_id": lamp}), (0, 0, {"product_id": arm})])
    first, second = fake_odoo.call("sale.order", "read", [order], ["order_line"])[0]["order_line"]
    fake_odoo.call("sale.order", "write", [order], {"order_line": [(1, first, {"product_uom_qty": 4}), (2, second, 0)]})
    lines = fake_odoo.call("sale.order", "read", [order], ["order_line"])[0]["order_line"]
    assert lines == [first] and fake_odoo.call("sale.order.line", "read", [first], ["product_uom_qty"])[0]["product_uom_qty"] == 4
    fake_odoo.call("sale.order", "write", [order], {"order_line": [(5,)]})
    assert fake_odoo.call("sale.order", "read", [order], ["order_line"])[0]["order_line"] == []
    fake_odoo.call("sale.order", "write", [order], {"order_line": [(0, 0, {"product_id": arm})]})
    deco, floyd = partner(fake_odoo, "Deco Addict"), partner(fake_odoo, "Floyd Steward")
    template = fake_odoo.call("product.template", "search", [("name", "=", "Desk Lamp")])
    fake_odoo.call("product.template", "write", template, {"x_allowed_partner_ids": [(4, deco)]})
    fake_odoo.call("product.template", "write", template, {"x_allowed_partner_ids": [(4, floyd), (3, deco)]})
    assert fake_odoo.call("product.template", "read", template, ["x_allowed_partner_ids"])[0]["x_allowed_partner_ids"] == [floyd]
    fake_odoo.call("product.template", "write", template, {"x_allowed_partner_ids": [(6, 0, [deco, floyd])]})
    fake_odoo.call("product.template", "write", template, {"x_allowed_partner_ids": [(5, 0, 0)]})
    assert fake_odoo.call("product.template", "read", template, ["x_allowed_partner_ids"])[0]["x_allowed_partner_ids"] == []


def test_confirm_cancel_and_draft(fake_odoo: FakeOdoo) -> None:
    order = new_order(fake_odoo, [(0, 0, {"product_id": variant(fake_odoo, "LAMP")})])
    assert fake_odoo.call("sale.order", "action_confirm", [order]) is True
    with pytest.raises(UserError, match="not in a state requiring confirmation"):
        fake_odoo.call("sale.order", "action_confirm", [order])
    with pytest.raises(UserError, match="first cancel"):
        fake_odoo.call("sale.order", "unlink", [order])
    assert fake_odoo.call("sale.order", "action_cancel", [order]) is True
    with pytest.raises(UserError):
        fake_odoo.call("sale.order", "action_confirm", [order])
    fake_odoo.call("sale.order", "action_draft", [order])
    assert fake_odoo.call("sale.order", "read", [order], ["state"])[0]["state"] == "draft"
    assert fake_odoo.call("sale.order", "unlink", [order]) is True
    assert fake_odoo.call("sale.order.line", "search", [("order_id", "=", order)]) == []


def test_cancelling_a_sent_order_needs_the_wizard_or_the_context_flag(fake_odoo: FakeOdoo) -> None:
    order = new_order(fake_odoo, [(0, 0, {"product_id": variant(fake_odoo, "LAMP")})])
    fake_odoo.call("sale.order", "action_quotation_sent", [order])
    action = fake_odoo.call("sale.order", "action_cancel", [order])
    assert action["res_model"] == "sale.order.cancel"
    assert fake_odoo.call("sale.order", "read", [order], ["state"])[0]["state"] == "sent"
    assert fake_odoo.call("sale.order", "action_cancel", [order], context={"disable_cancel_warning": True}) is True
    assert fake_odoo.call("sale.order", "read", [order], ["state"])[0]["state"] == "cancel"


def test_create_returns_an_id_or_a_list(fake_odoo: FakeOdoo) -> None:
    one = fake_odoo.call("res.partner", "create", {"name": "Solo"})
    many = fake_odoo.call("res.partner", "create", [{"name": "A"}, {"name": "B"}])
    assert isinstance(one, int) and isinstance(many, list) and len(many) == 2


def test_name_search_and_default_get(fake_odoo: FakeOdoo) -> None:
    found = fake_odoo.call("product.product", "name_search", "desk-1")
    assert [name for _, name in found][:1] == ["[DESK-120] Standing Desk (120 cm)"]
    assert fake_odoo.call("sale.order", "default_get", ["state", "partner_id"]) == {"state": "draft"}
    assert fake_odoo.call("product.product", "name_get", [variant(fake_odoo, "LAMP")]) == [[variant(fake_odoo, "LAMP"), "[LAMP] Desk Lamp"]]


def test_version_18_differences() -> None:
    fake = FakeOdoo("demo", version="18.0")
    fields = fake.call("product.template", "fields_get")
    assert "is_storable" in fields and "detailed_type" not in fields
    assert ["combo", "Combo"] in fields["type"]["selection"]
    with pytest.raises(AttributeError):
        fake.call("product.product", "name_get", [1])
    assert fake.call("product.product", "has_access", [1], "read") is True
    assert "mobile" not in fake.call("res.partner", "fields_get")


def test_generated_seed_has_exactly_n_variants() -> None:
    fake = FakeOdoo(500)
    total = fake.call("product.product", "search_count", [], context={"active_test": False})
    assert total == 500
    assert fake.call("product.product", "search_count", [("active", "=", False)]) > 0
    assert fake.call("product.template", "search_count", [("x_allowed_partner_ids", "!=", False)]) > 0
    assert fake.call("product.pricelist.item", "search_count", [("min_quantity", ">", 0)]) > 0
    assert fake.call("product.pricelist.item", "search_count", [("date_end", "!=", False)]) > 0
    assert fake.call("stock.quant", "search_count", []) > 0
    assert FakeOdoo(500).call("product.product", "search_read", [], ["default_code", "lst_price"], limit=20) == \
        fake.call("product.product", "search_read", [], ["default_code", "lst_price"], limit=20)


def test_web_read_and_web_search_read_follow_the_specification(fake_odoo: FakeOdoo) -> None:
    desk = fake_odoo.call("product.template", "search", [("name", "=", "Standing Desk")])
    spec = {"display_name": {}, "currency_id": {"fields": {"display_name": {}}}, "categ_id": {},
            "product_variant_ids": {"fields": {"default_code": {}, "product_template_variant_value_ids": {
                "fields": {"name": {}, "attribute_id": {"fields": {"display_name": {}}}}}}}}
    [row] = fake_odoo.call("product.template", "web_read", desk, spec)
    assert row["currency_id"] == {"id": 1, "display_name": "EUR"} and isinstance(row["categ_id"], int)
    first = row["product_variant_ids"][0]
    assert first["default_code"] == "DESK-120"
    assert first["product_template_variant_value_ids"][0]["attribute_id"]["display_name"] == "Size"
    found = fake_odoo.call("product.template", "web_search_read", [("sale_ok", "=", True)], {"name": {}}, limit=2)
    assert found["length"] > 2 and len(found["records"]) == 2
