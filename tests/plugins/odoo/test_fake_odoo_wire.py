"""The fake Odoo on the wire, in-process (``aiohttp_client``): JSON-RPC envelopes, /web endpoints,
the fault matrix and the admin endpoint."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from erpcommerce_odoo.fake_odoo import FakeOdoo

from .fake_odoo_support import DB, LOGIN, PASSWORD, create_app, fake_of, jsonrpc_body

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def client(aiohttp_client: Any) -> Client:
    return await aiohttp_client(create_app("demo"))


def fake(client: Client) -> FakeOdoo:
    return fake_of(client.app)


async def rpc(client: Client, service: str, method: str, *args: Any, path: str = "/jsonrpc") -> dict[str, Any]:
    response = await client.post(path, json=jsonrpc_body({"service": service, "method": method, "args": list(args)}, 7))
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    assert body["jsonrpc"] == "2.0" and body["id"] == 7
    return body


async def execute_kw(client: Client, model: str, method: str, args: list[Any], kwargs: dict[str, Any] | None = None,
                     password: str = PASSWORD) -> dict[str, Any]:
    return await rpc(client, "object", "execute_kw", DB, 2, password, model, method, args, kwargs or {})


async def web_call(client: Client, path: str, params: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=jsonrpc_body(params, 3))
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    return body


def error_name(body: dict[str, Any]) -> str:
    return str(body["error"]["data"]["name"])


# Envelopes --------------------------------------------------------------------------------------


async def test_result_envelope_and_login(client: Client) -> None:
    assert (await rpc(client, "common", "login", DB, LOGIN, PASSWORD))["result"] == 2
    assert (await rpc(client, "common", "login", DB, LOGIN, "bad"))["result"] is False
    assert (await rpc(client, "common", "version"))["result"]["server_version"] == "17.0"


async def test_error_envelope_has_odoo_shape(client: Client) -> None:
    body = await execute_kw(client, "res.partner", "read", [[987654]])
    assert "result" not in body
    error = body["error"]
    assert error["code"] == 200 and error["message"] == "Odoo Server Error"
    assert error["data"]["name"] == "odoo.exceptions.MissingError"
    assert error["data"]["message"].startswith("Record does not exist")
    assert error["data"]["arguments"] and error["data"]["context"] == {} and "Traceback" in error["data"]["debug"]


async def test_none_result_is_left_out(client: Client) -> None:
    quant = (await execute_kw(client, "stock.quant", "search", [[]], {"limit": 1}))["result"]
    body = await execute_kw(client, "stock.quant", "action_apply_inventory", [quant])
    assert "result" not in body and "error" not in body


async def test_python_errors_and_unknown_things(client: Client) -> None:
    assert error_name(await execute_kw(client, "res.partner", "search", [[]], password="bad")) == "odoo.exceptions.AccessDenied"
    assert error_name(await execute_kw(client, "no.model", "search", [[]])) == "odoo.exceptions.UserError"
    assert error_name(await execute_kw(client, "res.partner", "_private", [])) == "odoo.exceptions.AccessError"
    assert error_name(await execute_kw(client, "res.partner", "nope", [])) == "builtins.AttributeError"
    assert error_name(await execute_kw(client, "res.partner", "search", [[("nope", "=", 1)]])) == "builtins.ValueError"
    assert error_name(await rpc(client, "object", "execute_kw", "other_db", 2, PASSWORD, "res.partner", "search", [[]])) \
        == "psycopg2.OperationalError"


async def test_non_json_body_is_a_400_html_page(client: Client) -> None:
    response = await client.post("/jsonrpc", data=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status == 400 and response.content_type == "text/html"


# /web endpoints ---------------------------------------------------------------------------------


async def test_version_info_and_database_list(client: Client) -> None:
    info = await web_call(client, "/web/webclient/version_info", {})
    assert info["result"]["server_version_info"][0] == 17
    assert (await web_call(client, "/web/database/list", {}))["result"] == [DB]


async def test_web_session_login_call_kw_and_logout(client: Client) -> None:
    expired = await web_call(client, "/web/dataset/call_kw", {"model": "res.partner", "method": "search", "args": [[]], "kwargs": {}})
    assert expired["error"]["code"] == 100 and expired["error"]["message"] == "Odoo Session Expired"
    assert error_name(expired) == "odoo.http.SessionExpiredException"
    login = await client.post("/web/session/authenticate", json=jsonrpc_body({"db": DB, "login": LOGIN, "password": PASSWORD}))
    info = (await login.json())["result"]
    assert "session_id" in login.cookies
    assert info["uid"] == 2 and info["username"] == LOGIN and info["user_context"]["uid"] == 2
    assert info["user_companies"]["current_company"] == 1 and info["server_version"] == "17.0"
    call = {"model": "product.product", "method": "search_read",
            "args": [[("default_code", "=", "LAMP")]], "kwargs": {"fields": ["lst_price"], "context": {"lang": "en_US"}}}
    rows = (await web_call(client, "/web/dataset/call_kw/product.product/search_read", call))["result"]
    assert rows[0]["lst_price"] == 35.0
    assert (await web_call(client, "/web/session/get_session_info", {}))["result"]["uid"] == 2
    await web_call(client, "/web/session/destroy", {})
    client.session.cookie_jar.clear()
    assert (await web_call(client, "/web/session/get_session_info", {}))["error"]["code"] == 100


async def test_web_login_refuses_bad_passwords_and_api_keys(client: Client) -> None:
    bad = await web_call(client, "/web/session/authenticate", {"db": DB, "login": LOGIN, "password": "nope"})
    assert error_name(bad) == "odoo.exceptions.AccessDenied" and bad["error"]["data"]["message"] == "Access Denied"
    fake(client).add_api_key("0123456789abcdef")
    assert error_name(await web_call(client, "/web/session/authenticate", {"db": DB, "login": LOGIN, "password": "0123456789abcdef"})) \
        == "odoo.exceptions.AccessDenied"
    assert "result" in await execute_kw(client, "res.partner", "search", [[]], password="0123456789abcdef")


async def test_login_cooldown_after_five_failures(client: Client) -> None:
    for _ in range(5):
        assert (await rpc(client, "common", "login", DB, LOGIN, "bad"))["result"] is False
    assert (await rpc(client, "common", "login", DB, LOGIN, PASSWORD))["result"] is False
    refused = await web_call(client, "/web/session/authenticate", {"db": DB, "login": LOGIN, "password": PASSWORD})
    assert "Too many login failures" in refused["error"]["data"]["message"]


# Fault matrix -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "name"),
    [
        ("access_denied", "odoo.exceptions.AccessDenied"),
        ("access_error", "odoo.exceptions.AccessError"),
        ("validation_error", "odoo.exceptions.ValidationError"),
        ("missing_record", "odoo.exceptions.MissingError"),
        ("serialization_failure", "psycopg2.errors.SerializationFailure"),
    ],
)
async def test_rpc_faults_fire_the_given_number_of_times(client: Client, fault: str, name: str) -> None:
    fake(client).faults.set(fault, times=2, model="sale.order")
    assert "result" in await execute_kw(client, "res.partner", "search", [[]])
    for _ in range(2):
        assert error_name(await execute_kw(client, "sale.order", "search", [[]])) == name
    assert "result" in await execute_kw(client, "sale.order", "search", [[]])
    assert fake(client).faults.fired[fault] == 2


async def test_auth_fail_login_and_login_cooldown_faults(client: Client) -> None:
    fake(client).faults.set("auth_fail_login", times=1)
    assert (await rpc(client, "common", "authenticate", DB, LOGIN, PASSWORD, {}))["result"] is False
    assert (await rpc(client, "common", "authenticate", DB, LOGIN, PASSWORD, {}))["result"] == 2
    fake(client).faults.set("login_cooldown", times=1)
    refused = await web_call(client, "/web/session/authenticate", {"db": DB, "login": LOGIN, "password": PASSWORD})
    assert "Too many login failures" in refused["error"]["data"]["message"]


async def test_session_expired_fault(client: Client) -> None:
    await client.post("/web/session/authenticate", json=jsonrpc_body({"db": DB, "login": LOGIN, "password": PASSWORD}))
    fake(client).faults.set("session_expired", times=1)
    call = {"model": "res.partner", "method": "search_count", "args": [[]], "kwargs": {}}
    assert (await web_call(client, "/web/dataset/call_kw", call))["error"]["code"] == 100
    assert "result" in await web_call(client, "/web/dataset/call_kw", call)


@pytest.mark.parametrize(("fault", "status"), [("http_502", 502), ("http_429", 429)])
async def test_http_error_faults_answer_html(client: Client, fault: str, status: int) -> None:
    fake(client).faults.set(fault, times=1)
    response = await client.post("/jsonrpc", json=jsonrpc_body({"service": "common", "method": "version", "args": []}))
    assert response.status == status and response.content_type == "text/html"
    assert str(status) in await response.text()
    assert (await rpc(client, "common", "version"))["result"]["server_version"] == "17.0"


async def test_invalid_json_fault_truncates_the_body(client: Client) -> None:
    fake(client).faults.set("invalid_json", times=1)
    response = await client.post("/jsonrpc", json=jsonrpc_body({"service": "common", "method": "version", "args": []}))
    assert response.status == 200
    with pytest.raises(ValueError):
        json.loads(await response.text())


async def test_slow_fault_and_latency_delay_answers(client: Client) -> None:
    fake(client).faults.set("slow", times=1, seconds=0.05)
    fake(client).faults.latency = 0.01
    assert (await rpc(client, "common", "version"))["result"]["server_version"] == "17.0"
    assert fake(client).faults.fired["slow"] == 1


async def test_error_rate_answers_some_requests_with_502(client: Client) -> None:
    fake(client).faults.error_rate = 0.5
    statuses = set()
    for _ in range(20):
        response = await client.post("/jsonrpc", json=jsonrpc_body({"service": "common", "method": "version", "args": []}))
        statuses.add(response.status)
    assert statuses == {200, 502}


async def test_admin_endpoint_switches_faults_at_run_time(client: Client) -> None:
    response = await client.post("/fake/faults", json={
        "faults": {"serialization_failure": {"times": 1, "model": "sale.order", "method": "create"}},
        "latency": 0.0,
    })
    state = await response.json()
    assert state["faults"]["serialization_failure"]["times"] == 1
    body = await execute_kw(client, "sale.order", "create", [{"partner_id": 5}])
    assert error_name(body) == "psycopg2.errors.SerializationFailure"
    assert isinstance((await execute_kw(client, "sale.order", "create", [{"partner_id": 5}]))["result"], int)
    await client.post("/fake/faults", json={"faults": {"http_502": {}}})
    assert (await client.get("/fake/faults")).status == 200
    assert (await client.post("/jsonrpc", json=jsonrpc_body({"service": "common", "method": "version", "args": []}))).status == 502
    assert (await client.delete("/fake/faults")).status == 200
    assert (await rpc(client, "common", "version"))["result"]
    assert (await client.post("/fake/faults", json={"faults": {"nope": {}}})).status == 400
    assert (await client.post("/fake/faults", data=b"[1]")).status == 400


async def test_calls_reaching_a_model_are_counted_and_logged_until_forgotten(client: Client) -> None:
    await client.post("/fake/faults", json={"faults": {"http_502": {"times": 1}}})
    call = {"service": "object", "method": "execute_kw",
            "args": [DB, 2, PASSWORD, "product.template", "search_read", [[("id", ">", 0)], ["name"]]]}
    assert (await client.post("/jsonrpc", json=jsonrpc_body(call))).status == 502
    await execute_kw(client, "product.template", "search_read", [[("id", ">", 3)], ["name"]], {"limit": 2})
    await execute_kw(client, "res.partner", "search_count", [[]])

    calls = await (await client.get("/fake/calls?model=product.template")).json()

    # the first call was answered 502 by the proxy: it never reached the model
    assert calls["counts"] == {"product.template.search_read": 1, "res.partner.search_count": 1}
    (logged,) = calls["log"]
    assert logged["args"][0] == [["id", ">", 3]] and logged["kwargs"] == {"limit": 2}
    assert (await (await client.delete("/fake/calls")).json())["counts"] == {}
    assert (await (await client.get("/fake/calls")).json()) == {"counts": {}, "log": []}


async def test_version_18_mode(aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app("demo", version="18.0"))
    assert (await rpc(client, "common", "version"))["result"]["server_version_info"][:2] == [18, 0]
    assert error_name(await execute_kw(client, "res.partner", "name_get", [[1]])) == "builtins.AttributeError"


async def test_large_generated_catalogue_pages_by_write_date(aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app(3000))
    seen: list[int] = []
    while True:
        page = (await execute_kw(client, "product.product", "search_read", [[("write_date", ">=", "2024-01-01 00:00:00")]],
                                 {"fields": ["write_date"], "order": "write_date asc, id asc", "limit": 1000,
                                  "offset": len(seen), "context": {"active_test": False}}))["result"]
        if not page:
            break
        seen += [row["id"] for row in page]
    assert len(seen) == len(set(seen)) == 3000
