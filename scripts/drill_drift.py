"""Drift drill: randomized changes in the fake Odoo, a delta sync, and ``erpcommerce reconcile`` finds 0 differences.

In one run:

1. the fake Odoo (``python -m erpcommerce_odoo.fake_odoo --seed N``) starts, its ``sale.order``
   webhooks pointed at the store; a store is migrated and seeded (a temp SQLite file, or a scratch
   PostgreSQL database created on ``--database-url`` and dropped after) and ``erpcommerce serve``
   runs on it (the in-process runner: order export and webhooks);
2. ``erpcommerce sync products`` (full, first), then a few guest orders through the Store API, each
   exported to the fake as one confirmed ``sale.order``; ``erpcommerce reconcile --json`` must find
   nothing (round 0);
3. K rounds, each: C random changes in the fake over JSON-RPC — rename templates, change list
   prices, add or change rules of the public pricelist, archive / unarchive templates and variants,
   change stock (inventory adjustments), add templates, add variants (a value added to an
   attribute line), cancel / re-confirm sale orders of store orders, place new store orders — then,
   once the store has applied the webhooks, ``erpcommerce sync products`` (a delta) and
   ``erpcommerce reconcile --json``, which must report 0 differences.

Prints ONE JSON line (rounds, changes applied by kind, differences per round, the first
differences found, seconds) and exits 1 on any difference (2 when a step of the drill failed).

    python scripts/drill_drift.py --short                    # CI: seed 300, 4 rounds (< 60 s)
    python scripts/drill_drift.py                            # release: seed 3000, 25 rounds
    python scripts/drill_drift.py --database-url postgres://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from bench_store import environment_without_overrides, erpcommerce_command
from drill_support import (
    Client,
    Report,
    Store,
    common_arguments,
    free_port,
    open_database,
    prepare_store,
    progress,
    run_fake_odoo,
    run_server,
    scratch_database,
    sync_products,
    write_config,
)

DRILL = "drift"
WEBHOOK_SECRET = "whsec-drift-drill-0123456789abcdef0123456789"
SETTLE_TIMEOUT_S = 60.0
CHANGES = ("rename", "list_price", "pricelist_rule", "archive_template", "unarchive_template", "archive_variant",
           "unarchive_variant", "stock", "add_template", "add_variant", "cancel_order", "reconfirm_order",
           "new_order")


def log(message: str) -> None:
    progress(DRILL, message)


# --------------------------------------------------------------------------- the fake Odoo over JSON-RPC


class Odoo:
    """A minimal JSON-RPC client of the fake Odoo, as the admin."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session, self.url, self.uid = session, url, 0

    async def _rpc(self, service: str, method: str, *args: Any) -> Any:
        body = {"jsonrpc": "2.0", "method": "call", "params": {"service": service, "method": method, "args": args},
                "id": 1}
        async with self.session.post(f"{self.url}/jsonrpc", json=body) as response:
            payload = await response.json()
        if "error" in payload:
            raise RuntimeError(f"odoo {method}{args[3:5] if len(args) > 4 else ''}: {payload['error']}")
        return payload.get("result")  # absent when the method returned None

    async def login(self) -> None:
        self.uid = int(await self._rpc("common", "authenticate", "demo", "admin", "admin", {}))

    async def call(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        return await self._rpc("object", "execute_kw", "demo", self.uid, "admin", model, method, list(args), kwargs)


ALL = {"context": {"active_test": False}}


class Mutator:
    """Random changes in the fake Odoo, counted by kind."""

    def __init__(self, odoo: Odoo, rng: random.Random, shop: Shop) -> None:
        self.odoo, self.rng, self.shop = odoo, rng, shop
        self.applied: Counter[str] = Counter()
        self.pricelist = 0
        self.location = 0
        self.number = 0

    async def prepare(self) -> None:
        self.pricelist = int((await self.odoo.call("product.pricelist", "search", [], limit=1))[0])
        self.location = int((await self.odoo.call("stock.location", "search", [("usage", "=", "internal")],
                                                  limit=1))[0])

    async def _templates(self, active: bool | None) -> list[int]:
        domain = [] if active is None else [("active", "=", active)]
        return [int(i) for i in await self.odoo.call("product.template", "search", domain, **ALL)]

    async def _variants(self, active: bool) -> list[int]:
        return [int(i) for i in await self.odoo.call("product.product", "search", [("active", "=", active)], **ALL)]

    async def round(self, count: int) -> Counter[str]:
        """``count`` random changes (a change that finds nothing to act on is replaced by another)."""
        done: Counter[str] = Counter()
        attempts = 0
        while sum(done.values()) < count and attempts < count * 5:
            attempts += 1
            kind = self.rng.choice(CHANGES)
            if await getattr(self, kind)():
                done[kind] += 1
        self.applied.update(done)
        return done

    # -- catalogue ---------------------------------------------------------------------------------

    async def rename(self) -> bool:
        template = self.rng.choice(await self._templates(None))
        await self.odoo.call("product.template", "write", [template], {"name": f"Renamed {template}-{self.number}"})
        self.number += 1
        return True

    async def list_price(self) -> bool:
        template = self.rng.choice(await self._templates(True))
        await self.odoo.call("product.template", "write", [template],
                             {"list_price": round(self.rng.uniform(1, 500), 2)})
        return True

    async def pricelist_rule(self) -> bool:
        items = await self.odoo.call("product.pricelist.item", "search", [("pricelist_id", "=", self.pricelist)])
        price = round(self.rng.uniform(1, 400), 2)
        if items and self.rng.random() < 0.5:
            await self.odoo.call("product.pricelist.item", "write", [self.rng.choice(items)],
                                 {"fixed_price": price, "compute_price": "fixed"})
            return True
        if self.rng.random() < 0.5:
            target = {"applied_on": "1_product", "product_tmpl_id": self.rng.choice(await self._templates(True))}
        else:
            target = {"applied_on": "0_product_variant", "product_id": self.rng.choice(await self._variants(True))}
        tier = {"min_quantity": float(self.rng.choice((0, 0, 5, 10)))}
        await self.odoo.call("product.pricelist.item", "create",
                             {"pricelist_id": self.pricelist, "compute_price": "fixed", "fixed_price": price,
                              **target, **tier})
        return True

    async def archive_template(self) -> bool:
        return await self._toggle("product.template", await self._templates(True), False)

    async def unarchive_template(self) -> bool:
        return await self._toggle("product.template", await self._templates(False), True)

    async def archive_variant(self) -> bool:
        return await self._toggle("product.product", await self._variants(True), False)

    async def unarchive_variant(self) -> bool:
        return await self._toggle("product.product", await self._variants(False), True)

    async def _toggle(self, model: str, ids: list[int], active: bool) -> bool:
        if not ids:
            return False
        await self.odoo.call(model, "write", [self.rng.choice(ids)], {"active": active})
        return True

    async def stock(self) -> bool:
        variant = self.rng.choice(await self._variants(True))
        quantity = float(self.rng.randint(0, 60))
        quants = await self.odoo.call("stock.quant", "search",
                                      [("product_id", "=", variant), ("location_id", "=", self.location)])
        if quants:
            await self.odoo.call("stock.quant", "write", quants[:1], {"inventory_quantity": quantity})
        else:
            quants = [await self.odoo.call("stock.quant", "create", {"product_id": variant, "location_id": self.location,
                                                                     "inventory_quantity": quantity})]
        await self.odoo.call("stock.quant", "action_apply_inventory", quants[:1])
        return True

    async def add_template(self) -> bool:
        self.number += 1
        await self.odoo.call("product.template", "create",
                             {"name": f"Drill product {self.number}", "list_price": round(self.rng.uniform(1, 300), 2),
                              "default_code": f"DRILL-{self.number}-{self.rng.randint(0, 10**6)}"})
        return True

    async def add_variant(self) -> bool:
        lines = await self.odoo.call("product.template.attribute.line", "search_read", [],
                                     ["attribute_id", "value_ids", "product_tmpl_id"])
        self.rng.shuffle(lines)
        for line in lines[:20]:
            values = await self.odoo.call("product.attribute.value", "search",
                                          [("attribute_id", "=", line["attribute_id"][0])])
            unused = [v for v in values if v not in line["value_ids"]]
            if unused:
                await self.odoo.call("product.template.attribute.line", "write", [line["id"]],
                                     {"value_ids": [(4, self.rng.choice(unused))]})
                return True
        return False

    # -- orders ------------------------------------------------------------------------------------

    async def _store_sale_orders(self, state: str) -> list[int]:
        return [int(i) for i in await self.odoo.call("sale.order", "search",
                                                     [("client_order_ref", "!=", False), ("state", "=", state)])]

    async def cancel_order(self) -> bool:
        orders = await self._store_sale_orders("sale")
        if not orders:
            return False
        await self.odoo.call("sale.order", "action_cancel", [self.rng.choice(orders)],
                             context={"disable_cancel_warning": True})
        return True

    async def reconfirm_order(self) -> bool:
        orders = await self._store_sale_orders("cancel")
        if not orders:
            return False
        chosen = self.rng.choice(orders)
        await self.odoo.call("sale.order", "action_draft", [chosen])
        await self.odoo.call("sale.order", "action_confirm", [chosen])
        return True

    async def new_order(self) -> bool:
        return await self.shop.place_order(self.rng)


# --------------------------------------------------------------------------- the store


class Shop:
    """Guest orders through the Store API."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.region = ""
        self.placed = 0

    async def candidates(self) -> list[str]:
        if not self.region:
            self.region = await self.client.region_id()
        return await self.client.variant_ids(self.region, priced_untracked=False, limit=50)

    async def place_order(self, rng: random.Random) -> bool:
        """One guest order of a variant the ERP lets a guest buy now; whether one was placed."""
        variants = await self.candidates()
        rng.shuffle(variants)
        for variant in variants[:10]:
            cart = await self.client.new_cart(self.region, f"drift-{self.placed}@example.com")
            status, _ = await self.client.call("POST", f"/store/carts/{cart}/line-items",
                                               {"variant_id": variant, "quantity": 1})
            if status != 200:
                continue
            await self.client.add_payment_session(cart)
            status, body = await self.client.call("POST", f"/store/carts/{cart}/complete")
            if status == 200 and body and body.get("type") == "order":
                self.placed += 1
                return True
        return False


async def settled(store: Store, session: aiohttp.ClientSession, odoo_url: str) -> list[str]:
    """Wait until the fake posted every webhook and the store finished every workflow run; the
    runs that did not succeed (``workflow id: error``)."""
    from core.models import WorkflowRunRecord

    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while time.monotonic() < deadline:
        async with session.get(f"{odoo_url}/fake/webhook") as response:
            deliveries = (await response.json())["deliveries"]
        if all(d["done"] for d in deliveries):
            async with open_database(store):
                busy = await WorkflowRunRecord.filter(finished_at=None).exclude(state="failed").count()
                failed = await WorkflowRunRecord.filter(state__in=("failed", "reverted")).values_list("id", "error")
            if busy == 0:
                return [f"{run_id}: {error}"[:300] for run_id, error in failed]
        await asyncio.sleep(0.2)
    raise SystemExit(f"the store did not settle within {SETTLE_TIMEOUT_S:.0f} s")


def cli(store: Store, *args: str) -> subprocess.CompletedProcess[str]:
    command = [*erpcommerce_command(store.config), *args]
    return subprocess.run(command, capture_output=True, text=True, env=environment_without_overrides(),
                          cwd=store.config.parent)


def delta_sync(store: Store, workdir: Path) -> None:
    done = sync_products(store, workdir / "sync.log")
    if done.returncode != 0:
        raise SystemExit(f"erpcommerce sync products failed ({done.returncode}):\n{done.stderr[-2000:]}")


def reconcile(store: Store) -> dict[str, Any]:
    done = cli(store, "reconcile", "--json", "--limit-report", "20")
    if done.returncode not in (0, 1):
        raise SystemExit(f"erpcommerce reconcile failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# --------------------------------------------------------------------------- the drill


async def drill(args: Any, report: Report, workdir: Path) -> None:
    rng = random.Random(args.random_seed)
    odoo_port, port = free_port(), free_port()
    async with scratch_database(args.database_url, workdir, DRILL) as database_url:
        sections = {
            "erp": {"webhook_secret": WEBHOOK_SECRET},
            "plugins.erp": {"order_sync_backoff_seconds": 0.2, "order_sync_max_backoff_seconds": 2.0},
            "plugins.odoo": {"url": f"http://127.0.0.1:{odoo_port}", "database": "demo", "login": "admin",
                             "password": "admin", "request_time_limit_seconds": 1.0},
        }
        config = write_config(workdir / "config.toml", port=port, database_url=database_url, sections=sections)
        store = await prepare_store(config, with_catalog=False)
        webhook = f"{store.base_url}/erp/order-updates?token={WEBHOOK_SECRET}"
        fake_args = ["--seed", str(args.seed)]
        with run_fake_odoo(odoo_port, workdir / "odoo.log", webhook_url=webhook, args=fake_args) as odoo_url:
            log(f"fake Odoo seed {args.seed} on {odoo_url}; first sync")
            delta_sync(store, workdir)
            with run_server(store, workdir / "server.log"):
                async with aiohttp.ClientSession() as session, Client(store) as client:
                    await rounds(args, report, store, session, client, odoo_url, rng, workdir)


async def rounds(args: Any, report: Report, store: Store, session: aiohttp.ClientSession, client: Client,
                 odoo_url: str, rng: random.Random, workdir: Path) -> None:
    odoo = Odoo(session, odoo_url)
    await odoo.login()
    shop = Shop(client)
    mutator = Mutator(odoo, rng, shop)
    await mutator.prepare()
    for _ in range(args.orders):
        await shop.place_order(rng)
    differences: list[int] = []
    found: list[dict[str, Any]] = []
    failed: list[str] = []
    for number in range(args.rounds + 1):
        if number:
            changes = await mutator.round(args.changes)
            log(f"round {number}: {dict(changes)}")
        failed = await settled(store, session, odoo_url)
        delta_sync(store, workdir)  # round 0: after the orders, which the store counted down itself
        result = reconcile(store)
        differences.append(int(result["differences"]))
        if result["differences"]:
            found.extend({"round": number, **item} for item in result["items"][:10])
        report.check(result["differences"] == 0,
                     f"round {number}: {result['differences']} difference(s) {result['by_kind']}")
        report.check(not result["unchecked"], f"round {number}: not checked: {result['unchecked']}")
        report.figures["checked"] = result["checked"]
    report.figures.update({
        "changes_applied": sum(mutator.applied.values()),
        "changes_by_kind": dict(sorted(mutator.applied.items())),
        "orders_placed": shop.placed,
        "differences_per_round": differences,
        "first_differences": found[:20],
        "runs_not_succeeded": failed[:20],
    })


def main(argv: list[str] | None = None) -> int:
    parser = common_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, help="fake Odoo variants (default 3000, short 300)")
    parser.add_argument("--rounds", type=int, help="rounds of changes (default 25, short 4)")
    parser.add_argument("--changes", type=int, help="changes per round (default 30, short 12)")
    parser.add_argument("--orders", type=int, help="store orders placed before round 1 (default 10, short 3)")
    parser.add_argument("--random-seed", type=int, default=None, help="seed of the random changes (default: random)")
    args = parser.parse_args(argv)
    args.seed = args.seed if args.seed is not None else (300 if args.short else 3000)
    args.rounds = args.rounds if args.rounds is not None else (4 if args.short else 25)
    args.changes = args.changes if args.changes is not None else (12 if args.short else 30)
    args.orders = args.orders if args.orders is not None else (3 if args.short else 10)
    if args.random_seed is None:
        args.random_seed = random.randrange(10**6)
    report = Report(DRILL, {"variant": "short" if args.short else "long", "seed": args.seed, "rounds": args.rounds,
                            "changes_per_round": args.changes, "random_seed": args.random_seed})
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="drill_drift_") as tmp:
        try:
            asyncio.run(drill(args, report, Path(tmp)))
        except (SystemExit, Exception) as exc:  # a step of the drill failed: still one JSON line
            report.check(False, f"the drill stopped: {exc!r}"[:2000])
            report.figures["seconds"] = round(time.monotonic() - started, 1)
            report.emit()
            return 2
    report.figures["seconds"] = round(time.monotonic() - started, 1)
    return report.emit()


if __name__ == "__main__":
    sys.exit(main())
