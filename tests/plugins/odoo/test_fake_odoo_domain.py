"""The fake Odoo's domain engine and search semantics (reference §3), on the demo catalogue."""

from __future__ import annotations

from typing import Any

import pytest

from erpcommerce_odoo.fake_odoo import FakeOdoo
from erpcommerce_odoo.fake_odoo.domain import normalize

from .fake_odoo_support import fake_odoo

__all__ = ["fake_odoo"]


def codes(fake: FakeOdoo, domain: list[Any], **context: Any) -> list[str]:
    rows = fake.call("product.product", "search_read", domain, ["default_code"], order="default_code",
                     context=context)
    return [row["default_code"] for row in rows]


def test_normalize_makes_implicit_ands_explicit() -> None:
    leaf_a, leaf_b, leaf_c = ("a", "=", 1), ("b", "=", 2), ("c", "=", 3)
    assert normalize([leaf_a, leaf_b]) == ["&", leaf_a, leaf_b]
    assert normalize(["|", leaf_a, leaf_b, leaf_c]) == ["&", "|", leaf_a, leaf_b, leaf_c]
    assert normalize([]) == []
    with pytest.raises(ValueError):
        normalize(["|", leaf_a])


def test_comparison_operators(fake_odoo: FakeOdoo) -> None:
    assert codes(fake_odoo, [("lst_price", ">", 450)]) == ["DESK-140", "DESK-160", "EXEC"]
    assert codes(fake_odoo, [("lst_price", ">=", 450), ("lst_price", "<", 550)]) == ["DESK-120", "DESK-140"]
    assert codes(fake_odoo, [("lst_price", "<=", 35)]) == ["LAMP"]
    assert "LAMP" not in codes(fake_odoo, [("default_code", "!=", "LAMP")])
    assert codes(fake_odoo, [("default_code", "=", "ARM")]) == ["ARM"]


def test_in_and_not_in(fake_odoo: FakeOdoo) -> None:
    assert codes(fake_odoo, [("default_code", "in", ["ARM", "LAMP", "NOPE"])]) == ["ARM", "LAMP"]
    assert codes(fake_odoo, [("default_code", "in", [])]) == []
    every = codes(fake_odoo, [])
    assert codes(fake_odoo, [("default_code", "not in", [])]) == every
    assert len(codes(fake_odoo, [("default_code", "not in", ["ARM"])])) == len(every) - 1


def test_like_operators(fake_odoo: FakeOdoo) -> None:
    assert codes(fake_odoo, [("default_code", "like", "KBD")]) == ["KBD-DE", "KBD-US"]
    assert codes(fake_odoo, [("default_code", "like", "kbd")]) == []
    assert codes(fake_odoo, [("default_code", "ilike", "kbd")]) == ["KBD-DE", "KBD-US"]
    assert codes(fake_odoo, [("default_code", "=like", "DESK-1_0")]) == ["DESK-120", "DESK-140", "DESK-160"]
    assert codes(fake_odoo, [("default_code", "=ilike", "desk%")]) == ["DESK-120", "DESK-140", "DESK-160"]
    assert codes(fake_odoo, [("default_code", "=like", "DESK")]) == []
    assert "LAMP" not in codes(fake_odoo, [("name", "not ilike", "lamp")])


def test_prefix_operators(fake_odoo: FakeOdoo) -> None:
    either = ["|", ("default_code", "=", "ARM"), ("default_code", "=", "LAMP")]
    assert codes(fake_odoo, either) == ["ARM", "LAMP"]
    assert codes(fake_odoo, [*either, ("lst_price", ">", 50)]) == ["ARM"]
    assert codes(fake_odoo, ["!", ("default_code", "ilike", "-")]) == ["ARM", "EXEC", "LAMP"]
    assert codes(fake_odoo, ["&", ("default_code", "ilike", "CHAIR"), "!", ("default_code", "=", "CHAIR-RED")]) == [
        "CHAIR-BLK", "CHAIR-WHT"
    ]


