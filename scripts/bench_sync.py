"""Product sync benchmark: a full sync from the fake Odoo over HTTP into SQLite, next to raw executemany.

Prints one JSON line; progress goes to stderr. In one run:

1. the fake Odoo (``python -m erpcommerce_odoo.fake_odoo --seed N``, N variants) starts as a
   subprocess;
2. ``erpcommerce sync products --full`` (the real CLI, a subprocess, the installed plugins) syncs
   it into a fresh SQLite file, migrated beforehand by ``erpcommerce migrate`` so the timed run is
   the sync alone; its wall time, its counts (the ``sync_run`` row) and its peak RSS
   (``ru_maxrss`` of that one process, from ``os.wait4``) are recorded;
3. the anchor: the rows the sync wrote (products, options, option values, variants, variant
   options, prices), read back from the synced file and inserted again with raw
   ``sqlite3.executemany`` into a fresh file of the same schema, one transaction per table;
4. a delta: 1% of the product templates renamed in the fake over JSON-RPC, then
   ``erpcommerce sync products`` (incremental) timed like the full sync; then once more with
   another 1% (``counts.delta_repeat``: a delta whose cursors already moved past the seed).

Each sync also reports its own CPU time and the fake Odoo's meanwhile (both share the machine).

Targets (issue 5): sync variants/s >= 10% of executemany variants/s, peak RSS <= 300 MB, delta
time <= 5% of the full sync's.

    python scripts/bench_sync.py [--quick] [--variants 100000] [--page-size N] [--profile DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bench_store import background  # scripts/ is on sys.path when run as a script

DEFAULT_VARIANTS = 100_000
QUICK_VARIANTS = 10_000
CHANGED_SHARE = 0.01
WRITE_BATCH = 200
START_TIMEOUT_S = 180.0
SYNC_TIMEOUT_S = 3600.0
# The tables a product sync fills, parents first (the anchor inserts them in this order).
CATALOG_TABLES = (
    "product",
    "product_option",
    "product_option_value",
    "product_variant",
    "product_variant_option",
    "price",
)
COUNT_COLUMNS = ("pages", "seen", "expected", "created", "updated", "unchanged", "archived", "failed")
ODOO_DATABASE, ODOO_LOGIN, ODOO_PASSWORD = "demo", "admin", "admin"
TARGETS: dict[str, tuple[str, float]] = {
    "ratio_vs_executemany": (">=", 0.10),
    "peak_rss_mb": ("<=", 300.0),
    "delta_ratio": ("<=", 0.05),
}


def log(message: str) -> None:
    print(f"[bench_sync] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    """VmRSS of ``pid``, in MB (MiB); NaN once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return math.nan
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return round(int(match.group(1)) / 1024, 1) if match else math.nan


def environment_without_overrides() -> dict[str, str]:
    """This environment without ``ERPCOMMERCE_*`` overrides, so the bench config file rules."""
    return {name: value for name, value in os.environ.items() if not name.upper().startswith("ERPCOMMERCE_")}


@dataclass
class Finished:
    """A subprocess that ran to its end: wall time, exit code, its own peak RSS and CPU time."""

    seconds: float
    returncode: int
    peak_rss_mb: float
    cpu_seconds: float


