"""Crash drill: orders keep reaching the ERP exactly once while workers are killed with SIGKILL.

The production topology (see :mod:`topology_support`): a scratch PostgreSQL database, Redis, the
fake Odoo (its order webhooks back to the server), one ``erpcommerce serve`` and W ``erpcommerce
worker`` processes with the odoo and erp plugins. A storefront places N orders through the Store
API (a cart, an Odoo product at the ERP's price, payment, completion) while a killer SIGKILLs a
random worker K times, at random points of the placement, and restarts it. Then the drill waits
(bounded) until every order's ``sync-order-to-erp`` run has finished and reads the fake Odoo over
JSON-RPC: every store order must have exactly one ``sale.order`` (by ``client_order_ref``), whose
id is the order's ``metadata.external_id``.

Prints ONE JSON line (orders, kills, lost, duplicates, seconds to drain, runs resumed and steps
re-attempted); exits 1 on any loss, duplicate, mismatch or a drain that did not end in time.

    python scripts/drill_crash.py                    # 1,000 orders, 20 kills (release)
    python scripts/drill_crash.py --short            # 100 orders, 5 kills (CI)
    python scripts/drill_crash.py --database-url postgres://postgres@127.0.0.1:5432/drill_crash_1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from typing import Any

from topology_checks import DrillDatabase, sale_orders_by_ref, verify_orders
from topology_support import (
    Storefront,
    Topology,
    TopologyOptions,
    log,
    storefront,
    topology,
)

TAG = "drill_crash"
SYNC_ORDER_TO_ERP = "sync-order-to-erp"
FINISHED = ("done", "failed", "reverted", "canceled")
POLL_SECONDS = 0.5


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="the CI variant: 100 orders, 5 kills")
    parser.add_argument("--orders", type=int, help="orders to place (default 1000, short 100)")
    parser.add_argument("--kills", type=int, help="workers SIGKILLed (default 20, short 5)")
    parser.add_argument("--workers", type=int, default=2, help="erpcommerce worker processes (default 2)")
    parser.add_argument("--concurrency", type=int, default=8, help="shoppers placing orders at once")
    parser.add_argument("--database-url", default=f"postgres://postgres@127.0.0.1:5432/drill_crash_{os.getpid()}",
                        help="a PostgreSQL database the drill creates and drops (must not exist)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--odoo-latency", type=float, default=0.02,
                        help="seconds the fake Odoo adds to each call, so kills land inside ERP calls")
    parser.add_argument("--drain-timeout", type=float, default=300.0, help="seconds to wait for the runs to end")
    parser.add_argument("--seed", type=int, default=None, help="random seed of the killer")
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs (path on stderr)")
    args = parser.parse_args(argv)
    args.orders = args.orders or (100 if args.short else 1000)
    args.kills = args.kills if args.kills is not None else (5 if args.short else 20)
    return args


class Killer:
    """SIGKILLs a random worker each time the placed orders pass one of ``kills`` random thresholds.

    Placement may run only ``slack`` orders past the next threshold before that kill happened, so
    every kill lands while orders are still being placed and exported, however fast the storefront
    is compared to a worker's restart. A killed worker is restarted before the next kill.
    """

    def __init__(self, top: Topology, orders: int, kills: int, slack: int, rng: random.Random) -> None:
        self.top = top
        self.rng = rng
        self.slack = slack
        low, high = max(1, orders // 20), max(2, orders * 19 // 20)
        self.thresholds = sorted(rng.choices(range(low, high), k=kills))
        self.placed = 0
        self.kills = 0
        self._changed = asyncio.Event()

    def _limit(self) -> float:
        return self.thresholds[self.kills] + self.slack if self.kills < len(self.thresholds) else float("inf")

    async def may_place(self, number: int) -> None:
        """Wait until order ``number`` may be placed (see the class doc)."""
        while number >= self._limit():
            self._changed.clear()
            await self._changed.wait()

    def order_placed(self) -> None:
        self.placed += 1
        self._changed.set()

    async def run(self) -> None:
        for threshold in self.thresholds:
            while self.placed < threshold:
                self._changed.clear()
                await self._changed.wait()
            await asyncio.sleep(self.rng.uniform(0.0, 0.5))  # a random moment, not the order's own
            worker = self.rng.choice(self.top.workers)
            worker.kill()
            self.kills += 1
            self._changed.set()
            log(TAG, f"kill {self.kills}/{len(self.thresholds)}: SIGKILL {worker.name} after {self.placed} orders")
            await asyncio.sleep(self.rng.uniform(0.0, 1.0))
            await self.top.restart_worker(worker)  # the next kill waits for it: always one worker alive


async def place_orders(shop: Storefront, orders: int, concurrency: int, killer: Killer) -> list[str]:
    """``orders`` purchases, ``concurrency`` at a time; the ids of the orders made."""
    numbers = iter(range(orders))
    placed: list[str] = []

    async def shopper() -> None:
        for number in numbers:
            await killer.may_place(number)
            placed.append(await shop.place_order(number, f"crash-{number}@example.com"))
            killer.order_placed()
            if len(placed) % max(1, orders // 10) == 0:
                log(TAG, f"{len(placed)}/{orders} orders placed")

    await asyncio.gather(*(shopper() for _ in range(concurrency)))
    return placed


async def wait_drained(db: DrillDatabase, timeout: float) -> bool:
    """Until every order's run has finished and no event waits; False when ``timeout`` passed first."""
    deadline = time.monotonic() + timeout
    query = (
        'SELECT count(*) AS n FROM "order" o LEFT JOIN workflow_run r ON r.id = $1 || o.id '
        "WHERE r.state IS NULL OR NOT (r.state = ANY($2::text[]))"
    )
    while time.monotonic() < deadline:
        waiting = int((await db.fetch(query, f"{SYNC_ORDER_TO_ERP}:", list(FINISHED)))[0]["n"])
        if waiting == 0 and await db.undispatched_events() == 0:
            return True
        await asyncio.sleep(POLL_SECONDS)
    return False


