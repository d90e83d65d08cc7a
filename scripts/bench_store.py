"""Store API benchmark: our server against a bare aiohttp JSON endpoint, in the same run.

Prints one JSON line: requests/s and p50/p99 latency at concurrency 1 and 64 for product listing,
add-to-cart and cart completion, the server's RSS idle and at peak under load, the ratios to the
bare endpoint and a pass/fail per target. Progress goes to stderr.

Throughput at c=64 comes from ``wrk`` (``apt-get install -y wrk``); c=1 latency and cart completion
come from a Python aiohttp client (each completion needs its own cart, prepared before timing).

    python scripts/bench_store.py [--duration 10] [--quick] [--database-url postgres://...]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

CONCURRENCY = 64
PRODUCT_COUNT = 20
CART_COUNT = 256
PREPARE_CONCURRENCY = 16
START_TIMEOUT_S = 30.0
TARGETS: dict[str, tuple[str, float]] = {
    "listing_ratio": (">=", 0.20),
    "add_to_cart_ratio": (">=", 0.08),
    "add_to_cart_p50_ms_c1": ("<=", 5.0),
    "completion_p50_ms_c1": ("<=", 10.0),
    "rss_idle_mb": ("<=", 120.0),
    "rss_loaded_mb": ("<=", 200.0),
    "request_errors": ("<=", 0),
}
ADD_TO_CART_LUA = """\
local carts = {%(carts)s}
local variants = {%(variants)s}
local counter = 0
wrk.headers["Content-Type"] = "application/json"
wrk.headers["x-publishable-api-key"] = "%(key)s"
request = function()
  counter = counter + 1
  local cart = carts[(counter %% #carts) + 1]
  local variant = variants[(counter %% #variants) + 1]
  local body = '{"variant_id":"' .. variant .. '","quantity":1}'
  return wrk.format("POST", "/store/carts/" .. cart .. "/line-items", nil, body)
end
"""


def log(message: str) -> None:
    print(f"[bench_store] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- figures


@dataclass
class Figures:
    """One measurement: throughput, latency percentiles, failed requests."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def _percentile(sorted_ms: list[float], fraction: float) -> float:
    if not sorted_ms:
        return math.nan
    return sorted_ms[max(0, math.ceil(fraction * len(sorted_ms)) - 1)]


def figures_from_latencies(latencies_ms: list[float], wall_s: float, errors: int) -> Figures:
    ordered = sorted(latencies_ms)
    return Figures(
        rps=round(len(ordered) / wall_s, 1) if wall_s > 0 else math.nan,
        p50_ms=round(_percentile(ordered, 0.50), 3),
        p99_ms=round(_percentile(ordered, 0.99), 3),
        requests=len(ordered),
        errors=errors,
    )


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tree_pids(pid: int) -> list[int]:
    pids, pending = [], [pid]
    while pending:
        current = pending.pop()
        pids.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        pending.extend(int(child) for child in children)
    return pids


def rss_mb(pid: int) -> float:
    """VmRSS of ``pid`` and its children, in MB (MiB)."""
    total_kb = 0
    for member in _tree_pids(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        total_kb += int(match.group(1)) if match else 0
    return round(total_kb / 1024, 1)


@contextmanager
def peak_rss(pid: int, interval_s: float = 0.1) -> Iterator[list[float]]:
    """Samples RSS in a thread while the block runs; the yielded list ends up holding the peak."""
    peak = [rss_mb(pid)]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(interval_s):
            peak[0] = max(peak[0], rss_mb(pid))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()
        peak[0] = max(peak[0], rss_mb(pid))


@contextmanager
def background(
    command: list[str], log_path: Path, *, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` for the duration of the block, output to ``log_path``; stop it after."""
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, env=env)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def wait_until_up(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(
                    f"{url}: the process exited with {process.returncode}:\n{log_path.read_text()[-3000:]}"
                )
            try:
                async with session.get(url) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {START_TIMEOUT_S:.0f} s:\n{log_path.read_text()[-3000:]}")


def serve_bare(port: int) -> None:
    """The reference endpoint: one aiohttp JSON handler, no middleware, no access log."""

    async def hello(request: web.Request) -> web.Response:
        return web.json_response({"hello": "world"})

    app = web.Application()
    app.router.add_get("/hello", hello)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


# --------------------------------------------------------------------------- load generators


_WRK_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _wrk_latency_ms(text: str, percent: str) -> float:
    match = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.MULTILINE)
    return round(float(match.group(1)) * _WRK_UNITS_MS[match.group(2)], 3) if match else math.nan


def run_wrk(
    url: str, duration_s: float, *, headers: dict[str, str] | None = None, script: Path | None = None
) -> Figures:
    """``wrk -t1 -c64 --latency``; errors are non-2xx/3xx responses plus socket errors."""
    command = ["wrk", "-t1", f"-c{CONCURRENCY}", f"-d{max(1, round(duration_s))}s", "--latency"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    requests = re.search(r"(\d+) requests in", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    errors += sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    return Figures(
        rps=float(rps.group(1)) if rps else math.nan,
        p50_ms=_wrk_latency_ms(output, "50"),
        p99_ms=_wrk_latency_ms(output, "99"),
        requests=int(requests.group(1)) if requests else 0,
        errors=errors,
    )


Call = Callable[[aiohttp.ClientSession], Awaitable[bool]]


async def run_sequential(session: aiohttp.ClientSession, call: Call, duration_s: float) -> Figures:
    """Concurrency 1: ``call`` back to back for ``duration_s``; each call returns whether it succeeded."""
    latencies, errors = [], 0
    started = time.perf_counter()
    while time.perf_counter() - started < duration_s:
        begin = time.perf_counter()
        ok = await call(session)
        latencies.append((time.perf_counter() - begin) * 1000)
        errors += not ok
    return figures_from_latencies(latencies, time.perf_counter() - started, errors)


async def run_each_once(session: aiohttp.ClientSession, calls: list[Call], concurrency: int) -> Figures:
    """Run every call once, ``concurrency`` at a time; latency is per call, throughput over the wall time."""
    queue = list(reversed(calls))
    latencies: list[float] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        while queue:
            call = queue.pop()
            begin = time.perf_counter()
            ok = await call(session)
            latencies.append((time.perf_counter() - begin) * 1000)
            errors += not ok

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return figures_from_latencies(latencies, time.perf_counter() - started, errors)


def get_ok(url: str) -> Call:
    async def call(session: aiohttp.ClientSession) -> bool:
        async with session.get(url) as resp:
            await resp.read()
            return resp.status == 200

    return call


def post_ok(url: str, body: dict[str, Any] | None = None, *, expect_order: bool = False) -> Call:
    async def call(session: aiohttp.ClientSession) -> bool:
        async with session.post(url, json=body) as resp:
            payload = await resp.json()
            return resp.status == 200 and (not expect_order or payload.get("type") == "order")

    return call


# --------------------------------------------------------------------------- our server


def environment_without_overrides() -> dict[str, str]:
    """This environment without ``ERPCOMMERCE_*`` overrides, so the bench config file rules."""
    return {name: value for name, value in os.environ.items() if not name.upper().startswith("ERPCOMMERCE_")}


def erpcommerce_command(config: Path) -> list[str]:
    script = Path(sys.executable).with_name("erpcommerce")
    base = [str(script)] if script.exists() else [sys.executable, "-m", "core"]
    return [*base, "--config", str(config)]


def write_config(directory: Path, database_url: str, port: int) -> Path:
    config = directory / "config.toml"
    config.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = {port}\nenvironment = "production"\naccess_log = false\n'
        f"[database]\nurl = {json.dumps(database_url)}\n"
        f'[auth]\njwt_secret = "{secrets.token_hex(32)}"\n'
    )
    return config


def prepare_server(workdir: Path, database_url: str, port: int) -> tuple[Path, dict[str, Any]]:
    """``erpcommerce seed``: migrate, add a region, a key, ~20 priced products; return config, credentials."""
    config = write_config(workdir, database_url, port)
    command = [*erpcommerce_command(config), "seed", "--data-dir", str(workdir)]
    done = subprocess.run(
        command, capture_output=True, text=True, env=environment_without_overrides(), cwd=workdir
    )
    if done.returncode != 0:
        raise SystemExit(f"erpcommerce seed failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return config, json.loads((workdir / "credentials.json").read_text())


@dataclass
class Shop:
    """The running server as the load generators see it."""

    session: aiohttp.ClientSession
    base: str
    key: str
    region_id: str
    variant_ids: list[str]
    workdir: Path

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One request that must succeed; returns the JSON body."""
        async with self.session.request(method, f"{self.base}{path}", json=body) as resp:
            payload: dict[str, Any] = await resp.json()
            if resp.status != 200:
                raise SystemExit(f"{method} {path} → {resp.status}: {payload}")
            return payload

    async def discover_catalog(self) -> None:
        """The first region; the variants of the first 20 products that have a price and no stock limit."""
        self.region_id = (await self.call("GET", "/store/regions"))["regions"][0]["id"]
        query = f"region_id={self.region_id}&limit={PRODUCT_COUNT}&fields=*variants.calculated_price"
        products = (await self.call("GET", f"/store/products?{query}"))["products"]
        self.variant_ids = [
            variant["id"]
            for product in products
            for variant in product["variants"]
            if variant.get("calculated_price") and not variant.get("manage_inventory")
        ]
        if not self.variant_ids:
            raise SystemExit("the seeded store lists no priced variant without inventory management")

    async def prepare_carts(self, count: int, *, checkout: bool) -> list[str]:
        """``count`` carts; with ``checkout`` each holds one item, an email and a payment session."""
        limit = asyncio.Semaphore(PREPARE_CONCURRENCY)

        async def one(number: int) -> str:
            async with limit:
                email = f"bench{number}@example.com"
                cart_id = str(
                    (await self.call("POST", "/store/carts", {"region_id": self.region_id, "email": email}))[
                        "cart"
                    ]["id"]
                )
                if checkout:
                    item = {"variant_id": self.variant_ids[number % len(self.variant_ids)], "quantity": 1}
                    await self.call("POST", f"/store/carts/{cart_id}/line-items", item)
                    paid = await self.call("POST", "/store/payment-collections", {"cart_id": cart_id})
                    sessions = (
                        f"/store/payment-collections/{paid['payment_collection']['id']}/payment-sessions"
                    )
                    await self.call("POST", sessions, {"provider_id": "pp_system_default"})
                return cart_id

        return list(await asyncio.gather(*(one(number) for number in range(count))))


# --------------------------------------------------------------------------- phases


async def bench_bare(workdir: Path, duration_s: float, warmup_s: float) -> dict[str, Figures]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/hello"
    log_path = workdir / "bare.log"
    with background([sys.executable, __file__, "--serve-bare", str(port)], log_path) as process:
        await wait_until_up(url, process, log_path)
        log("bare aiohttp endpoint: warm-up, c=1, c=64")
        run_wrk(url, warmup_s)
        async with aiohttp.ClientSession() as session:
            c1 = await run_sequential(session, get_ok(url), duration_s)
        return {"c1": c1, "c64": run_wrk(url, duration_s)}


async def bench_listing(shop: Shop, duration_s: float, warmup_s: float) -> dict[str, Figures]:
    url = f"{shop.base}/store/products?region_id={shop.region_id}&limit={PRODUCT_COUNT}"
    headers = {"x-publishable-api-key": shop.key}
    log("product listing: warm-up, c=1, c=64")
    run_wrk(url, warmup_s, headers=headers)
    c1 = await run_sequential(shop.session, get_ok(url), duration_s)
    return {"c1": c1, "c64": run_wrk(url, duration_s, headers=headers)}


def _lua_list(values: list[str]) -> str:
    return ", ".join(f'"{value}"' for value in values)


async def bench_add_to_cart(shop: Shop, duration_s: float) -> dict[str, Figures]:
    log(f"add to cart: preparing {CART_COUNT} carts, then c=1, c=64")
    carts = await shop.prepare_carts(CART_COUNT, checkout=False)
    sequence = itertools.count()

    async def add(session: aiohttp.ClientSession) -> bool:
        number = next(sequence)
        url = f"{shop.base}/store/carts/{carts[number % len(carts)]}/line-items"
        body = {"variant_id": shop.variant_ids[number % len(shop.variant_ids)], "quantity": 1}
        return await post_ok(url, body)(session)

    c1 = await run_sequential(shop.session, add, duration_s)
    script = shop.workdir / "add_to_cart.lua"
    lists = {"carts": _lua_list(carts), "variants": _lua_list(shop.variant_ids), "key": shop.key}
    script.write_text(ADD_TO_CART_LUA % lists)
    return {"c1": c1, "c64": run_wrk(shop.base, duration_s, script=script)}


async def bench_completion(shop: Shop, duration_s: float) -> dict[str, Figures]:
    """Completion at c=1 and c=64, each call on its own prepared cart (20 or 64 per second of duration)."""
    results = {}
    for label, concurrency, per_second in (("c1", 1, 20), ("c64", CONCURRENCY, CONCURRENCY)):
        count = max(2 * per_second, round(per_second * duration_s))
        log(f"cart completion {label}: preparing {count} carts with a payment session, then completing them")
        carts = await shop.prepare_carts(count, checkout=True)
        calls = [post_ok(f"{shop.base}/store/carts/{cart}/complete", expect_order=True) for cart in carts]
        results[label] = await run_each_once(shop.session, calls, concurrency)
    return results


async def bench_server(
    workdir: Path, database_url: str, duration_s: float, warmup_s: float
) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log("preparing the server database: erpcommerce seed")
    config, credentials = prepare_server(workdir, database_url, port)
    key = credentials["publishable_api_key"]
    log_path = workdir / "server.log"
    serve = [*erpcommerce_command(config), "serve", "--port", str(port)]
    with background(serve, log_path, env=environment_without_overrides()) as process:
        await wait_until_up(f"{base}/health", process, log_path)
        headers = {"x-publishable-api-key": key}
        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
            shop = Shop(session, base, key, region_id="", variant_ids=[], workdir=workdir)
            await shop.discover_catalog()
            await asyncio.sleep(1)
            idle = rss_mb(process.pid)
            with peak_rss(process.pid) as peak:
                phases = {
                    "listing": await bench_listing(shop, duration_s, warmup_s),
                    "add_to_cart": await bench_add_to_cart(shop, duration_s),
                    "completion": await bench_completion(shop, duration_s),
                }
    return {**phases, "rss_idle_mb": idle, "rss_loaded_mb": peak[0]}


# --------------------------------------------------------------------------- report


def _ratio(ours: Figures, bare: Figures) -> float:
    return round(ours.rps / bare.rps, 3) if bare.rps else math.nan


def _as_dicts(group: dict[str, Figures]) -> dict[str, dict[str, Any]]:
    return {label: asdict(figures) for label, figures in group.items()}


def _judge(values: dict[str, float]) -> dict[str, dict[str, Any]]:
    verdicts = {}
    for name, (operator, limit) in TARGETS.items():
        value = values[name]
        passed = value >= limit if operator == ">=" else value <= limit
        verdicts[name] = {"value": value, "target": f"{operator} {limit:g}", "pass": bool(passed)}
    return verdicts


def report(
    bare: dict[str, Figures], ours: dict[str, Any], args: argparse.Namespace, duration_s: float
) -> dict[str, Any]:
    phases = {name: ours[name] for name in ("listing", "add_to_cart", "completion")}
    errors = sum(figures.errors for group in (bare, *phases.values()) for figures in group.values())
    values = {
        "listing_ratio": _ratio(phases["listing"]["c64"], bare["c64"]),
        "add_to_cart_ratio": _ratio(phases["add_to_cart"]["c64"], bare["c64"]),
        "add_to_cart_p50_ms_c1": phases["add_to_cart"]["c1"].p50_ms,
        "completion_p50_ms_c1": phases["completion"]["c1"].p50_ms,
        "rss_idle_mb": ours["rss_idle_mb"],
        "rss_loaded_mb": ours["rss_loaded_mb"],
        "request_errors": errors,
    }
    targets = _judge(values)
    return {
        "bench": "store",
        "database": "postgres"
        if args.database_url and args.database_url.startswith("postgres")
        else "sqlite",
        "duration_s": duration_s,
        **{name: _as_dicts(group) for name, group in {"bare": bare, **phases}.items()},
        "rss_idle_mb": ours["rss_idle_mb"],
        "rss_loaded_mb": ours["rss_loaded_mb"],
        "listing_ratio": values["listing_ratio"],
        "add_to_cart_ratio": values["add_to_cart_ratio"],
        "targets": targets,
        "all_pass": all(verdict["pass"] for verdict in targets.values()),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per timed run (default 10)")
    parser.add_argument("--quick", action="store_true", help="2 s runs, for a smoke run")
    parser.add_argument(
        "--database-url", default=None, help="server database (default: SQLite in a temp dir)"
    )
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    duration_s = 2.0 if args.quick else args.duration
    warmup_s = 1.0 if args.quick else min(3.0, duration_s)
    load_before = os.getloadavg()[0]  # other work on the machine skews every figure
    with tempfile.TemporaryDirectory(prefix="bench_store_") as tmp:
        workdir = Path(tmp)
        database_url = args.database_url or f"sqlite://{workdir / 'bench.db'}"
        bare = await bench_bare(workdir, duration_s, warmup_s)
        ours = await bench_server(workdir, database_url, duration_s, warmup_s)
    return {
        **report(bare, ours, args, duration_s),
        "loadavg_1m_before": round(load_before, 2),
        "loadavg_1m_after": round(os.getloadavg()[0], 2),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return 0
    if shutil.which("wrk") is None:
        print(
            "bench_store: wrk is required for the throughput runs; install it with: apt-get install -y wrk",
            file=sys.stderr,
        )
        return 2
    print(json.dumps(asyncio.run(run(args))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