def test_true_and_false_leaves(fake_odoo: FakeOdoo) -> None:
    assert codes(fake_odoo, [(1, "=", 1)]) == codes(fake_odoo, [])
    assert codes(fake_odoo, [(0, "=", 1)]) == []


def test_dotted_paths_follow_many2one_and_x2many(fake_odoo: FakeOdoo) -> None:
    assert codes(fake_odoo, [("product_tmpl_id.name", "=", "Standing Desk")]) == ["DESK-120", "DESK-140", "DESK-160"]
    assert codes(fake_odoo, [("categ_id.name", "=", "Lighting")]) == ["LAMP"]
    red = [("product_template_attribute_value_ids.name", "=", "Red")]
    assert codes(fake_odoo, red) == ["CHAIR-RED"]
    not_red = codes(fake_odoo, [("product_template_attribute_value_ids.name", "!=", "Red")])
    assert "CHAIR-RED" not in not_red and "LAMP" in not_red
    contacts = fake_odoo.call("res.partner", "search", [("parent_id.email", "ilike", "@deco-addict")])
    assert len(contacts) == 2


def test_many2one_compared_to_a_name_searches_the_comodel(fake_odoo: FakeOdoo) -> None:
    assert codes(fake_odoo, [("product_tmpl_id", "ilike", "keyboard")]) == ["KBD-DE", "KBD-US"]
    template = fake_odoo.call("product.template", "search", [("name", "=", "Desk Lamp")])[0]
    assert codes(fake_odoo, [("product_tmpl_id", "=", template)]) == ["LAMP"]


def test_false_means_null(fake_odoo: FakeOdoo) -> None:
    assert codes(fake_odoo, [("barcode", "!=", False)]) == ["LAMP"]
    assert "LAMP" not in codes(fake_odoo, [("barcode", "=", False)])
    companies = fake_odoo.call("res.partner", "search", [("parent_id", "=", False), ("is_company", "=", True)])
    contacts = fake_odoo.call("res.partner", "search", [("parent_id", "!=", False)])
    assert companies and contacts and not set(companies) & set(contacts)
    assert codes(fake_odoo, [("barcode", "in", [False, "5400000000011"])]) == codes(fake_odoo, [])
    assert codes(fake_odoo, [("barcode", "=?", False)]) == codes(fake_odoo, [])
    assert codes(fake_odoo, [("barcode", "=?", "5400000000011")]) == ["LAMP"]


def test_x2many_field_leaves(fake_odoo: FakeOdoo) -> None:
    restricted = fake_odoo.call("product.template", "search", [("x_allowed_partner_ids", "!=", False)])
    names = [row["name"] for row in fake_odoo.call("product.template", "read", restricted, ["name"])]
    assert names == ["Executive Desk"]
    deco = fake_odoo.call("res.partner", "search", [("name", "=", "Deco Addict")])[0]
    open_or_deco = ["|", ("x_allowed_partner_ids", "=", False), ("x_allowed_partner_ids", "in", [deco])]
    azure = fake_odoo.call("res.partner", "search", [("name", "=", "Azure Interior")])[0]
    open_or_azure = ["|", ("x_allowed_partner_ids", "=", False), ("x_allowed_partner_ids", "in", [azure])]
    assert "Executive Desk" in _template_names(fake_odoo, open_or_deco)
    assert "Executive Desk" not in _template_names(fake_odoo, open_or_azure)


def _template_names(fake: FakeOdoo, domain: list[Any]) -> list[str]:
    return [row["name"] for row in fake.call("product.template", "search_read", domain, ["name"])]


