"""Real Odoo clients, unchanged, against the fake Odoo served from a thread: odoorpc and xmlrpc.client."""

from __future__ import annotations

import urllib.error
import xmlrpc.client
from collections.abc import Iterator

import odoorpc
import pytest

from .fake_odoo_support import DB, LOGIN, PASSWORD, FakeOdooThread


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOdooThread]:
    with FakeOdooThread("demo") as running:
        yield running


@pytest.fixture(autouse=True)
def no_faults(server: FakeOdooThread) -> Iterator[None]:
    yield
    server.fake.faults.clear()


@pytest.fixture
def odoo(server: FakeOdooThread) -> odoorpc.ODOO:
    client = odoorpc.ODOO("127.0.0.1", port=server.port)
    client.login(DB, LOGIN, PASSWORD)
    return client


@pytest.fixture
def common(server: FakeOdooThread) -> Iterator[xmlrpc.client.ServerProxy]:
    with xmlrpc.client.ServerProxy(f"{server.url}/xmlrpc/2/common") as proxy:
        yield proxy


@pytest.fixture
def models(server: FakeOdooThread) -> Iterator[xmlrpc.client.ServerProxy]:
    with xmlrpc.client.ServerProxy(f"{server.url}/xmlrpc/2/object") as proxy:
        yield proxy


# odoorpc ----------------------------------------------------------------------------------------


def test_odoorpc_logs_in_and_reads_the_version(odoo: odoorpc.ODOO) -> None:
    assert odoo.version == "17.0"
    assert odoo.env.uid == 2 and odoo.env.user.name == "Mitchell Admin"
    assert odoo.env.context["lang"] == "en_US"
    assert odoo.db.list() == [DB]


def test_odoorpc_refuses_a_bad_password(server: FakeOdooThread) -> None:
    client = odoorpc.ODOO("127.0.0.1", port=server.port)
    with pytest.raises(odoorpc.error.RPCError, match="Wrong login ID or password"):
        client.login(DB, LOGIN, "wrong")


def test_odoorpc_searches_reads_and_browses(odoo: odoorpc.ODOO) -> None:
    products = odoo.env["product.product"]
    ids = products.search([("default_code", "like", "DESK")], order="default_code")
    rows = products.read(ids, ["default_code", "lst_price"])
    assert [(r["default_code"], r["lst_price"]) for r in rows] == [("DESK-120", 450.0), ("DESK-140", 500.0), ("DESK-160", 550.0)]
    desk = products.browse(ids[1])
    assert desk.display_name == "[DESK-140] Standing Desk (140 cm)"
    assert desk.product_tmpl_id.name == "Standing Desk"
    assert desk.categ_id.complete_name == "All / Saleable / Office Furniture"
    assert [v.name for v in desk.product_template_attribute_value_ids] == ["140 cm"]
    assert products.search_read([("default_code", "=", "LAMP")], ["barcode"])[0]["barcode"] == "5400000000011"
    assert "sale.order" in odoo.env and "no.such.model" not in odoo.env
    assert odoo.env.ref("base.main_company").name == "My Company"


def test_odoorpc_creates_and_confirms_a_sale_order(odoo: odoorpc.ODOO) -> None:
    partner_id = odoo.env["res.partner"].search([("email", "=", "edwin.hansen@gemini-furniture.example")])[0]
    chair = odoo.env["product.product"].search([("default_code", "=", "CHAIR-WHT")])[0]
    orders = odoo.env["sale.order"]
    order_id = orders.create({
        "partner_id": partner_id, "client_order_ref": "WEB-ODOORPC",
        "order_line": [(0, 0, {"product_id": chair, "product_uom_qty": 5})],
    })
    order = orders.browse(order_id)
    assert order.state == "draft" and order.pricelist_id.name == "Gemini Quantity Breaks"
    assert [line.price_unit for line in order.order_line] == [100.0]
    order.action_confirm()
    assert orders.read([order_id], ["state", "amount_total"]) == [{"id": order_id, "state": "sale", "amount_total": 500.0}]
    assert orders.search([("client_order_ref", "=", "WEB-ODOORPC")]) == [order_id]


def test_odoorpc_writes_and_unlinks_records(odoo: odoorpc.ODOO) -> None:
    partners = odoo.env["res.partner"]
    pid = partners.create({"name": "Temp Customer", "email": "temp@example.com"})
    record = partners.browse(pid)
    record.write({"phone": "+32 2 000 00 00"})
    record.city = "Brussels"
    assert partners.read([pid], ["phone", "city"])[0]["city"] == "Brussels"
    record.unlink()
    assert partners.search([("id", "=", pid)]) == []


def test_odoorpc_sees_odoo_errors_and_http_errors(odoo: odoorpc.ODOO, server: FakeOdooThread) -> None:
    with pytest.raises(odoorpc.error.RPCError) as caught:
        odoo.execute("sale.order", "action_confirm", [99999])
    assert caught.value.info["data"]["name"] == "odoo.exceptions.MissingError"
    server.fake.faults.set("http_502", times=1)
    with pytest.raises(urllib.error.HTTPError) as http_error:
        odoo.env["res.partner"].search([])
    assert http_error.value.code == 502
    http_error.value.close()
    assert odoo.env["res.partner"].search([("id", "=", 1)]) == [1]


