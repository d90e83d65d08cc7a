"""The production topology as subprocesses, for the drills: PostgreSQL, Redis, the fake Odoo, servers, workers.

:func:`topology` builds it step by step (each step a real command a user would run):

1. a scratch PostgreSQL database (created here; refused if it exists, since it is dropped at the end);
2. the fake Odoo (``python -m erpcommerce_odoo.fake_odoo``, demo catalogue), its ``sale.order``
   webhooks pointed back at the first server;
3. a ``config.toml`` of the drill's own: that database, Redis with a private queue, the odoo and
   erp plugins at the fake, the knobs the drill shortens;
4. ``erpcommerce seed`` (migrations, a region, a publishable key) and ``erpcommerce sync products``
   (the fake's catalogue);
5. ``erpcommerce serve`` × N and ``erpcommerce worker`` × M.

Everything is stopped, the queue's Redis keys deleted and the database dropped on the way out.
:class:`Storefront` shops over HTTP like a storefront, spreading its calls over the servers; what
the drills check afterwards is in :mod:`topology_checks`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
from redis.asyncio import Redis

from topology_checks import DrillDatabase

__all__ = [
    "ODOO_VARIANT_SKUS",
    "Managed",
    "Storefront",
    "Topology",
    "TopologyOptions",
    "log",
    "storefront",
    "topology",
]

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
WORKER_STARTED = 'msg="worker started"'
# Demo variants a guest may buy in any quantity (EUR public pricelist, backorders allowed).
ODOO_VARIANT_SKUS = ("LAMP", "CHAIR-BLK", "CHAIR-WHT", "KBD-US", "KBD-DE", "DESK-140")
WEBHOOK_SECRET_BYTES = 32


def log(tag: str, message: str) -> None:
    """Progress on stderr (stdout carries only the JSON line)."""
    print(f"[{tag}] {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _asyncpg_url(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _database_name(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"--database-url: {name!r} is not a plain database name (letters, digits, _)")
    return name


# -------------------------------------------------------------------------------------------------
# Processes
# -------------------------------------------------------------------------------------------------


class Managed:
    """One subprocess of the topology, its output going to ``log_path``; restartable."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        self.starts += 1
        with self.log_path.open("ab") as out:
            out.write(f"--- start {self.starts}: {' '.join(self.argv)}\n".encode())
            out.flush()
            self.process = subprocess.Popen(
                self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=self.log_path.parent
            )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]

    def kill(self) -> None:
        """SIGKILL: the process dies at once, wherever it is."""
        if self.alive():
            assert self.process is not None
            self.process.kill()
        if self.process is not None:
            self.process.wait()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        if not self.alive():
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()

    async def wait_http(self, url: str) -> None:
        """Until ``url`` answers 200 (fails if the process exits first)."""
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                self._check_running()
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with session.get(url) as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.1)
        raise SystemExit(f"{self.name}: {url} did not answer within {START_TIMEOUT_SECONDS:.0f} s\n{self.tail()}")

    async def wait_log(self, text: str) -> None:
        """Until the current run's output contains ``text``."""
        marker = f"--- start {self.starts}:"
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            self._check_running()
            output = self.log_path.read_text(encoding="utf-8", errors="replace")
            if text in output[output.rfind(marker):]:
                return
            await asyncio.sleep(0.1)
        raise SystemExit(f"{self.name} did not log {text!r} within {START_TIMEOUT_SECONDS:.0f} s\n{self.tail()}")

    def _check_running(self) -> None:
        if not self.alive():
            code = self.process.returncode if self.process is not None else None
            raise SystemExit(f"{self.name} exited with {code}:\n{self.tail()}")


def erpcommerce(config: Path, *args: str) -> list[str]:
    """The ``erpcommerce`` command of this virtualenv with the drill's config."""
    script = Path(sys.executable).with_name("erpcommerce")
    base = [str(script)] if script.exists() else [sys.executable, "-m", "core"]
    return [*base, "--config", str(config), *args]