async def drill(args: argparse.Namespace) -> dict[str, Any]:
    options = TopologyOptions(
        tag=TAG, database_url=args.database_url, redis_url=args.redis_url, servers=1, workers=args.workers,
        odoo_latency=args.odoo_latency,
    )
    rng = random.Random(args.seed)
    async with topology(options, keep_workdir=args.keep_logs) as top:
        killer = Killer(top, args.orders, args.kills, 2 * args.concurrency, rng)
        started = time.monotonic()
        async with storefront(top, args.concurrency) as shop:
            killing = asyncio.create_task(killer.run())
            placed = await place_orders(shop, args.orders, args.concurrency, killer)
            placed_s = time.monotonic() - started
            await killing
            store_figures = shop.figures(placed_s)
        log(TAG, f"{len(placed)} orders placed in {placed_s:.1f} s, {killer.kills} kills; waiting for the runs")
        kills_done = time.monotonic()
        async with DrillDatabase(args.database_url) as db:
            drained = await wait_drained(db, args.drain_timeout)
            drain_s = time.monotonic() - kills_done
            store_orders = await db.orders()
            runs = await db.run_states(SYNC_ORDER_TO_ERP)
            resumed = await db.reattempts(SYNC_ORDER_TO_ERP)
            event_resumed = await db.reattempts("deliver-event")
            updates = await db.run_states("sync-order-from-erp")
            failed = await db.failed_runs()
        verdict = verify_orders(store_orders, await sale_orders_by_ref(top.odoo_url))
    unknown = sorted(set(placed) - set(store_orders))
    ok = drained and not unknown and all(verdict[key] == 0 for key in ("lost", "duplicates", "external_id_mismatches"))
    return {
        "drill": "crash",
        "variant": "short" if args.short else "long",
        "database": "postgres",
        "orders": len(store_orders),
        "orders_placed_by_client": len(placed),
        "workers": args.workers,
        "kills": killer.kills,
        "lost": verdict["lost"],
        "duplicates": verdict["duplicates"],
        "external_id_mismatches": verdict["external_id_mismatches"],
        "sale_orders_without_store_order": verdict["sale_orders_without_store_order"],
        "drained": drained,
        "seconds_to_place": round(placed_s, 1),
        "seconds_to_drain": round(drain_s, 1),
        "orders_per_s": round(len(placed) / placed_s, 1) if placed_s else None,
        "sync_order_to_erp_runs": dict(runs),
        "runs_retried_resumed": {**resumed, "deliver_event_runs_resumed": event_resumed["runs_resumed"]},
        "order_updates_from_erp": dict(updates),
        "failed_runs": failed,
        "store": store_figures,
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