# xmlrpc.client ----------------------------------------------------------------------------------


def test_xmlrpc_common_version_and_authenticate(common: xmlrpc.client.ServerProxy) -> None:
    version = common.version()
    assert version["server_version"] == "17.0" and version["server_version_info"][:2] == [17, 0]
    assert common.authenticate(DB, LOGIN, PASSWORD, {}) == 2
    assert common.login(DB, LOGIN, PASSWORD) == 2
    assert common.authenticate(DB, LOGIN, "wrong", {}) is False
    with pytest.raises(xmlrpc.client.Fault) as caught:
        common.nope()
    assert caught.value.faultCode == 1


def test_xmlrpc_search_read_with_domains(models: xmlrpc.client.ServerProxy) -> None:
    rows = models.execute_kw(DB, 2, PASSWORD, "product.product", "search_read",
                             [["|", ["default_code", "=", "ARM"], ["default_code", "=", "LAMP"]]],
                             {"fields": ["default_code", "write_date", "product_tmpl_id"], "order": "default_code"})
    assert [r["default_code"] for r in rows] == ["ARM", "LAMP"]
    assert rows[0]["write_date"] == "2024-01-01 00:00:00"
    assert models.execute(DB, 2, PASSWORD, "product.product", "search_count", [["default_code", "ilike", "chair"]]) == 3
    fields = models.execute_kw(DB, 2, PASSWORD, "product.template", "fields_get", [], {"attributes": ["type", "relation"]})
    assert fields["x_allowed_partner_ids"] == {"type": "many2many", "relation": "res.partner"}


def test_xmlrpc_create_write_unlink(models: xmlrpc.client.ServerProxy) -> None:
    pid = models.execute_kw(DB, 2, PASSWORD, "res.partner", "create", [{"name": "XML Customer"}])
    assert isinstance(pid, int)
    assert models.execute_kw(DB, 2, PASSWORD, "res.partner", "write", [[pid], {"email": "x@example.com"}]) is True
    assert models.execute_kw(DB, 2, PASSWORD, "res.partner", "read", [[pid]], {"fields": ["email", "parent_id"]}) == [
        {"id": pid, "email": "x@example.com", "parent_id": False}
    ]
    assert models.execute_kw(DB, 2, PASSWORD, "res.partner", "unlink", [[pid]]) is True


@pytest.mark.parametrize(
    ("call", "code", "text"),
    [
        (("res.partner", "search", [[]]), 3, "Access Denied"),
        (("no.model", "search", [[]]), 2, "Object no.model doesn't exist"),
        (("product.pricelist", "_get_product_price", [[1]]), 4, "Private methods"),
        (("res.partner", "read", [[424242]]), 2, "Record does not exist"),
        (("sale.order", "create", [{"client_order_ref": "no partner"}]), 2, "mandatory field"),
        (("res.partner", "no_such_method", [[]]), 1, "AttributeError"),
        (("stock.quant", "action_apply_inventory", [[1]]), 1, "cannot marshal None"),
    ],
)
def test_xmlrpc_errors_become_faults_with_odoo_codes(
    models: xmlrpc.client.ServerProxy, call: tuple[str, str, list[object]], code: int, text: str
) -> None:
    password = "wrong" if code == 3 else PASSWORD
    with pytest.raises(xmlrpc.client.Fault) as caught:
        models.execute_kw(DB, 2, password, *call)
    assert caught.value.faultCode == code
    assert text in caught.value.faultString


def test_xmlrpc_injected_faults(models: xmlrpc.client.ServerProxy, server: FakeOdooThread) -> None:
    server.fake.faults.set("serialization_failure", times=1, model="res.partner")
    with pytest.raises(xmlrpc.client.Fault) as caught:
        models.execute_kw(DB, 2, PASSWORD, "res.partner", "search", [[]])
    assert caught.value.faultCode == 1 and "SerializationFailure" in caught.value.faultString
    assert models.execute_kw(DB, 2, PASSWORD, "res.partner", "search", [[["id", "=", 1]]]) == [1]
    server.fake.faults.set("none_result_xmlrpc", times=1)
    with pytest.raises(xmlrpc.client.Fault, match="cannot marshal None"):
        models.execute_kw(DB, 2, PASSWORD, "res.partner", "search", [[]])
    server.fake.faults.set("access_error", times=1)
    with pytest.raises(xmlrpc.client.Fault) as caught:
        models.execute_kw(DB, 2, PASSWORD, "res.partner", "search", [[]])
    assert caught.value.faultCode == 4


def test_xmlrpc_db_service(server: FakeOdooThread) -> None:
    with xmlrpc.client.ServerProxy(f"{server.url}/xmlrpc/2/db") as db:
        assert db.list() == [DB]
        assert db.server_version() == "17.0"
        assert db.db_exist(DB) is True and db.db_exist("other") is False