def clean_environment(**extra: str) -> dict[str, str]:
    """This environment without ``ERPCOMMERCE_*`` overrides (the drill's config file rules), plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if not key.upper().startswith("ERPCOMMERCE_")}
    env.update(PYTHONUNBUFFERED="1", ERPCOMMERCE_LOG_LEVEL="info", **extra)
    return env


# -------------------------------------------------------------------------------------------------
# Configuration
# -------------------------------------------------------------------------------------------------


@dataclass
class TopologyOptions:
    """What the drill runs and the knobs it shortens (every one a ``config.toml`` key)."""

    tag: str
    database_url: str
    redis_url: str = "redis://127.0.0.1:6379/0"
    servers: int = 1
    workers: int = 2
    lease_seconds: float = 5.0
    recovery_interval_seconds: float = 1.0
    max_concurrent_runs: int = 20
    # Odoo's request time limit: how long a create whose answer was lost is waited out (the fake ends fast).
    odoo_request_time_limit_seconds: float = 2.0
    product_sync_schedule: str | None = None  # None: the daily job switched off
    webhook: bool = True
    odoo_latency: float = 0.0  # seconds the fake Odoo adds to every RPC call


def _toml(value: Any) -> str:
    return json.dumps(value)


def write_config(directory: Path, options: TopologyOptions, *, queue: str, odoo_url: str, webhook_secret: str) -> Path:
    """The drill's ``config.toml``."""
    job = (
        f"[jobs.sync-products-from-erp]\nschedule = {_toml(options.product_sync_schedule)}\n"
        if options.product_sync_schedule
        else "[jobs.sync-products-from-erp]\nenabled = false\n"
    )
    text = f"""\
[server]
host = "127.0.0.1"
environment = "production"
[database]
url = {_toml(options.database_url)}
pool_max_size = 10
[redis]
url = {_toml(options.redis_url)}
queue_name = {_toml(queue)}
[auth]
jwt_secret = {_toml(secrets.token_urlsafe(48))}
[erp]
webhook_secret = {_toml(webhook_secret)}
[workflows]
lease_seconds = {options.lease_seconds}
recovery_interval_seconds = {options.recovery_interval_seconds}
max_concurrent_runs = {options.max_concurrent_runs}
shutdown_grace_seconds = 2.0
{job}[plugins.erp]
order_sync_backoff_seconds = 0.5
order_sync_max_backoff_seconds = 5.0
[plugins.odoo]
url = {_toml(odoo_url)}
request_time_limit_seconds = {options.odoo_request_time_limit_seconds}
"""
    path = directory / "config.toml"
    path.write_text(text)
    return path


# -------------------------------------------------------------------------------------------------
# The topology
# -------------------------------------------------------------------------------------------------


@dataclass
class Topology:
    """The running processes and how to reach them."""

    options: TopologyOptions
    workdir: Path
    config: Path
    queue: str
    odoo_url: str
    server_urls: list[str]
    publishable_key: str
    fake_odoo: Managed
    servers: list[Managed]
    workers: list[Managed]

    async def restart_worker(self, worker: Managed) -> None:
        worker.start()
        await worker.wait_log(WORKER_STARTED)


async def _create_database(url: str) -> None:
    name = _database_name(url)
    admin = await asyncpg.connect(_asyncpg_url(_with_database(url, "postgres")), timeout=10)
    try:
        if await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            raise SystemExit(
                f"database {name!r} exists: give the drill a new name (it creates the database and drops it)"
            )
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def _drop_database(url: str) -> None:
    admin = await asyncpg.connect(_asyncpg_url(_with_database(url, "postgres")), timeout=10)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{_database_name(url)}" WITH (FORCE)')
    finally:
        await admin.close()


async def _delete_queue_keys(redis_url: str, queue: str) -> None:
    redis = Redis.from_url(redis_url)
    try:
        keys = [key async for key in redis.scan_iter(match=f"*{queue}*", count=1000)]
        for start in range(0, len(keys), 500):
            await redis.delete(*keys[start : start + 500])
    finally:
        await redis.aclose()


