"""Sync cursors: a delta reads strictly after the last ``(write_date, id)`` read, even on a shared stamp."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from core.errors import InvalidData
from erpcommerce_odoo.client import OdooClient
from erpcommerce_odoo.cursors import Cursor, resume_domain, settled
from erpcommerce_odoo.settings import OdooSettings
from tests.plugins.odoo.odoo_catalog import load_catalog
from tests.plugins.odoo.odoo_stub import DATABASE, PASSWORD, OdooStub

SEED = "2024-01-01 00:00:00"  # a bulk import: every record carries one stamp
LATER = "2024-06-01 00:00:00"
MODELS = ("product.template", "product.product", "stock.quant", "product.pricelist.item")


@pytest.fixture
def stub() -> OdooStub:
    return OdooStub()


@pytest.fixture
def answered() -> dict[str, list[list[int]]]:
    """Per model, the ids each ``search_read`` answered (in call order)."""
    return {model: [] for model in MODELS}


@pytest.fixture
def tables(stub: OdooStub, answered: dict[str, list[list[int]]]) -> dict[str, list[dict[str, Any]]]:
    tables = load_catalog(stub)
    for model in MODELS:
        for row in tables[model]:
            row["write_date"] = SEED
        stub.on(model, "search_read", _recording(stub.handlers[(model, "search_read")], answered[model]))
    return tables


def _recording(handler: Any, into: list[list[int]]) -> Any:
    def answer(args: list[Any], kwargs: dict[str, Any]) -> Any:
        rows = handler(args, kwargs)
        into.append([row["id"] for row in rows])
        return rows
    return answer


@pytest.fixture
async def make_client(
    stub: OdooStub, tables: dict[str, Any], aiohttp_server: Callable[..., Awaitable[TestServer]]
) -> AsyncIterator[Callable[..., Awaitable[OdooClient]]]:
    opened: list[OdooClient] = []

    async def make(**overrides: Any) -> OdooClient:
        server = await aiohttp_server(stub.app())
        client = OdooClient(OdooSettings(url=str(server.make_url("")), database=DATABASE, password=PASSWORD,
                                         **overrides))
        await client.start()
        opened.append(client)
        return client

    yield make
    for client in opened:
        await client.close()


async def full_products(client: OdooClient) -> str:
    page = await client.list_products(None, None, 2)
    while page.next_page is not None:
        page = await client.list_products(None, page.next_page, 2)
    assert page.cursor is not None
    return page.cursor


async def delta_products(client: OdooClient, cursor: str) -> list[str]:
    page = await client.list_products(cursor, None, 100)
    ids = [p.external_id for p in page.items]
    while page.next_page is not None:
        page = await client.list_products(cursor, page.next_page, 100)
        ids += [p.external_id for p in page.items]
    return ids


def ids_read(answered: dict[str, list[list[int]]], model: str, since: int) -> list[int]:
    """The ids ``model``'s ``search_read`` calls answered from call ``since`` on."""
    return [i for ids in answered[model][since:] for i in ids]


# -- product stream ---------------------------------------------------------------------------------


async def test_a_delta_after_a_full_sync_on_a_shared_stamp_reads_nothing(stub: OdooStub, make_client: Any) -> None:
    client = await make_client()
    cursor = await full_products(client)
    assert Cursor.decode(cursor).keys == {"templates": (SEED, 30), "variants": (SEED, 31)}
    assert await delta_products(client, cursor) == []
    assert await client.count_products(cursor) == 0


async def test_one_changed_template_is_all_a_delta_reads(
    stub: OdooStub, answered: dict[str, Any], tables: dict[str, Any], make_client: Any
) -> None:
    client = await make_client()
    cursor = await full_products(client)
    next(t for t in tables["product.template"] if t["id"] == 20)["write_date"] = LATER
    before = len(stub.executes("product.template", "search_read"))
    reads = len(answered["product.template"])
    assert await delta_products(client, cursor) == ["20"]
    assert ids_read(answered, "product.template", reads) == [20]  # the keyset read; no template for variants
    keyset = [c for c in stub.executes("product.template", "search_read")[before:]
              if c.kwargs.get("order") == "write_date asc, id asc"]
    assert keyset[0].positional[0] == ["|", ["write_date", ">", SEED], "&", ["write_date", "=", SEED], ["id", ">", 30]]


async def test_one_changed_variant_brings_only_its_template(tables: dict[str, Any], make_client: Any) -> None:
    client = await make_client()
    cursor = await full_products(client)
    next(v for v in tables["product.product"] if v["id"] == 21)["write_date"] = LATER
    page = await client.list_products(cursor, None, 100)
    assert page.items == [] and page.next_page is not None
    variants = await client.list_products(cursor, page.next_page, 100)
    assert [p.external_id for p in variants.items] == ["20"]
    assert variants.cursor is not None and await delta_products(client, variants.cursor) == []


