"""Order -> ERP benchmark: placed orders synced to the fake Odoo by an arq worker, against bare arq jobs.

Prints one JSON line: orders/s of the ``sync-order-to-erp`` flow (each order: the ``order.placed``
event's ``deliver-event`` run, then its ``sync-order-to-erp`` run with the Odoo client's JSON-RPC
calls) executed by one ``erpcommerce worker`` process, next to bare arq jobs/s (a worker whose job
only counts itself, same ``max_jobs`` and poll delay), both measured in this run, and their ratio;
it also checks every order made exactly one ``sale.order`` in the fake Odoo. Progress goes to stderr.

The ERP is the fake Odoo as a subprocess (``python -m erpcommerce_odoo.fake_odoo --seed demo``),
reached over HTTP by the real Odoo client: the figure then includes what a real deployment pays
per order (partner lookup, ``client_order_ref`` lookup, create, confirm), and the fake's own CPU is
reported beside it since it shares the machine.

    python scripts/bench_orders.py [--orders 500] [--quick] [--database-url postgres://...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_store import (
    background,
    environment_without_overrides,
    erpcommerce_command,
    free_port,
    peak_rss,
    wait_until_up,
)

from core.config import load_settings
from core.db import close_database, init_database
from core.models import WorkflowRunRecord

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
PLACE_CONCURRENCY = 16
START_TIMEOUT_S = 30.0
DRAIN_TIMEOUT_S = 600.0
ENQUEUE_GROUP = 50
ODOO_AUTH = ("demo", "admin", "admin")


def log(message: str) -> None:
    print(f"[bench_orders] {message}", file=sys.stderr, flush=True)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process, from ``/proc/<pid>/stat``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _wait_for(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what}: not within {timeout:.0f} s")
        await asyncio.sleep(0.05)


# --------------------------------------------------------------------------- the fake Odoo


class Odoo:
    """The fake Odoo subprocess's JSON-RPC, for the exactly-once check."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session, self.url = session, url

    async def call(self, service: str, method: str, *args: Any) -> Any:
        body = {"jsonrpc": "2.0", "method": "call", "params": {"service": service, "method": method, "args": args}}
        async with self.session.post(f"{self.url}/jsonrpc", json=body) as resp:
            payload = await resp.json()
        if "error" in payload:
            raise SystemExit(f"fake Odoo {method}: {payload['error']}")
        return payload["result"]

    async def sale_orders_by_ref(self, refs: list[str]) -> dict[str, int]:
        """How many ``sale.order`` records (cancelled ones too) carry each store order id."""
        database, login, password = ODOO_AUTH
        uid = await self.call("common", "login", database, login, password)
        rows = await self.call(
            "object", "execute_kw", database, uid, password, "sale.order", "search_read",
            [[["client_order_ref", "in", refs]]], {"fields": ["client_order_ref"], "context": {"active_test": False}},
        )  # fmt: skip
        counts: dict[str, int] = {}
        for row in rows:
            counts[row["client_order_ref"]] = counts.get(row["client_order_ref"], 0) + 1
        return counts


async def wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    async def listening() -> bool:
        if process.poll() is not None:
            raise SystemExit(f"the fake Odoo exited with {process.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False
        writer.close()
        return True

    await _wait_for(listening, START_TIMEOUT_S, f"fake Odoo on port {port}")


# --------------------------------------------------------------------------- the store


def write_config(directory: Path, database_url: str, redis_url: str, queue: str, port: int, odoo_url: str) -> Path:
    database, login, password = ODOO_AUTH
    config = directory / "config.toml"
    config.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = {port}\nenvironment = "production"\naccess_log = false\n'
        f"[database]\nurl = {json.dumps(database_url)}\n"
        f"[redis]\nurl = {json.dumps(redis_url)}\nqueue_name = {json.dumps(queue)}\n"
        f'[auth]\njwt_secret = "{secrets.token_hex(32)}"\n'
        f'[erp]\nwebhook_secret = "{secrets.token_hex(32)}"\n'
        f'[plugins.odoo]\nurl = "{odoo_url}"\ndatabase = "{database}"\nlogin = "{login}"\npassword = "{password}"\n'
    )
    return config


