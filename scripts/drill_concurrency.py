"""Concurrency drill: parallel adds to one cart stay consistent; parallel completions make one order.

Against a real ``erpcommerce serve`` (two of them on the same database in the long variant, so
requests also race across processes), each round:

1. 50 add-to-cart calls on one cart at once (two variants, quantities 1-3). Every answer is 200,
   or 409 ``conflict`` (the documented answer when another process changed the cart in between:
   README "Consistency"); nothing else. Afterwards each line's quantity is exactly the sum of the
   quantities of the adds that answered 200 (no lost update), and the cart's totals are the sum
   of unit price x quantity.
2. 20 completions of one checked-out cart at once: every answer is 200 with the same order, or
   409 (a concurrent completion holds the lease); the database holds exactly one order for the
   cart, and completing again answers that order.

    python scripts/drill_concurrency.py [--short] [--database-url postgres://...]

Prints one JSON line of figures; exits 1 when an assertion fails.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections import Counter
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any

from drill_support import (
    Client,
    Report,
    Store,
    common_arguments,
    free_port,
    open_database,
    prepare_store,
    progress,
    run_drill,
    run_server,
    scratch_database,
    write_config,
)

DRILL = "concurrency"
ADDS = 50
COMPLETIONS = 20
CENT = Decimal("0.01")


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


class Round:
    """What one round saw, added into the report's figures."""

    def __init__(self) -> None:
        self.statuses: Counter[str] = Counter()
        self.max_ms = 0.0

    def saw(self, kind: str, status: int, started: float) -> None:
        self.statuses[f"{kind}_{status}"] += 1
        self.max_ms = max(self.max_ms, (time.perf_counter() - started) * 1000)


async def parallel_adds(clients: list[Client], variants: list[str], report: Report, seen: Round) -> None:
    """50 adds at once to one cart, then the cart checked against the adds that succeeded."""
    shop = clients[0]
    region = await shop.region_id()
    cart_id = await shop.new_cart(region, "adds@example.com")
    plan = [(variants[n % len(variants)], random.randint(1, 3)) for n in range(ADDS)]
    expected: Counter[str] = Counter()

    async def add(number: int, variant: str, quantity: int) -> None:
        client = clients[number % len(clients)]
        started = time.perf_counter()
        status, body = await client.call(
            "POST", f"/store/carts/{cart_id}/line-items", {"variant_id": variant, "quantity": quantity}
        )
        seen.saw("add", status, started)
        if status == 200:
            expected[variant] += quantity
        else:
            report.check(status == 409 and body and body.get("type") == "conflict", f"add answered {status}: {body}")

    await asyncio.gather(*(add(n, variant, quantity) for n, (variant, quantity) in enumerate(plan)))
    cart = (await shop.ok("GET", f"/store/carts/{cart_id}"))["cart"]
    quantities: Counter[str] = Counter()
    for item in cart["items"]:
        quantities[item["variant_id"]] += item["quantity"]
    report.check(quantities == expected, f"cart {cart_id} holds {dict(quantities)}, the adds that succeeded {dict(expected)}")
    lines_total = sum((money(item["unit_price"]) * item["quantity"] for item in cart["items"]), Decimal(0))
    report.check(money(cart["item_subtotal"]) == lines_total, f"item_subtotal {cart['item_subtotal']} != {lines_total}")
    report.check(money(cart["total"]) == lines_total + money(cart["shipping_total"]) + money(cart["tax_total"]),
                 f"total {cart['total']} does not add up")


async def parallel_completions(clients: list[Client], variant: str, report: Report, seen: Round) -> None:
    """20 completions of one cart at once: one order, whoever answered."""
    from core.models import Order

    shop = clients[0]
    region = await shop.region_id()
    cart_id = await shop.new_cart(region, "complete@example.com")
    await shop.ok("POST", f"/store/carts/{cart_id}/line-items", {"variant_id": variant, "quantity": 1})
    await shop.add_payment_session(cart_id)
    order_ids: set[str] = set()

    async def complete(number: int) -> None:
        started = time.perf_counter()
        status, body = await clients[number % len(clients)].call("POST", f"/store/carts/{cart_id}/complete")
        seen.saw("complete", status, started)
        if status == 200 and body and body.get("type") == "order":
            order_ids.add(body["order"]["id"])
        else:
            report.check(status == 409 and body and body.get("type") == "conflict", f"complete answered {status}: {body}")

    await asyncio.gather(*(complete(n) for n in range(COMPLETIONS)))
    stored = await Order.filter(cart_id=cart_id).count()
    report.check(len(order_ids) <= 1 and stored == 1, f"cart {cart_id}: {stored} orders stored, {order_ids} answered")
    status, again = await shop.call("POST", f"/store/carts/{cart_id}/complete")
    report.check(status == 200 and again.get("type") == "order" and (not order_ids or again["order"]["id"] in order_ids),
                 f"completing again answered {status}: {again}")


async def drill(args: Any, workdir: Path, report: Report) -> None:
    servers = 1 if args.short else 2
    rounds = 2 if args.short else 20
    async with scratch_database(args.database_url, workdir, DRILL) as database_url:
        config = write_config(workdir / "config.toml", port=free_port(), database_url=database_url)
        store = await prepare_store(config, with_catalog=True)
        stores = [store] + [
            Store(**{**store.__dict__, "base_url": f"http://127.0.0.1:{free_port()}"}) for _ in range(servers - 1)
        ]
        with ExitStack() as stack:
            for number, each in enumerate(stores):
                port = each.base_url.rsplit(":", 1)[1]
                stack.enter_context(
                    run_server(each, workdir / f"server{number}.log", extra_env={"ERPCOMMERCE_SERVER__PORT": port})
                )
            progress(DRILL, f"{servers} server(s) up on {report.figures['database']}; {rounds} rounds")
            clients = [Client(each) for each in stores]
            try:
                async with open_database(store):
                    variants = (await clients[0].variant_ids(await clients[0].region_id()))[:2]
                    seen = Round()
                    for number in range(rounds):
                        await parallel_adds(clients, variants, report, seen)
                        await parallel_completions(clients, variants[0], report, seen)
                        progress(DRILL, f"round {number + 1}/{rounds}: {dict(seen.statuses)}")
            finally:
                for client in clients:
                    await client.session.close()
    report.figures.update(
        servers=servers,
        rounds=rounds,
        adds_per_round=ADDS,
        completions_per_round=COMPLETIONS,
        statuses=dict(sorted(seen.statuses.items())),
        server_errors=sum(n for key, n in seen.statuses.items() if key.rsplit("_", 1)[1].startswith("5")),
        max_latency_ms=round(seen.max_ms, 1),
    )


def main(argv: list[str] | None = None) -> int:
    args = common_arguments(__doc__.split("\n\n")[0]).parse_args(argv)
    random.seed(7)
    return run_drill(DRILL, args, drill)


if __name__ == "__main__":
    sys.exit(main())
