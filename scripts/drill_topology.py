"""Production topology drill: 2 servers and 2 workers on PostgreSQL and Redis, under storefront load and cron.

The topology of :mod:`topology_support` with two ``erpcommerce serve`` and two ``erpcommerce worker``
processes, the product sync job scheduled every minute (``[jobs.sync-products-from-erp] schedule =
"* * * * *"``), the fake Odoo as the ERP (its order webhooks back to the first server). Shoppers
(a Python aiohttp client) list products, fill carts with Odoo products at the ERP's price and
complete about half of them, spreading their calls over both servers, until T minute ticks have
passed. Then the drill waits (bounded) for the runs to finish and asserts:

- each minute tick inside the window ran once: one ``job:sync-products-from-erp:<minute>`` run,
  ``done``, and one scheduled ``sync_run`` for it (no tick missing, none duplicated);
- each store order made exactly one ERP order (one ``sale.order`` by ``client_order_ref``, whose
  id is the order's ``metadata.external_id``).

Prints ONE JSON line of figures; exits 1 when an assertion fails.

    python scripts/drill_topology.py --short         # 2 ticks (CI, under 2.5 min)
    python scripts/drill_topology.py                 # 10 ticks (release)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from topology_checks import DrillDatabase, sale_orders_by_ref, verify_orders
from topology_support import (
    Storefront,
    TopologyOptions,
    log,
    storefront,
    topology,
)

TAG = "drill_topology"
JOB = "sync-products-from-erp"
SYNC_ORDER_TO_ERP = "sync-order-to-erp"
FINISHED = ("done", "failed", "reverted", "canceled")
# A tick counts when all workers were up this long before it (arq plans its next cron at start).
TICK_MARGIN = timedelta(seconds=1)
# The load goes on this long after the last tick, so its run overlaps storefront traffic.
AFTER_LAST_TICK = timedelta(seconds=3)
POLL_SECONDS = 0.5


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="the CI variant: 2 minute ticks")
    parser.add_argument("--ticks", type=int, help="minute ticks to span (default 10, short 2)")
    parser.add_argument("--shoppers", type=int, default=6, help="concurrent shoppers")
    parser.add_argument("--database-url", default=f"postgres://postgres@127.0.0.1:5432/drill_topology_{os.getpid()}",
                        help="a PostgreSQL database the drill creates and drops (must not exist)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--drain-timeout", type=float, default=180.0, help="seconds to wait for the runs to end")
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs (path on stderr)")
    args = parser.parse_args(argv)
    args.ticks = args.ticks or (2 if args.short else 10)
    return args


def _minute(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def expected_ticks(window_start: datetime, ticks: int) -> list[datetime]:
    """The ``ticks`` minute boundaries after ``window_start`` (plus the margin)."""
    first = (window_start + TICK_MARGIN).replace(second=0, microsecond=0) + timedelta(minutes=1)
    return [first + timedelta(minutes=number) for number in range(ticks)]


async def shop_until(shop: Storefront, deadline: float, shoppers: int) -> list[str]:
    """Shoppers browse, fill carts and complete about half of them until ``deadline``; the orders made."""
    orders: list[str] = []
    counter = iter(range(10**9))

    async def shopper(seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < deadline:
            number = next(counter)
            try:
                await shop.list_products(number)
                await shop.list_products(number + 1)
                cart_id = await shop.cart_with_item(number, f"topology-{number}@example.com")
                if rng.random() < 0.5:
                    orders.append(await shop.checkout(number, cart_id))
            except Exception as exc:  # counted by the storefront; the load goes on
                log(TAG, f"storefront error: {exc}")
                await asyncio.sleep(0.2)

    await asyncio.gather(*(shopper(seed) for seed in range(shoppers)))
    return orders


async def wait_drained(db: DrillDatabase, ticks: list[datetime], timeout: float) -> bool:
    """Until every order's export and every expected tick's run finished; False after ``timeout``."""
    deadline = time.monotonic() + timeout
    orders_waiting = (
        'SELECT count(*) AS n FROM "order" o LEFT JOIN workflow_run r ON r.id = $1 || o.id '
        "WHERE r.state IS NULL OR NOT (r.state = ANY($2::text[]))"
    )
    tick_ids = [f"job:{JOB}:{_minute(tick)}" for tick in ticks]
    ticks_waiting = "SELECT count(*) AS n FROM workflow_run WHERE id = ANY($1::text[]) AND state = ANY($2::text[])"
    syncs_running = "SELECT count(*) AS n FROM sync_run WHERE state = 'running'"
    while time.monotonic() < deadline:
        waiting = int((await db.fetch(orders_waiting, f"{SYNC_ORDER_TO_ERP}:", list(FINISHED)))[0]["n"])
        finished_ticks = int((await db.fetch(ticks_waiting, tick_ids, list(FINISHED)))[0]["n"])
        running = int((await db.fetch(syncs_running))[0]["n"])
        if not waiting and finished_ticks == len(tick_ids) and not running and not await db.undispatched_events():
            return True
        await asyncio.sleep(POLL_SECONDS)
    return False


async def tick_figures(db: DrillDatabase, ticks: list[datetime]) -> dict[str, Any]:
    """Per expected tick: its job run's state and the scheduled sync_runs started for it."""
    runs = {
        str(row["id"]): str(row["state"])
        for row in await db.fetch("SELECT id, state FROM workflow_run WHERE id LIKE $1", f"job:{JOB}:%")
    }
    syncs = await db.fetch("SELECT run_id, state, started_at FROM sync_run WHERE trigger = 'schedule'")
    per_tick: dict[str, dict[str, Any]] = {}
    for tick in ticks:
        minute = _minute(tick)
        for_tick = [row for row in syncs if str(row["run_id"]).endswith(f"schedule-{minute}")]
        started_in_minute = [row for row in syncs if _minute(row["started_at"]) == minute]
        per_tick[minute] = {
            "job_run": runs.get(f"job:{JOB}:{minute}"),
            "sync_runs": len(for_tick),
            "sync_states": sorted(str(row["state"]) for row in for_tick),
            "scheduled_syncs_started_that_minute": len(started_in_minute),
        }
    missing = [minute for minute, tick in per_tick.items() if tick["job_run"] != "done" or tick["sync_runs"] != 1]
    duplicated = [minute for minute, tick in per_tick.items() if tick["scheduled_syncs_started_that_minute"] > 1]
    expected = {f"job:{JOB}:{_minute(tick)}" for tick in ticks}
    return {
        "ticks_expected": len(ticks),
        "tick_job_runs_done": sum(1 for tick in per_tick.values() if tick["job_run"] == "done"),
        "ticks_missing_or_not_once": missing,
        "ticks_duplicated": duplicated,
        "tick_runs_outside_window": sorted(set(runs) - expected),
        "per_tick": per_tick,
    }