def run_measured(command: list[str], log_path: Path, *, cwd: Path) -> Finished:
    """Run ``command`` to its end; wall time, and ``ru_maxrss`` of that process from ``os.wait4``.

    ``wait4`` reports the resource usage of the one child waited for (not the maximum over every
    child so far, as ``getrusage(RUSAGE_CHILDREN)`` would), in KiB on Linux.
    """
    with log_path.open("wb") as log_file:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=log_file, stderr=subprocess.STDOUT, env=environment_without_overrides(), cwd=cwd
        )
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:
            process.kill()
            process.wait()
            raise
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return Finished(round(seconds, 3), process.returncode, round(usage.ru_maxrss / 1024, 1), round(cpu, 2))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time ``pid`` has used so far (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- the fake Odoo over JSON-RPC


class Odoo:
    """A minimal JSON-RPC client of the fake (stdlib only: the few calls the benchmark makes)."""

    def __init__(self, url: str) -> None:
        self.url = f"{url}/jsonrpc"
        self.uid: int | None = None

    def call(self, service: str, method: str, *args: Any) -> Any:
        body = {"jsonrpc": "2.0", "method": "call", "params": {"service": service, "method": method, "args": args},
                "id": 1}
        request = urllib.request.Request(
            self.url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            answer = json.load(response)
        if "error" in answer:
            raise RuntimeError(f"{service}.{method}: {answer['error'].get('message')}: {answer['error'].get('data')}")
        return answer["result"]

    def execute_kw(self, model: str, method: str, args: list[Any], kwargs: dict[str, Any] | None = None) -> Any:
        if self.uid is None:
            self.uid = self.call("common", "authenticate", ODOO_DATABASE, ODOO_LOGIN, ODOO_PASSWORD, {})
            if not self.uid:
                raise RuntimeError("the fake Odoo refused the admin credentials")
        return self.call("object", "execute_kw", ODOO_DATABASE, self.uid, ODOO_PASSWORD, model, method, args,
                         kwargs or {})

    def wait_until_up(self, process: subprocess.Popen[bytes], log_path: Path) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"the fake Odoo exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                self.call("common", "version")
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        raise SystemExit(f"the fake Odoo did not answer within {START_TIMEOUT_S:.0f} s")


def change_templates(odoo: Odoo, share: float, *, offset: int = 0) -> list[int]:
    """Rename ``share`` of all product templates (picked evenly among the active ones); their ids.

    Archived templates are left alone: the store never created them, so the delta would skip them.
    ``offset`` shifts the pick, so a second delta changes other templates.
    """
    every = odoo.execute_kw("product.template", "search_count", [[]], {"context": {"active_test": False}})
    active = odoo.execute_kw("product.template", "search", [[]], {"order": "id asc"})
    count = max(1, math.ceil(every * share))
    step = len(active) / count
    changed = [active[(int(index * step) + offset) % len(active)] for index in range(count)]
    stamp = time.strftime("%H:%M:%S")
    for start in range(0, len(changed), WRITE_BATCH):
        batch = changed[start : start + WRITE_BATCH]
        odoo.execute_kw("product.template", "write", [batch, {"name": f"Renamed by bench_sync {stamp}"}])
    return changed


# --------------------------------------------------------------------------- the sync, through the CLI


def erpcommerce_command(config: Path, profile: Path | None = None) -> list[str]:
    if profile is not None:
        return [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "core", "--config", str(config)]
    script = Path(sys.executable).with_name("erpcommerce")
    base = [str(script)] if script.exists() else [sys.executable, "-m", "core"]
    return [*base, "--config", str(config)]


def write_config(directory: Path, database: Path, odoo_url: str, page_size: int | None) -> Path:
    """The bench's config.toml: SQLite in ``directory``, the fake as Odoo, the erp plugin's defaults."""
    erp = f"[plugins.erp]\nsync_page_size = {page_size}\n" if page_size else ""
    odoo_page = f"page_size = {page_size}\n" if page_size else ""
    config = directory / "config.toml"
    config.write_text(
        f"[database]\nurl = {json.dumps(f'sqlite://{database}')}\n"
        f"[plugins.odoo]\nurl = {json.dumps(odoo_url)}\ndatabase = \"{ODOO_DATABASE}\"\n"
        f"login = \"{ODOO_LOGIN}\"\npassword = \"{ODOO_PASSWORD}\"\n{odoo_page}{erp}"
    )
    return config


def last_sync_run(database: Path) -> dict[str, Any]:
    """The newest ``sync_run`` row: state, counts, per-stream counts and its own duration."""
    with sqlite3.connect(database) as db:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM sync_run ORDER BY started_at DESC LIMIT 1").fetchone()
    if row is None:
        raise SystemExit(f"{database}: no sync_run row")
    started, finished = row["started_at"], row["finished_at"]
    seconds = (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds() if finished else None
    streams = json.loads(row["details"] or "{}").get("streams", {})
    keep = ("pages", "seen", "created", "updated", "unchanged", "archived", "failed", "skipped")
    return {
        "state": row["state"],
        "error": row["error"],
        "run_seconds": round(seconds, 3) if seconds is not None else None,
        **{name: row[name] for name in COUNT_COLUMNS},
        "streams": {name: {key: stream.get(key) for key in keep} for name, stream in streams.items()},
    }


def table_counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as db:
        return {table: db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in CATALOG_TABLES}


def run_sync(config: Path, workdir: Path, label: str, *, full: bool, profile_dir: Path | None) -> Finished:
    profile = profile_dir / f"{label}.prof" if profile_dir else None
    command = [*erpcommerce_command(config, profile), "sync", "products", *(["--full"] if full else [])]
    log_path = workdir / f"{label}.log"
    finished = run_measured(command, log_path, cwd=workdir)
    if finished.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited with {finished.returncode}:\n{log_path.read_text()[-3000:]}")
    return finished


def migrate(config: Path, workdir: Path) -> None:
    log_path = workdir / "migrate.log"
    finished = run_measured([*erpcommerce_command(config), "migrate"], log_path, cwd=workdir)
    if finished.returncode != 0:
        raise SystemExit(f"erpcommerce migrate exited with {finished.returncode}:\n{log_path.read_text()[-3000:]}")


# --------------------------------------------------------------------------- the anchor


def executemany_anchor(synced: Path, target: Path) -> dict[str, Any]:
    """The synced catalogue rows inserted again with raw ``executemany``, one transaction per table.

    The target gets the synced file's whole schema (tables and indexes), so each insert maintains
    the same indexes the sync's did. Only the inserts are timed.
    """
    with sqlite3.connect(synced) as source:
        schema = [sql for (sql,) in source.execute(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
            "ORDER BY type = 'index', name"
        )]
        rows = {table: source.execute(f'SELECT * FROM "{table}"').fetchall() for table in CATALOG_TABLES}
    db = sqlite3.connect(target, isolation_level=None)
    try:
        for sql in schema:
            db.execute(sql)
        seconds: dict[str, float] = {}
        for table in CATALOG_TABLES:
            if not rows[table]:
                seconds[table] = 0.0
                continue
            marks = ", ".join("?" * len(rows[table][0]))
            started = time.perf_counter()
            db.execute("BEGIN")
            db.executemany(f'INSERT INTO "{table}" VALUES ({marks})', rows[table])
            db.execute("COMMIT")
            seconds[table] = time.perf_counter() - started
    finally:
        db.close()
    total_rows = sum(len(table_rows) for table_rows in rows.values())
    total_seconds = sum(seconds.values())
    return {
        "rows": {table: len(table_rows) for table, table_rows in rows.items()},
        "seconds": round(total_seconds, 4),
        "rows_per_second": round(total_rows / total_seconds, 1) if total_seconds else math.nan,
        "variants_per_second": round(len(rows["product_variant"]) / total_seconds, 1) if total_seconds else math.nan,
    }


# --------------------------------------------------------------------------- report


def _judge(values: dict[str, float]) -> dict[str, dict[str, Any]]:
    verdicts = {}
    for name, (operator, limit) in TARGETS.items():
        value = values[name]
        passed = value >= limit if operator == ">=" else value <= limit
        verdicts[name] = {"value": value, "target": f"{operator} {limit:g}", "pass": bool(passed)}
    return verdicts


@dataclass
class Phase:
    """One timed sync: the subprocess's figures, the fake's CPU time meanwhile, the sync_run row."""

    sync: Finished
    fake_cpu_seconds: float
    row: dict[str, Any]

    def figures(self) -> dict[str, Any]:
        return {
            "seconds": self.sync.seconds,
            "sync_cpu_seconds": self.sync.cpu_seconds,
            "fake_odoo_cpu_seconds": round(self.fake_cpu_seconds, 2),
            "peak_rss_mb": self.sync.peak_rss_mb,
            **self.row,
        }


def timed_sync(
    config: Path, workdir: Path, database: Path, fake_pid: int, label: str, *, full: bool, profile_dir: Path | None
) -> Phase:
    fake_before = cpu_seconds(fake_pid)
    finished = run_sync(config, workdir, label, full=full, profile_dir=profile_dir)
    return Phase(finished, cpu_seconds(fake_pid) - fake_before, last_sync_run(database))


def run(args: argparse.Namespace) -> dict[str, Any]:
    variants = QUICK_VARIANTS if args.quick and args.variants is None else (args.variants or DEFAULT_VARIANTS)
    load_before = os.getloadavg()[0]  # other work on the machine skews every figure
    profile_dir = Path(args.profile).resolve() if args.profile else None
    if profile_dir:
        profile_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench_sync_") as tmp:
        workdir = Path(tmp)
        port = free_port()
        odoo_url = f"http://127.0.0.1:{port}"
        fake_log = workdir / "fake_odoo.log"
        fake = [sys.executable, "-m", "erpcommerce_odoo.fake_odoo", "--port", str(port), "--seed", str(variants)]
        log(f"fake Odoo with {variants} variants on {odoo_url}")
        with background(fake, fake_log) as process:
            odoo = Odoo(odoo_url)
            odoo.wait_until_up(process, fake_log)
            fake_rss_idle = rss_mb(process.pid)
            database = workdir / "bench.db"
            config = write_config(workdir, database, odoo_url, args.page_size)
            migrate(config, workdir)

            def sync(label: str, *, full: bool) -> Phase:
                return timed_sync(config, workdir, database, process.pid, label, full=full, profile_dir=profile_dir)

            log("full sync: erpcommerce sync products --full")
            full = sync("full", full=True)
            stored = table_counts(database)
            log(f"full sync: {full.sync.seconds:.1f} s, {stored['product_variant']} variants stored, "
                f"peak RSS {full.sync.peak_rss_mb:.0f} MB")
            log("anchor: executemany of the same rows")
            anchor = executemany_anchor(database, workdir / "anchor.db")
            deltas = []
            for label in ("delta", "delta_repeat"):
                log(f"{label}: renaming {CHANGED_SHARE:.0%} of the templates, then erpcommerce sync products")
                time.sleep(1.0)  # Odoo stamps write_date to the second: keep this change's stamp apart
                changed = change_templates(odoo, CHANGED_SHARE, offset=len(deltas))
                phase = sync(label, full=False)
                log(f"{label}: {phase.sync.seconds:.1f} s")
                deltas.append((changed, phase))
            fake_rss_end = rss_mb(process.pid)
    synced_variants = stored["product_variant"]
    variants_per_second = round(synced_variants / full.sync.seconds, 1)
    (changed, delta), (changed_again, delta_again) = deltas
    values = {
        "ratio_vs_executemany": round(variants_per_second / anchor["variants_per_second"], 4),
        "peak_rss_mb": full.sync.peak_rss_mb,
        "delta_ratio": round(delta.sync.seconds / full.sync.seconds, 4),
    }
    targets = _judge(values)

    def delta_figures(changed: list[int], phase: Phase) -> dict[str, Any]:
        updated = phase.row["streams"].get("products", {}).get("updated")
        return {"changed_templates": len(changed), "updated_matches_changed": updated == len(changed),
                "ratio": round(phase.sync.seconds / full.sync.seconds, 4), **phase.figures()}

    return {
        "bench": "sync",
        "quick": bool(args.quick),
        "database": "sqlite",
        "variants": variants,
        "variants_stored": synced_variants,
        "page_size": args.page_size or "defaults",
        "full_sync_seconds": full.sync.seconds,
        "variants_per_second": variants_per_second,
        "executemany_rows_per_second": anchor["rows_per_second"],
        "executemany_variants_per_second": anchor["variants_per_second"],
        "ratio_vs_executemany": values["ratio_vs_executemany"],
        "peak_rss_mb": full.sync.peak_rss_mb,
        "peak_rss_method": "ru_maxrss of the full sync process alone (os.wait4), MiB",
        "delta_seconds": delta.sync.seconds,
        "delta_ratio": values["delta_ratio"],
        "catalog_rows": stored,
        "catalog_rows_per_second": round(sum(stored.values()) / full.sync.seconds, 1),
        "executemany_seconds": anchor["seconds"],
        "counts": {
            "full": full.figures(),
            "delta": delta_figures(changed, delta),
            "delta_repeat": delta_figures(changed_again, delta_again),
        },
        "fake_odoo_rss_mb": {"idle": fake_rss_idle, "end": fake_rss_end},
        "timing": "wall clock of each `erpcommerce sync products` subprocess, start-up included "
                  "(counts.*.run_seconds: the sync_run row's own duration)",
        "profiled": bool(profile_dir),
        "targets": targets,
        "all_pass": all(verdict["pass"] for verdict in targets.values()),
        "loadavg_1m_before": round(load_before, 2),
        "loadavg_1m_after": round(os.getloadavg()[0], 2),
    }


def _positive(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return number


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_VARIANTS} variants, for a smoke run")
    parser.add_argument("--variants", type=_positive, default=None,
                        help=f"variants in the fake Odoo (default {DEFAULT_VARIANTS}; {QUICK_VARIANTS} with --quick)")
    parser.add_argument("--page-size", type=_positive, default=None,
                        help="records per page: [plugins.erp] sync_page_size and [plugins.odoo] page_size "
                             "(default: the plugins' defaults)")
    parser.add_argument("--profile", metavar="DIR", default=None,
                        help="run the syncs under cProfile: DIR/full.prof, DIR/delta.prof, DIR/delta_repeat.prof "
                             "(the times then include the profiler's overhead)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the subprocesses are stopped and the temp dir removed.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    if shutil.which("erpcommerce") is None and not Path(sys.executable).with_name("erpcommerce").exists():
        print("bench_sync: run it inside the project's virtualenv (erpcommerce not found)", file=sys.stderr)
        return 2
    print(json.dumps(run(args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