def erpcommerce(config: Path, *arguments: str, cwd: Path) -> None:
    """Run an ``erpcommerce`` command to its end; exit with its output when it fails."""
    done = subprocess.run(
        [*erpcommerce_command(config), *arguments],
        capture_output=True, text=True, env=environment_without_overrides(), cwd=cwd, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"erpcommerce {' '.join(arguments)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


class Store:
    """The running server as the order placer sees it."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base
        self.region_id = ""
        self.variant_ids: list[str] = []

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        async with self.session.request(method, f"{self.base}{path}", json=body) as resp:
            payload: dict[str, Any] = await resp.json()
            if resp.status != 200:
                raise SystemExit(f"{method} {path} -> {resp.status}: {payload}")
            return payload

    async def discover_catalog(self) -> None:
        """The first region; the priced variants synced from Odoo that a guest may buy without stock limit.

        Each candidate is tried once in a probe cart: the ERP's purchase rules and live stock decide.
        """
        self.region_id = (await self.call("GET", "/store/regions"))["regions"][0]["id"]
        query = f"region_id={self.region_id}&limit=100&fields=*variants.calculated_price"
        products = (await self.call("GET", f"/store/products?{query}"))["products"]
        candidates = [
            variant["id"]
            for product in products
            if product.get("external_id")
            for variant in product["variants"]
            if variant.get("calculated_price")
            and (not variant.get("manage_inventory") or variant.get("allow_backorder"))
        ]
        probe = (await self.call("POST", "/store/carts", {"region_id": self.region_id}))["cart"]["id"]
        for variant_id in candidates:
            body = {"variant_id": variant_id, "quantity": 1}
            async with self.session.post(f"{self.base}/store/carts/{probe}/line-items", json=body) as resp:
                if resp.status == 200:
                    self.variant_ids.append(variant_id)
        if not self.variant_ids:
            raise SystemExit("the store lists no variant synced from Odoo that a guest can buy")

    async def place_order(self, number: int) -> str:
        """A guest cart with one item, a payment session, completed: the order id."""
        cart = (await self.call("POST", "/store/carts", {"region_id": self.region_id,
                                                         "email": f"bench{number}@example.com"}))["cart"]
        item = {"variant_id": self.variant_ids[number % len(self.variant_ids)], "quantity": 1 + number % 3}
        await self.call("POST", f"/store/carts/{cart['id']}/line-items", item)
        paid = await self.call("POST", "/store/payment-collections", {"cart_id": cart["id"]})
        sessions = f"/store/payment-collections/{paid['payment_collection']['id']}/payment-sessions"
        await self.call("POST", sessions, {"provider_id": "pp_system_default"})
        completed = await self.call("POST", f"/store/carts/{cart['id']}/complete")
        if completed.get("type") != "order":
            raise SystemExit(f"cart {cart['id']} did not complete: {completed}")
        return str(completed["order"]["id"])

    async def place_orders(self, count: int) -> list[str]:
        limit = asyncio.Semaphore(PLACE_CONCURRENCY)

        async def one(number: int) -> str:
            async with limit:
                return await self.place_order(number)

        return list(await asyncio.gather(*(one(number) for number in range(count))))


async def place_orders(config: Path, workdir: Path, key: str, port: int, count: int) -> list[str]:
    """Start the server (arq mode: it only enqueues), place ``count`` orders through the Store API, stop it."""
    base = f"http://127.0.0.1:{port}"
    log_path = workdir / "server.log"
    serve = [*erpcommerce_command(config), "serve", "--port", str(port)]
    with background(serve, log_path, env=environment_without_overrides()) as process:
        await wait_until_up(f"{base}/health", process, log_path)
        headers = {"x-publishable-api-key": key}
        async with aiohttp.ClientSession(headers=headers) as session:
            store = Store(session, base)
            await store.discover_catalog()
            log(f"placing {count} orders ({len(store.variant_ids)} variants) with no worker running")
            return await store.place_orders(count)


# --------------------------------------------------------------------------- the drains


def _seconds_between(first: datetime, last: datetime) -> float:
    return max((last - first).total_seconds(), 1e-6)


async def drain_orders(config: Path, workdir: Path, order_ids: list[str], odoo_pid: int) -> dict[str, Any]:
    """Start one worker on the backlog; wait until every order's ``sync-order-to-erp`` run is finished.

    The window runs from the first ``deliver-event`` run the worker created to the last
    ``sync-order-to-erp`` run finished (database timestamps), so worker start-up is not counted.
    """
    run_ids = [f"sync-order-to-erp:{order_id}" for order_id in order_ids]
    runs = WorkflowRunRecord.filter(id__in=run_ids, finished_at__isnull=False)
    started = datetime.now().astimezone()
    odoo_cpu = cpu_seconds(odoo_pid)
    log_path = workdir / "worker.log"
    worker = [*erpcommerce_command(config), "worker"]
    with background(worker, log_path, env=environment_without_overrides()) as process:
        with peak_rss(process.pid) as peak:

            async def all_finished() -> bool:
                if process.poll() is not None:
                    raise SystemExit(f"the worker exited:\n{log_path.read_text()[-3000:]}")
                return await runs.count() >= len(run_ids)

            await _wait_for(all_finished, DRAIN_TIMEOUT_S, f"{len(run_ids)} sync-order-to-erp runs")
        worker_cpu = cpu_seconds(process.pid)
    odoo_cpu = cpu_seconds(odoo_pid) - odoo_cpu
    first = await WorkflowRunRecord.filter(workflow_name="deliver-event", created_at__gte=started).order_by(
        "created_at"
    ).first()
    last = await runs.order_by("-finished_at").first()
    assert first is not None and last is not None and last.finished_at is not None
    states: dict[str, int] = {}
    for state in await WorkflowRunRecord.filter(id__in=run_ids).values_list("state", flat=True):
        states[str(state)] = states.get(str(state), 0) + 1
    return {
        "seconds": round(_seconds_between(first.created_at, last.finished_at), 3),
        "states": states,
        "worker_cpu_s": round(worker_cpu, 2),
        "fake_odoo_cpu_s": round(odoo_cpu, 2),
        "worker_peak_rss_mb": peak[0],
    }


def _bare_worker(redis_url: str, queue: str, jobs: int, max_jobs: int, poll_delay: float) -> subprocess.Popen[bytes]:
    command = [sys.executable, __file__, "--worker-role", "bare", "--redis-url", redis_url, "--queue", queue,
               "--orders", str(jobs), "--max-jobs", str(max_jobs), "--poll-delay", str(poll_delay)]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL)


async def drain_bare(redis_url: str, jobs: int, max_jobs: int, poll_delay: float) -> dict[str, Any]:
    """``jobs`` bare jobs enqueued first, then one worker started on them; the window is first start to last end."""
    from arq.connections import RedisSettings as ArqRedisSettings
    from arq.connections import create_pool

    queue = f"bench-orders-bare:{uuid.uuid4().hex[:8]}"
    redis = await create_pool(ArqRedisSettings.from_dsn(redis_url))
    try:
        for start in range(0, jobs, ENQUEUE_GROUP):
            batch = range(start, min(jobs, start + ENQUEUE_GROUP))
            await asyncio.gather(*(redis.enqueue_job("count", _queue_name=queue) for _ in batch))
        worker = _bare_worker(redis_url, queue, jobs, max_jobs, poll_delay)
        try:

            async def counted() -> bool:
                return int(await redis.get(f"{queue}:done") or 0) >= jobs

            await _wait_for(counted, DRAIN_TIMEOUT_S, f"{jobs} bare arq jobs")
            first, last = (float(value) for value in await redis.mget(f"{queue}:first", f"{queue}:last"))
        finally:
            worker.terminate()
            worker.wait(30)
        await redis.delete(f"{queue}:done", f"{queue}:first", f"{queue}:last")
    finally:
        await redis.aclose()
    return {"seconds": round(max(last - first, 1e-6), 3)}


async def serve_bare(redis_url: str, queue: str, expected: int, max_jobs: int, poll_delay: float) -> None:
    """The bare worker subprocess: each job counts itself; the first and the last note the time."""
    from arq.connections import RedisSettings as ArqRedisSettings
    from arq.worker import Worker, func

    async def count(ctx: dict[str, Any]) -> None:
        redis = ctx["redis"]
        await redis.set(f"{queue}:first", time.time(), nx=True)
        if await redis.incr(f"{queue}:done") >= expected:
            await redis.set(f"{queue}:last", time.time())

    worker = Worker(
        functions=[func(count, name="count")],
        redis_settings=ArqRedisSettings.from_dsn(redis_url),
        queue_name=queue,
        keep_result=0,
        max_jobs=max_jobs,
        poll_delay=poll_delay,
    )
    try:
        await worker.async_run()
    except asyncio.CancelledError:
        pass
    finally:
        await worker.close()


# --------------------------------------------------------------------------- the run


async def bench(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    count = 100 if args.quick else args.orders
    odoo_port, port = free_port(), free_port()
    odoo_url = f"http://127.0.0.1:{odoo_port}"
    queue = f"bench-orders:{uuid.uuid4().hex[:8]}"
    database_url = args.database_url or f"sqlite://{workdir / 'bench.db'}"
    config = write_config(workdir, database_url, args.redis_url, queue, port, odoo_url)
    settings = load_settings(config)
    odoo = [sys.executable, "-m", "erpcommerce_odoo.fake_odoo", "--port", str(odoo_port), "--seed", "demo"]
    with background(odoo, workdir / "odoo.log") as odoo_process:
        await wait_for_port(odoo_port, odoo_process)
        log("erpcommerce seed, then a product sync from the fake Odoo")
        erpcommerce(config, "seed", "--data-dir", str(workdir), cwd=workdir)
        erpcommerce(config, "sync", "products", cwd=workdir)
        key = json.loads((workdir / "credentials.json").read_text())["publishable_api_key"]
        order_ids = await place_orders(config, workdir, key, port, count)
        await init_database(settings.database)
        try:
            load = os.getloadavg()[0]
            log(f"draining {count} orders with one worker")
            orders = await drain_orders(config, workdir, order_ids, odoo_process.pid)
            orders["loadavg_1m_before"] = round(load, 2)
        finally:
            await close_database()
        async with aiohttp.ClientSession() as session:
            sale_orders = await Odoo(session, odoo_url).sale_orders_by_ref(order_ids)
    limits = settings.workflows
    load = os.getloadavg()[0]
    log(f"draining {count} bare arq jobs with one worker")
    bare = await drain_bare(args.redis_url, count, limits.max_concurrent_runs, limits.worker_poll_delay_seconds)
    bare["loadavg_1m_before"] = round(load, 2)
    orders_per_s = count / orders["seconds"]
    bare_per_s = count / bare["seconds"]
    lost = sum(1 for order_id in order_ids if sale_orders.get(order_id, 0) == 0)
    duplicated = sum(1 for order_id in order_ids if sale_orders.get(order_id, 0) > 1)
    return {
        "bench": "orders",
        "database": "postgres" if args.database_url else "sqlite",
        "erp": "fake Odoo subprocess over JSON-RPC",
        "orders": count,
        "worker": {"max_jobs": limits.max_concurrent_runs, "poll_delay_s": limits.worker_poll_delay_seconds},
        "orders_to_erp": {**orders, "orders_per_s": round(orders_per_s, 1)},
        "bare_arq": {**bare, "jobs_per_s": round(bare_per_s, 1)},
        "orders_to_bare_ratio": round(orders_per_s / bare_per_s, 4),
        "exactly_once": {"lost": lost, "duplicated": duplicated, "pass": lost == 0 and duplicated == 0},
        "loadavg_1m_after": round(os.getloadavg()[0], 2),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=500, help="orders placed and synced (default 500)")
    parser.add_argument("--quick", action="store_true", help="100 orders, for a smoke run")
    parser.add_argument("--database-url", default=None, help="a scratch PostgreSQL database (default: SQLite)")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help=f"Redis for arq (default {DEFAULT_REDIS_URL})")
    parser.add_argument("--worker-role", choices=("bare",), help=argparse.SUPPRESS)
    parser.add_argument("--queue", help=argparse.SUPPRESS)
    parser.add_argument("--max-jobs", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--poll-delay", type=float, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench_orders_") as tmp:
        return await bench(args, Path(tmp))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker_role == "bare":
        asyncio.run(serve_bare(args.redis_url, args.queue, args.orders, args.max_jobs, args.poll_delay))
        return 0
    print(json.dumps(asyncio.run(run(args))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