def test_archived_records_are_hidden_unless_asked_for(fake_odoo: FakeOdoo) -> None:
    assert "TRAY" not in codes(fake_odoo, [])
    assert "WB-BLK" not in codes(fake_odoo, [])
    everything = codes(fake_odoo, [], active_test=False)
    assert "TRAY" in everything and "WB-BLK" in everything
    assert codes(fake_odoo, [("active", "=", False)]) == ["TRAY", "WB-BLK"]
    assert set(codes(fake_odoo, [("active", "in", [True, False])])) == set(everything)
    tray = fake_odoo.call("product.product", "search", [("default_code", "=", "TRAY")], context={"active_test": False})
    assert fake_odoo.call("product.product", "read", tray, ["active"]) == [{"id": tray[0], "active": False}]


def test_one2many_values_hide_archived_records(fake_odoo: FakeOdoo) -> None:
    board = fake_odoo.call("product.template", "search", [("name", "=", "Whiteboard")])
    [row] = fake_odoo.call("product.template", "read", board, ["product_variant_ids", "product_variant_count"])
    assert len(row["product_variant_ids"]) == 1 and row["product_variant_count"] == 1
    [row] = fake_odoo.call("product.template", "read", board, ["product_variant_ids"], context={"active_test": False})
    assert len(row["product_variant_ids"]) == 2


def test_order_limit_offset_and_count(fake_odoo: FakeOdoo) -> None:
    by_price = fake_odoo.call("product.product", "search_read", [("default_code", "like", "DESK")], ["default_code"],
                              order="default_code desc")
    assert [r["default_code"] for r in by_price] == ["DESK-160", "DESK-140", "DESK-120"]
    every = fake_odoo.call("product.product", "search", [], order="write_date asc, id desc")
    assert every == sorted(every, reverse=True)
    page = fake_odoo.call("product.product", "search", [], offset=2, limit=3, order="id")
    assert page == sorted(every)[2:5]
    assert fake_odoo.call("product.product", "search_count", []) == len(every)
    assert fake_odoo.call("product.product", "search_count", [], limit=2) == 2
    with pytest.raises(ValueError):
        fake_odoo.call("product.product", "search", [], order="lst_price")
    with pytest.raises(ValueError):
        fake_odoo.call("product.product", "search", [], order="id sideways")


def test_write_date_cursor_finds_only_later_writes(fake_odoo: FakeOdoo) -> None:
    lamp = fake_odoo.call("product.product", "search", [("default_code", "=", "LAMP")])
    fake_odoo.call("product.product", "write", lamp, {"barcode": "5400000000028"})
    [row] = fake_odoo.call("product.product", "read", lamp, ["write_date", "create_date"])
    assert row["write_date"] > row["create_date"] == "2024-01-01 00:00:00"
    changed = fake_odoo.call("product.product", "search", [("write_date", ">", "2024-01-01")], order="write_date asc, id asc")
    assert changed == lamp


def test_invalid_leaves_raise_value_error(fake_odoo: FakeOdoo) -> None:
    with pytest.raises(ValueError):
        fake_odoo.call("product.product", "search", [("nope", "=", 1)])
    with pytest.raises(ValueError):
        fake_odoo.call("product.product", "search", [("name", "~", 1)])
    with pytest.raises(ValueError):
        fake_odoo.call("product.product", "search", [("name", "=")])


def test_non_searchable_field_counts_as_true(fake_odoo: FakeOdoo) -> None:
    every = fake_odoo.call("product.template", "search", [])
    assert fake_odoo.call("product.template", "search", [("is_product_variant", "=", False)]) == every


def test_child_of_follows_the_hierarchy(fake_odoo: FakeOdoo) -> None:
    saleable = fake_odoo.call("product.category", "search", [("complete_name", "=", "All / Saleable")])
    assert len(codes(fake_odoo, [("categ_id", "child_of", saleable)])) == len(codes(fake_odoo, []))
    lighting = fake_odoo.call("product.category", "search", [("name", "=", "Lighting")])
    assert codes(fake_odoo, [("categ_id", "child_of", lighting)]) == ["LAMP"]
