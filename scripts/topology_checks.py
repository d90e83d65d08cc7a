"""What the drills check after the load: the fake Odoo's ``sale.order`` records and the store's tables.

:func:`sale_orders_by_ref` reads the fake Odoo over JSON-RPC as an integrator would (``common.
authenticate`` then ``execute_kw`` ``search_read`` on ``sale.order``); :class:`DrillDatabase`
reads the drill's scratch PostgreSQL database with plain SQL (asyncpg, no ORM); and
:func:`verify_orders` says whether every store order made exactly one ``sale.order``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

import aiohttp
import asyncpg

__all__ = [
    "DrillDatabase",
    "sale_orders_by_ref",
    "verify_orders",
]


def _asyncpg_url(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


async def _jsonrpc(session: aiohttp.ClientSession, url: str, service: str, method: str, args: list[Any]) -> Any:
    body = {"jsonrpc": "2.0", "method": "call", "params": {"service": service, "method": method, "args": args}, "id": 1}
    async with session.post(f"{url}/jsonrpc", json=body) as response:
        payload = await response.json(content_type=None)
    if "error" in payload:
        raise SystemExit(f"Odoo {service}.{method}: {payload['error']}")
    return payload["result"]


async def sale_orders_by_ref(odoo_url: str, database: str = "demo", login: str = "admin",
                             password: str = "admin") -> dict[str, list[dict[str, Any]]]:
    """Every ``sale.order`` (cancelled ones too) by ``client_order_ref``, read as an integrator would."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        uid = await _jsonrpc(session, odoo_url, "common", "authenticate", [database, login, password, {}])
        rows = await _jsonrpc(
            session, odoo_url, "object", "execute_kw",
            [database, uid, password, "sale.order", "search_read", [[]],
             {"fields": ["id", "name", "state", "client_order_ref"], "context": {"active_test": False}}],
        )
    by_ref: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_ref.setdefault(str(row.get("client_order_ref") or ""), []).append(row)
    return by_ref


class DrillDatabase:
    """Read-only queries on the drill's scratch database (asyncpg, no ORM)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> DrillDatabase:
        self.conn = await asyncpg.connect(_asyncpg_url(self.url), timeout=10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.conn is not None:
            await self.conn.close()

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        assert self.conn is not None
        return list(await self.conn.fetch(query, *args))

    async def variant_ids(self, skus: Sequence[str]) -> list[str]:
        rows = await self.fetch(
            "SELECT id, sku FROM product_variant WHERE sku = ANY($1::text[]) AND external_id IS NOT NULL "
            "AND deleted_at IS NULL", list(skus)
        )
        if not rows:
            raise SystemExit(f"none of the Odoo variants {skus} was synced into the store")
        return [str(row["id"]) for row in sorted(rows, key=lambda row: skus.index(row["sku"]))]

    async def orders(self) -> dict[str, dict[str, Any]]:
        """Every store order's metadata by order id."""
        rows = await self.fetch('SELECT id, metadata FROM "order"')
        return {str(row["id"]): _json(row["metadata"]) or {} for row in rows}

    async def run_states(self, workflow: str) -> Counter[str]:
        rows = await self.fetch(
            "SELECT state, count(*) AS n FROM workflow_run WHERE workflow_name = $1 GROUP BY state", workflow
        )
        return Counter({str(row["state"]): int(row["n"]) for row in rows})

    async def unfinished_runs(self) -> int:
        query = "SELECT count(*) AS n FROM workflow_run WHERE state IN ('pending', 'invoking', 'compensating')"
        return int((await self.fetch(query))[0]["n"])

    async def undispatched_events(self) -> int:
        return int((await self.fetch("SELECT count(*) AS n FROM event WHERE dispatched_at IS NULL"))[0]["n"])

    async def reattempts(self, workflow: str) -> dict[str, int]:
        """Runs claimed more than once (resumed after a crash), steps attempted more than once."""
        runs = await self.fetch(
            "SELECT count(*) AS n FROM workflow_run WHERE workflow_name = $1 AND attempts > 1", workflow
        )
        steps = await self.fetch(
            "SELECT s.name, count(*) AS n FROM workflow_step s JOIN workflow_run r ON r.id = s.run_id "
            "WHERE r.workflow_name = $1 AND s.attempts > 1 GROUP BY s.name", workflow
        )
        reattempted = {f"step_{row['name']}_reattempted": int(row["n"]) for row in steps}
        return {"runs_resumed": int(runs[0]["n"]), **reattempted}

    async def failed_runs(self, limit: int = 5) -> list[dict[str, Any]]:
        rows = await self.fetch(
            "SELECT id, state, error FROM workflow_run WHERE state IN ('failed', 'reverted') "
            "ORDER BY created_at LIMIT $1",
            limit,
        )
        return [{"id": row["id"], "state": row["state"], "error": (row["error"] or "")[:300]} for row in rows]


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def verify_orders(
    store_orders: dict[str, dict[str, Any]], sale_orders: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    """Every store order has exactly one ``sale.order`` (by ``client_order_ref``) whose id is its ``external_id``."""
    lost = [order_id for order_id in store_orders if not sale_orders.get(order_id)]
    duplicates = [order_id for order_id in store_orders if len(sale_orders.get(order_id, [])) > 1]
    mismatched = [
        order_id
        for order_id, metadata in store_orders.items()
        if len(sale_orders.get(order_id, [])) == 1
        and str(metadata.get("external_id")) != str(sale_orders[order_id][0]["id"])
    ]
    strangers = [ref for ref in sale_orders if ref not in store_orders]
    return {
        "lost": len(lost),
        "duplicates": len(duplicates),
        "external_id_mismatches": len(mismatched),
        "sale_orders_without_store_order": sum(len(sale_orders[ref]) for ref in strangers),
        "examples": {"lost": lost[:5], "duplicates": duplicates[:5], "mismatched": mismatched[:5]},
    }