def _run(argv: list[str], env: dict[str, str], cwd: Path, what: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd)
    if done.returncode != 0:
        raise SystemExit(f"{what} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return done.stdout


@contextlib.asynccontextmanager
async def topology(options: TopologyOptions, *, keep_workdir: bool = False) -> AsyncIterator[Topology]:
    """Build the topology (see the module doc), yield it, take everything down."""
    workdir = Path(tempfile.mkdtemp(prefix=f"{options.tag}-"))
    queue = f"{options.tag}-{os.getpid()}-{secrets.token_hex(3)}"
    await _create_database(options.database_url)
    managed: list[Managed] = []
    try:
        yield await _start(options, workdir, queue, managed)
    finally:
        for process in reversed(managed):
            process.stop()
        await _delete_queue_keys(options.redis_url, queue)
        await _drop_database(options.database_url)
        if keep_workdir:
            log(options.tag, f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


async def _start(options: TopologyOptions, workdir: Path, queue: str, managed: list[Managed]) -> Topology:
    tag = options.tag
    odoo_port = free_port()
    server_ports = [free_port() for _ in range(options.servers)]
    odoo_url = f"http://127.0.0.1:{odoo_port}"
    server_urls = [f"http://127.0.0.1:{port}" for port in server_ports]
    webhook_secret = secrets.token_urlsafe(WEBHOOK_SECRET_BYTES)
    env = clean_environment()

    fake_argv = [sys.executable, "-m", "erpcommerce_odoo.fake_odoo", "--port", str(odoo_port), "--seed", "demo",
                 "--latency", str(options.odoo_latency)]
    if options.webhook:
        fake_argv += ["--webhook-url", f"{server_urls[0]}/erp/order-updates?token={webhook_secret}"]
    fake = Managed("fake-odoo", fake_argv, env, workdir / "fake-odoo.log")
    managed.append(fake)
    fake.start()
    await fake.wait_http(f"{odoo_url}/fake/faults")

    config = write_config(workdir, options, queue=queue, odoo_url=odoo_url, webhook_secret=webhook_secret)
    log(tag, "erpcommerce seed, then erpcommerce sync products (from the fake Odoo)")
    _run(erpcommerce(config, "seed", "--data-dir", str(workdir)), env, workdir, "erpcommerce seed")
    _run(erpcommerce(config, "sync", "products"), env, workdir, "erpcommerce sync products")
    credentials = json.loads((workdir / "credentials.json").read_text())

    servers = []
    for number, port in enumerate(server_ports, start=1):
        server = Managed(f"server-{number}", erpcommerce(config, "serve", "--port", str(port)), env,
                         workdir / f"server-{number}.log")
        managed.append(server)
        servers.append(server)
        server.start()
    for server, url in zip(servers, server_urls, strict=True):
        await server.wait_http(f"{url}/health")
    workers = []
    for number in range(1, options.workers + 1):
        worker = Managed(f"worker-{number}", erpcommerce(config, "worker"), env, workdir / f"worker-{number}.log")
        managed.append(worker)
        workers.append(worker)
        worker.start()
    for worker in workers:
        await worker.wait_log(WORKER_STARTED)
    log(tag, f"{len(servers)} server(s), {len(workers)} worker(s) up; queue {queue}; logs in {workdir}")
    return Topology(
        options=options, workdir=workdir, config=config, queue=queue, odoo_url=odoo_url, server_urls=server_urls,
        publishable_key=credentials["publishable_api_key"], fake_odoo=fake, servers=servers, workers=workers,
    )


# -------------------------------------------------------------------------------------------------
# The storefront
# -------------------------------------------------------------------------------------------------


class StoreError(Exception):
    """A storefront call answered something else than 200."""


@dataclass
class Storefront:
    """A storefront over HTTP, spreading its calls over the servers; every call timed per operation."""

    session: aiohttp.ClientSession
    server_urls: list[str]
    region_id: str = ""
    variant_ids: list[str] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    per_server: Counter[str] = field(default_factory=Counter)
    calls: int = 0

    async def call(self, operation: str, method: str, path: str, body: Any = None, *, server: int = 0) -> Any:
        base = self.server_urls[server % len(self.server_urls)]
        url = base + path
        self.calls += 1
        self.per_server[base] += 1
        started = time.perf_counter()
        try:
            async with self.session.request(method, url, json=body) as response:
                payload = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            self.errors[f"{operation}:{type(exc).__name__}"] += 1
            raise StoreError(f"{method} {path}: {exc!r}") from exc
        self.latencies.setdefault(operation, []).append((time.perf_counter() - started) * 1000)
        if status != 200:
            self.errors[f"{operation}:{status}"] += 1
            raise StoreError(f"{method} {path} -> {status}: {payload}")
        return payload

    async def discover(self, variant_ids: list[str]) -> None:
        self.region_id = (await self.call("regions", "GET", "/store/regions"))["regions"][0]["id"]
        self.variant_ids = variant_ids

    async def list_products(self, number: int) -> None:
        query = f"/store/products?region_id={self.region_id}&limit=20&offset={(number % 2) * 10}"
        await self.call("listing", "GET", query, server=number)

    async def cart_with_item(self, number: int, email: str) -> str:
        body = {"region_id": self.region_id, "email": email}
        cart_id = str((await self.call("create_cart", "POST", "/store/carts", body, server=number))["cart"]["id"])
        item = {"variant_id": self.variant_ids[number % len(self.variant_ids)], "quantity": 1 + number % 3}
        await self.call("add_to_cart", "POST", f"/store/carts/{cart_id}/custom-line-items", item, server=number + 1)
        return cart_id

    async def checkout(self, number: int, cart_id: str) -> str:
        """Pay and complete; completion is retried on the same cart (it is idempotent)."""
        collection = await self.call(
            "payment", "POST", "/store/payment-collections", {"cart_id": cart_id}, server=number
        )
        sessions = f"/store/payment-collections/{collection['payment_collection']['id']}/payment-sessions"
        await self.call("payment", "POST", sessions, {"provider_id": "pp_system_default"}, server=number + 1)
        for attempt in range(5):
            try:
                done = await self.call("complete", "POST", f"/store/carts/{cart_id}/complete", server=number + attempt)
            except StoreError:
                if attempt == 4:
                    raise
                await asyncio.sleep(0.5)
                continue
            if done.get("type") != "order":
                raise StoreError(f"completion of {cart_id} returned {done}")
            return str(done["order"]["id"])
        raise AssertionError("unreachable")

    async def place_order(self, number: int, email: str) -> str:
        """A whole purchase: cart, an Odoo product, payment, completion (a failed cart is started again)."""
        for attempt in range(3):
            try:
                cart_id = await self.cart_with_item(number + attempt, email)
            except StoreError:
                if attempt == 2:
                    raise
                await asyncio.sleep(0.5)
                continue
            return await self.checkout(number, cart_id)
        raise AssertionError("unreachable")

    def figures(self, seconds: float) -> dict[str, Any]:
        """Per operation: count, p50 and p99 in ms; request totals and errors."""
        result: dict[str, Any] = {}
        for operation, values in sorted(self.latencies.items()):
            ordered = sorted(values)
            result[operation] = {
                "requests": len(ordered),
                "p50_ms": round(ordered[len(ordered) // 2], 1),
                "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
            }
        return {
            "operations": result,
            "requests": self.calls,
            "requests_per_s": round(self.calls / seconds, 1) if seconds > 0 else None,
            "requests_per_server": list(self.per_server.values()),
            "request_errors": dict(self.errors),
        }


@contextlib.asynccontextmanager
async def storefront(top: Topology, concurrency: int) -> AsyncIterator[Storefront]:
    headers = {"x-publishable-api-key": top.publishable_key}
    connector = aiohttp.TCPConnector(limit=concurrency * 2)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(headers=headers, connector=connector, timeout=timeout) as session:
        async with DrillDatabase(top.options.database_url) as db:
            variant_ids = await db.variant_ids(ODOO_VARIANT_SKUS)
        shop = Storefront(session, top.server_urls)
        await shop.discover(variant_ids)
        yield shop
