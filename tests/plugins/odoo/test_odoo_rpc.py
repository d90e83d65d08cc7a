"""The JSON-RPC layer: authentication, error mapping by kind, the parallel-call cap, timeouts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from core.errors import ConfigError, ErpUnavailable, PermanentError
from erpcommerce_odoo.rpc import OdooRpc
from erpcommerce_odoo.settings import OdooSettings
from tests.plugins.odoo.odoo_stub import DATABASE, PASSWORD, Fault, OdooStub

ServerFactory = Callable[..., Awaitable[TestServer]]


@pytest.fixture
def stub() -> OdooStub:
    return OdooStub()


@pytest.fixture
async def make_rpc(stub: OdooStub, aiohttp_server: ServerFactory) -> AsyncIterator[Callable[..., Awaitable[OdooRpc]]]:
    opened: list[OdooRpc] = []

    async def make(**overrides: Any) -> OdooRpc:
        server = await aiohttp_server(stub.app())
        settings = OdooSettings(url=str(server.make_url("")), database=DATABASE, login="admin", password=PASSWORD,
                                **overrides)
        rpc = OdooRpc(settings)
        await rpc.start()
        opened.append(rpc)
        return rpc

    yield make
    for rpc in opened:
        await rpc.close()


async def test_authenticates_once_and_sends_execute_kw(stub: OdooStub, make_rpc: Any) -> None:
    stub.on("res.partner", "search_read", [{"id": 7, "name": "ACME"}])
    rpc = await make_rpc(company_id=3)
    found = await rpc.execute_kw("res.partner", "search_read", [[("id", "=", 7)], ["name"]])
    assert found == [{"id": 7, "name": "ACME"}]
    await rpc.execute_kw("res.partner", "search_read", [[], ["name"]], {"limit": 5})
    assert [c.method for c in stub.calls] == ["authenticate", "execute_kw", "execute_kw"]
    assert stub.calls[0].args == [DATABASE, "admin", PASSWORD, {}]
    call = stub.calls[2]
    assert call.args[:5] == [DATABASE, 2, PASSWORD, "res.partner", "search_read"]
    assert call.kwargs == {"limit": 5, "context": {"allowed_company_ids": [3]}}


async def test_a_none_result_is_none(stub: OdooStub, make_rpc: Any) -> None:
    stub.on("sale.order", "action_cancel", None)
    rpc = await make_rpc()
    assert await rpc.execute_kw("sale.order", "action_cancel", [[1]]) is None


async def test_bad_credentials_are_a_configuration_error_not_retried(stub: OdooStub, make_rpc: Any) -> None:
    stub.uid = False
    rpc = await make_rpc()
    with pytest.raises(ConfigError, match="refused login") as caught:
        await rpc.execute_kw("res.partner", "search", [[]])
    assert caught.value.key == "plugins.odoo.password"
    assert len(stub.calls) == 1


async def test_access_denied_re_authenticates_once(stub: OdooStub, make_rpc: Any) -> None:
    rpc = await make_rpc()
    await rpc.execute_kw("res.partner", "search", [[]])
    stub.fail_next(Fault("error", "odoo.exceptions.AccessDenied", "Access Denied", service="object"))
    assert await rpc.execute_kw("res.partner", "search", [[]]) == []
    assert [c.method for c in stub.calls] == ["authenticate", "execute_kw", "execute_kw", "authenticate", "execute_kw"]


async def test_access_denied_twice_is_a_configuration_error(stub: OdooStub, make_rpc: Any) -> None:
    rpc = await make_rpc()
    stub.fail_next(*[Fault("error", "odoo.exceptions.AccessDenied", "Access Denied", service="object")] * 2)
    with pytest.raises(ConfigError, match="Access Denied"):
        await rpc.execute_kw("res.partner", "search", [[]])


@pytest.mark.parametrize(
    "name",
    [
        "odoo.exceptions.UserError",
        "odoo.exceptions.ValidationError",
        "odoo.exceptions.MissingError",
        "odoo.exceptions.AccessError",
    ],
)
async def test_business_errors_are_permanent_with_odoos_message(stub: OdooStub, make_rpc: Any, name: str) -> None:
    rpc = await make_rpc()
    stub.fail_next(Fault("error", name, "Record does not exist or has been deleted.", service="object"))
    with pytest.raises(PermanentError, match="Odoo refused sale.order.write: Record does not exist"):
        await rpc.execute_kw("sale.order", "write", [[1], {"note": "x"}])


@pytest.mark.parametrize(
    "fault",
    [
        Fault("error", "psycopg2.errors.SerializationFailure", "could not serialize access due to concurrent update"),
        Fault("error", "psycopg2.errors.LockNotAvailable", "could not obtain lock"),
        Fault("error", "psycopg2.errors.DeadlockDetected", "deadlock detected"),
        Fault("http", status=502),
        Fault("http", status=503),
        Fault("http", status=504),
        Fault("http", status=429),
        Fault("raw", body=b"<html>maintenance</html>"),
        Fault("raw", body=b'{"jsonrpc": "2.0", "id": 1, "error": "boom"}'),
        Fault("raw", body=b'["not", "an", "envelope"]'),
        Fault("raw", body=b'{"id": 1, "result": []}'),
    ],
    ids=lambda f: f.name or str(f.status if f.kind == "http" else f.body[:12]),
)
async def test_transient_failures_are_retryable(stub: OdooStub, make_rpc: Any, fault: Fault) -> None:
    rpc = await make_rpc()
    stub.fail_next(Fault(**{**fault.__dict__, "service": "object"}))
    with pytest.raises(ErpUnavailable):
        await rpc.execute_kw("product.product", "search_read", [[], ["name"]])


async def test_a_server_error_about_the_request_is_permanent(stub: OdooStub, make_rpc: Any) -> None:
    rpc = await make_rpc()
    stub.fail_next(Fault("error", "builtins.ValueError", "Invalid field 'x_nope' on model 'product.template'",
                         service="object"))
    with pytest.raises(PermanentError, match="Invalid field"):
        await rpc.execute_kw("product.template", "search_read", [[], ["x_nope"]])


async def test_a_slow_answer_times_out_as_unavailable(stub: OdooStub, make_rpc: Any) -> None:
    rpc = await make_rpc(timeout_seconds=0.05)
    await rpc.uid()
    stub.fail_next(Fault("delay", seconds=1.0, service="object"))
    with pytest.raises(ErpUnavailable, match="did not answer"):
        await rpc.execute_kw("product.product", "search", [[]])


async def test_a_refused_connection_is_unavailable() -> None:
    rpc = OdooRpc(OdooSettings(url="http://127.0.0.1:9", timeout_seconds=2))
    await rpc.start()
    try:
        with pytest.raises(ErpUnavailable, match="could not be reached"):
            await rpc.uid()
    finally:
        await rpc.close()


async def test_parallel_calls_are_capped(stub: OdooStub, make_rpc: Any) -> None:
    rpc = await make_rpc(max_parallel_calls=2)
    await rpc.uid()
    stub.delay = 0.02
    await asyncio.gather(*(rpc.execute_kw("product.product", "search", [[]]) for _ in range(8)))
    assert stub.max_in_flight == 2
    assert len(stub.executes("product.product", "search")) == 8