async def test_a_variant_written_during_a_full_sync_is_read_by_the_next_delta(
    tables: dict[str, Any], make_client: Any
) -> None:
    client = await make_client()
    first = await client.list_products(None, None, 1)  # the variants' key is taken here
    next(v for v in tables["product.product"] if v["id"] == 11)["write_date"] = LATER
    page = first
    while page.next_page is not None:
        page = await client.list_products(None, page.next_page, 1)
    assert page.cursor is not None
    assert await delta_products(client, page.cursor) == ["10"]


async def test_an_overlap_rereads_from_the_stamp_less_the_overlap(stub: OdooStub, make_client: Any) -> None:
    client = await make_client(cursor_overlap_seconds=60)
    cursor = await full_products(client)
    before = len(stub.executes("product.template", "search_read"))
    assert sorted(await delta_products(client, cursor)) == ["10", "10", "20", "20", "30", "30"]  # all, twice
    call = stub.executes("product.template", "search_read")[before]
    assert call.positional[0] == [["write_date", ">=", "2023-12-31 23:59:00"]]


# -- stock and price streams ------------------------------------------------------------------------


async def test_stock_reads_only_the_quant_that_changed(
    answered: dict[str, Any], tables: dict[str, Any], make_client: Any
) -> None:
    client = await make_client()
    full = await client.list_stock_changes(None, None, 100)
    newest = {"quants": (SEED, 3), "products": (SEED, 31)}  # and the newest variant (no sale.order here)
    assert full.cursor is not None and Cursor.decode(full.cursor).keys == newest
    before = len(answered["stock.quant"])
    nothing = await client.list_stock_changes(full.cursor, None, 100)
    assert nothing.items == [] and ids_read(answered, "stock.quant", before) == []
    assert nothing.cursor is not None and Cursor.decode(nothing.cursor).keys == newest

    next(q for q in tables["stock.quant"] if q["id"] == 1)["write_date"] = LATER
    before = len(answered["stock.quant"])
    one = await client.list_stock_changes(nothing.cursor, None, 100)
    assert ids_read(answered, "stock.quant", before) == [1]
    assert [s.variant_external_id for s in one.items] == ["11"]
    assert one.cursor is not None and (await client.list_stock_changes(one.cursor, None, 100)).items == []


async def test_prices_read_only_the_rule_that_changed(
    stub: OdooStub, answered: dict[str, Any], tables: dict[str, Any], make_client: Any
) -> None:
    client = await make_client()
    full = await client.list_price_changes(None, None, 100)
    assert full.cursor is not None
    assert (await client.list_price_changes(full.cursor, None, 100)).items == []

    tables["product.pricelist.item"][0]["write_date"] = LATER
    before = len(answered["product.pricelist.item"])
    delta = await client.list_price_changes(full.cursor, None, 100)
    calls = stub.executes("product.pricelist.item", "search_read")[before:]
    changed = [ids for c, ids in zip(calls, answered["product.pricelist.item"][before:], strict=True)
               if "write_date" in str(c.positional[0])]  # not the fresh read of the public pricelist
    assert changed == [[tables["product.pricelist.item"][0]["id"]]]
    assert {p.variant_external_id for p in delta.items} == {"11", "12"}
    assert delta.cursor is not None and (await client.list_price_changes(delta.cursor, None, 100)).items == []


# -- the cursor itself ------------------------------------------------------------------------------


def test_an_old_cursor_reads_inclusively_from_its_stamp() -> None:
    old = Cursor.decode(SEED)
    assert old.mark("templates") == SEED
    assert resume_domain(old.mark("templates"), 0) == [("write_date", ">=", SEED)]
    assert Cursor.decode(old.advanced({"quants": (LATER, 4)}, LATER).encode()).mark("templates") == SEED


def test_a_recent_key_is_read_again_from_its_stamp() -> None:
    # write_date has second precision: a row written again in the same second keeps its key.
    assert settled((LATER, 7), "2024-06-01 00:00:01") == (LATER, 0)
    assert settled((LATER, 7), "2024-06-01 00:01:00") == (LATER, 7)
    assert resume_domain((LATER, 0), 0) == ["|", ("write_date", ">", LATER), "&", ("write_date", "=", LATER),
                                            ("id", ">", 0)]


@pytest.mark.parametrize("cursor", ["yesterday", '{"keys": {"templates": "x"}}', '{"nope": 1}'])
def test_a_cursor_not_made_here_is_invalid(cursor: str) -> None:
    with pytest.raises(InvalidData):
        Cursor.decode(cursor)