async def drill(args: argparse.Namespace) -> dict[str, Any]:
    options = TopologyOptions(
        tag=TAG, database_url=args.database_url, redis_url=args.redis_url, servers=2, workers=2,
        product_sync_schedule="* * * * *",
    )
    async with topology(options, keep_workdir=args.keep_logs) as top:
        window_start = datetime.now(UTC)
        ticks = expected_ticks(window_start, args.ticks)
        load_end = ticks[-1] + AFTER_LAST_TICK
        seconds = (load_end - datetime.now(UTC)).total_seconds()
        log(TAG, f"storefront load on both servers for {seconds:.0f} s, ticks {[_minute(t) for t in ticks]}")
        async with storefront(top, args.shoppers) as shop:
            started = time.monotonic()
            orders = await shop_until(shop, started + seconds, args.shoppers)
            load_s = time.monotonic() - started
            store = shop.figures(load_s)
        log(TAG, f"{len(orders)} orders during {load_s:.0f} s of load; waiting for the runs")
        drain_started = time.monotonic()
        async with DrillDatabase(args.database_url) as db:
            drained = await wait_drained(db, ticks, args.drain_timeout)
            drain_s = time.monotonic() - drain_started
            store_orders = await db.orders()
            tick_report = await tick_figures(db, ticks)
            exports = await db.run_states(SYNC_ORDER_TO_ERP)
            updates = await db.run_states("sync-order-from-erp")
            failed = await db.failed_runs()
        verdict = verify_orders(store_orders, await sale_orders_by_ref(top.odoo_url))
    unknown = sorted(set(orders) - set(store_orders))
    ok = (
        drained
        and bool(store_orders)
        and not unknown
        and all(verdict[key] == 0 for key in ("lost", "duplicates", "external_id_mismatches"))
        and not tick_report["ticks_missing_or_not_once"]
        and not tick_report["ticks_duplicated"]
    )
    return {
        "drill": "topology",
        "variant": "short" if args.short else "long",
        "database": "postgres",
        "servers": 2,
        "workers": 2,
        "seconds_of_load": round(load_s, 1),
        "store": store,
        "orders": len(store_orders),
        "lost": verdict["lost"],
        "duplicates": verdict["duplicates"],
        "external_id_mismatches": verdict["external_id_mismatches"],
        "sale_orders_without_store_order": verdict["sale_orders_without_store_order"],
        "drained": drained,
        "seconds_to_drain": round(drain_s, 1),
        "sync_order_to_erp_runs": dict(exports),
        "order_updates_from_erp": dict(updates),
        **tick_report,
        "failed_runs": failed,
        "examples": verdict["examples"] if not ok else {},
        "pass": ok,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = asyncio.run(drill(args))
    print(json.dumps(report), flush=True)
    return 0 if report["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
