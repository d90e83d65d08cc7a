"""ERP faults drill: the fake Odoo misbehaves; nothing is lost, carts fail closed, syncs resume.

A real ``erpcommerce serve`` (embedded runner) on a store synced from the fake Odoo, which is
switched between faults at run time (``POST /fake/faults``) and counts the calls that reach its
models (``GET /fake/calls``). Three phases:

1. **sync resumes from its cursor** — ``erpcommerce sync products`` with small pages and 0.3 s of
   added latency; after two product pages the fake answers every call 502 until the run fails;
   healed, ``erpcommerce retry RUN_ID`` finishes it. No page read before the failure (except the
   one in flight) is read again, and the store holds the whole catalogue;
2. **cart calls fail closed** — with every ERP call slower than ``[plugins.erp] timeout_seconds``,
   then answered 502, then 429, parallel add-to-cart calls (each on its own cart: calls on one
   cart queue behind its lock) all answer 503 ``unexpected_state`` within the timeout (plus a
   margin), and the carts stay empty;
3. **nothing lost** — orders placed while 30% of calls fail (502, then 429), while
   ``sale.order.create`` is slower than the client's timeout (the order is made anyway: the
   answer is lost), on serialization failures and on an expired login (``access_denied`` once:
   the cached uid is refused and the client logs in again). The shopper retries what answered
   503. Once the fake is healed, every order reaches it exactly once (one ``sale.order`` per
   ``client_order_ref``) through the durable runs and their retries, and no run failed.

    python scripts/drill_erp_faults.py [--short] [--database-url postgres://...]

Prints one JSON line of figures; exits 1 when an assertion fails.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
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
    run_drill,
    run_fake_odoo,
    run_server,
    scratch_database,
    write_config,
)

DRILL = "erp_faults"
TIMEOUT_S = 1.0  # [plugins.erp] timeout_seconds, and the Odoo client's per-call timeout
LATENCY_MARGIN_S = 1.0
SLOW_S = 2.5
SETTLE_S = 3.0  # [plugins.odoo] request_time_limit_seconds
WAIT_S = 180.0


class Fake:
    """The fake Odoo's admin endpoints and its JSON-RPC, as the drill uses them."""

    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url, self.session = url, session

    async def faults(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        method = "POST" if payload is not None else "GET"
        async with self.session.request(method, f"{self.url}/fake/faults", json=payload) as response:
            return dict(await response.json())

    async def heal(self) -> dict[str, Any]:
        async with self.session.delete(f"{self.url}/fake/faults") as response:
            return dict(await response.json())

    async def calls(self, model: str, method: str) -> list[dict[str, Any]]:
        async with self.session.get(f"{self.url}/fake/calls", params={"model": model, "method": method}) as response:
            return list((await response.json())["log"])

    async def sale_order_refs(self) -> list[str]:
        body = {"jsonrpc": "2.0", "method": "call", "id": 1, "params": {
            "service": "object", "method": "execute_kw",
            "args": ["demo", 2, "admin", "sale.order", "search_read", [[]], {"fields": ["client_order_ref"]}]}}
        async with self.session.post(f"{self.url}/jsonrpc", json=body) as response:
            rows = (await response.json())["result"]
        return [row["client_order_ref"] for row in rows if row["client_order_ref"]]


def domain_of(call: dict[str, Any]) -> str:
    return json.dumps([call["args"], call["kwargs"]], sort_keys=True, default=str)


# --------------------------------------------------------------------------- 1. sync resumes


async def sync_resumes(store: Store, fake: Fake, workdir: Path, report: Report) -> dict[str, Any]:
    from core.models import ProductVariant, SyncRun, WorkflowRunRecord

    await fake.faults({"latency": 0.3})
    with (workdir / "sync.log").open("wb") as log:
        sync = subprocess.Popen([*erpcommerce_command(store.config), "sync", "products"], stdout=log,
                                stderr=subprocess.STDOUT, env=environment_without_overrides(), cwd=workdir)
    deadline = time.monotonic() + WAIT_S
    while len(await fake.calls("product.template", "search_read")) < 2 and sync.poll() is None:
        report.check(time.monotonic() < deadline, "the sync never read two pages") or sys.exit(report.emit())
        await asyncio.sleep(0.02)
    await fake.faults({"faults": {"http_502": {}}})
    before = [domain_of(call) for call in await fake.calls("product.template", "search_read")]
    first_exit = await asyncio.to_thread(sync.wait, WAIT_S)
    report.check(first_exit != 0, "the sync succeeded although the ERP answered 502 to everything")
    await fake.heal()
    row = await SyncRun.all().order_by("-started_at").first()
    assert row is not None
    retried = subprocess.run([*erpcommerce_command(store.config), "retry", row.run_id], capture_output=True,
                             text=True, env=environment_without_overrides(), cwd=workdir)
    report.check(retried.returncode == 0, f"erpcommerce retry failed: {retried.stdout}{retried.stderr}")
    # the retry made the run pending again (the sync_run row still says failed until it runs)
    while (await WorkflowRunRecord.get(id=row.run_id)).state in ("pending", "invoking") and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    row = await SyncRun.get(id=row.id)
    after = [domain_of(call) for call in await fake.calls("product.template", "search_read")][len(before):]
    read_again = sorted(set(before[:-1]) & set(after))
    report.check(row.state == "succeeded", f"the retried sync ended {row.state}: {row.error}")
    report.check(not read_again, f"{len(read_again)} product pages read before the failure were read again")
    variants = await ProductVariant.filter(deleted_at=None).count()
    report.check(variants > 0 and row.failed == 0, f"{variants} variants stored, {row.failed} failed")
    return {"pages_before_failure": len(before), "page_reads_after_retry": len(after),
            "pages_read_again": len(read_again), "sync_state": row.state, "sync_pages": row.pages,
            "variants_stored": variants}


# --------------------------------------------------------------------------- 2. fail closed


async def fail_closed(client: Client, fake: Fake, calls: int, report: Report) -> dict[str, Any]:
    region = await client.region_id()
    variant = (await client.variant_ids(region, priced_untracked=False))[0]
    # one cart per call: calls on one cart queue behind its lock, each then waiting its own timeout
    carts = [await client.new_cart(region, f"closed{n}@example.com") for n in range(calls)]
    latencies: list[float] = []
    worst_by_fault: dict[str, float] = {}
    statuses: Counter[str] = Counter()
    for fault in ({"slow": {"seconds": SLOW_S}}, {"http_502": {}}, {"http_429": {}}):
        await fake.heal()
        await fake.faults({"faults": fault})
        name = next(iter(fault))

        async def add(cart: str) -> None:
            started = time.perf_counter()
            status, body = await client.call("POST", f"/store/carts/{cart}/custom-line-items",
                                             {"variant_id": variant, "quantity": 1})
            latencies.append(time.perf_counter() - started)
            worst_by_fault[name] = round(max(worst_by_fault.get(name, 0.0), latencies[-1]), 3)
            statuses[str(status)] += 1
            report.check(status == 503 and body.get("type") == "unexpected_state", f"{fault}: add answered {status} {body}")

        await asyncio.gather(*(add(cart) for cart in carts))
    await fake.heal()
    for cart in carts:
        items = (await client.ok("GET", f"/store/carts/{cart}"))["cart"]["items"]
        report.check(items == [], f"a failed add left items: {items}")
    worst = max(latencies)
    report.check(worst <= TIMEOUT_S + LATENCY_MARGIN_S, f"a 503 took {worst:.2f} s, timeout_seconds is {TIMEOUT_S}")
    await asyncio.sleep(SLOW_S)  # the slow calls still held by the fake finish
    status, _ = await client.call("POST", f"/store/carts/{carts[0]}/custom-line-items", {"variant_id": variant, "quantity": 1})
    report.check(status == 200, f"healed, an add answered {status}")
    return {"calls": len(latencies), "statuses": dict(statuses), "max_503_latency_s": round(worst, 3),
            "max_503_latency_s_by_fault": worst_by_fault,
            "timeout_seconds": TIMEOUT_S}


# --------------------------------------------------------------------------- 3. nothing lost


async def checkout(client: Client, region: str, variant: str, number: int, seen: Counter[str]) -> str:
    """One order, the shopper retrying every call that answered 503 (nothing was written)."""
    async def attempt(method: str, path: str, body: Any = None) -> Any:
        for _ in range(400):
            status, answer = await client.call(method, path, body)
            seen[str(status)] += 1
            if status != 503:
                if not 200 <= status < 300:
                    raise SystemExit(f"{method} {path} -> {status}: {answer}")
                return answer
            await asyncio.sleep(0.05)
        raise SystemExit(f"{method} {path}: 503 for 400 attempts")

    cart = (await attempt("POST", "/store/carts", {"region_id": region, "email": f"faulty{number}@example.com"}))["cart"]["id"]
    await attempt("POST", f"/store/carts/{cart}/custom-line-items", {"variant_id": variant, "quantity": 1})
    collection = (await attempt("POST", "/store/payment-collections", {"cart_id": cart}))["payment_collection"]["id"]
    await attempt("POST", f"/store/payment-collections/{collection}/payment-sessions", {"provider_id": "pp_system_default"})
    return str((await attempt("POST", f"/store/carts/{cart}/complete"))["order"]["id"])


async def nothing_lost(client: Client, fake: Fake, orders: int, report: Report) -> dict[str, Any]:
    from core.models import WorkflowRunRecord

    region = await client.region_id()
    variants = (await client.variant_ids(region, priced_untracked=False))[:3]
    await fake.heal()
    fired_before = Counter((await fake.faults())["fired"])
    await fake.faults({"error_rate": 0.3, "error_fault": "http_502", "faults": {
        "slow": {"seconds": SLOW_S, "times": 3, "model": "sale.order", "method": "create"},
        "serialization_failure": {"times": 2, "model": "sale.order"},
        "access_denied": {"times": 1}, "session_expired": {},
    }})
    seen: Counter[str] = Counter()
    placed = []
    for number in range(orders):
        if number == orders // 2:
            await fake.faults({"error_fault": "http_429", "faults": {"access_denied": {"times": 1}}})
        placed.append(await checkout(client, region, variants[number % len(variants)], number, seen))
    deadline = time.monotonic() + WAIT_S / 6
    while time.monotonic() < deadline:  # keep failing until the lost answers of slow creates happened
        fired = Counter((await fake.faults())["fired"]) - fired_before
        if fired["slow"] >= 3:
            break
        await asyncio.sleep(0.2)
    fired = Counter((await fake.faults())["fired"]) - fired_before
    report.check(fired["slow"] >= 1, "no sale.order create was slow: the lost-answer case was not exercised")
    await fake.heal()
    progress(DRILL, f"{orders} orders placed under faults ({dict(seen)}), fired {fired}; healed")
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        refs = Counter(await fake.sale_order_refs())
        busy = await WorkflowRunRecord.filter(workflow_name="sync-order-to-erp", state__in=("pending", "invoking")).count()
        if all(refs[order] >= 1 for order in placed) and busy == 0:
            break
        await asyncio.sleep(0.5)
    refs = Counter(await fake.sale_order_refs())
    lost = [order for order in placed if refs[order] == 0]
    duplicated = {order: n for order, n in refs.items() if n > 1}
    states = Counter(await WorkflowRunRecord.filter(workflow_name="sync-order-to-erp").values_list("state", flat=True))
    report.check(not lost, f"{len(lost)} orders never reached the fake Odoo: {lost[:5]}")
    report.check(not duplicated, f"orders made twice in the fake Odoo: {duplicated}")
    report.check(states == Counter({"done": orders}), f"order runs: {dict(states)}")
    return {"orders": orders, "reached_once": sum(1 for order in placed if refs[order] == 1), "lost": len(lost),
            "duplicated": len(duplicated), "storefront_statuses": dict(seen), "faults_fired": dict(fired),
            "order_runs": dict(states)}


# --------------------------------------------------------------------------- the drill


async def drill(args: Any, workdir: Path, report: Report) -> None:
    orders, parallel = (6, 4) if args.short else (60, 12)
    async with scratch_database(args.database_url, workdir, DRILL) as database_url:
        odoo_port = free_port()
        with run_fake_odoo(odoo_port, workdir / "odoo.log") as odoo_url:
            config = write_config(workdir / "config.toml", port=free_port(), database_url=database_url, sections={
                "erp": {"price_cache_seconds": 0},
                "workflows": {"recovery_interval_seconds": 0.5},
                "plugins.erp": {
                    "timeout_seconds": TIMEOUT_S, "sync_page_size": 2, "sync_max_retries": 1,
                    "sync_backoff_seconds": 0.1, "order_sync_max_retries": 60, "order_sync_backoff_seconds": 0.2,
                    "order_sync_max_backoff_seconds": 1.0,
                },
                "plugins.odoo": {"url": odoo_url, "timeout_seconds": TIMEOUT_S, "page_size": 2,
                                 "request_time_limit_seconds": SETTLE_S, "cache_seconds": 0},
            })
            store = await prepare_store(config, with_catalog=False)
            with run_server(store, workdir / "server.log"):
                async with aiohttp.ClientSession() as session, Client(store) as client, open_database(store):
                    fake = Fake(odoo_url, session)
                    report.figures["sync"] = await sync_resumes(store, fake, workdir, report)
                    progress(DRILL, f"sync resumed: {report.figures['sync']}")
                    report.figures["fail_closed"] = await fail_closed(client, fake, parallel, report)
                    progress(DRILL, f"fail closed: {report.figures['fail_closed']}")
                    report.figures["orders"] = await nothing_lost(client, fake, orders, report)


def main(argv: list[str] | None = None) -> int:
    args = common_arguments(__doc__.split("\n\n")[0]).parse_args(argv)
    return run_drill(DRILL, args, drill)


if __name__ == "__main__":
    sys.exit(main())
