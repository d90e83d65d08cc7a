"""Shared plumbing of the drills (``scripts/drill_*.py``): a real server, its store, its database.

A drill starts what a user would run — ``erpcommerce serve`` (and the fake Odoo, and
``erpcommerce sync products``) as subprocesses with a config file of their own — and drives them
over real HTTP. This module holds what every drill needs:

- :func:`common_arguments` (``--short``, ``--database-url`` defaulting to ``TEST_DATABASE_URL``)
  and :class:`Report` (the one JSON line of figures on stdout, violations, the exit code);
- :func:`scratch_database`: SQLite in the drill's temp dir, or a PostgreSQL database created for
  the drill on the given server and dropped after (the named database's tables are never touched);
- :func:`write_config`, :func:`prepare_store` (migrate and seed in this process, so the drill can
  then read the database directly with :func:`open_database`), :func:`run_server` and
  :func:`run_fake_odoo` (each a subprocess, stopped at the end of its block), :func:`sync_products`;
- :class:`Client`: one aiohttp session against the server, answering ``(status, json)``, with the
  storefront moves (register a customer, fill a cart, check out) the drills share.

Process helpers (free ports, the ``erpcommerce`` command line, the environment without
``ERPCOMMERCE_*`` overrides, a subprocess for the duration of a block, waiting until it answers)
come from ``scripts/bench_store.py``.
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
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from bench_store import background, environment_without_overrides, erpcommerce_command, free_port

__all__ = [
    "Client",
    "Report",
    "Store",
    "common_arguments",
    "database_kind",
    "free_port",
    "open_database",
    "prepare_store",
    "progress",
    "run_drill",
    "run_fake_odoo",
    "run_server",
    "scratch_database",
    "sync_products",
    "write_config",
]

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
SERVER_START_S = 60.0
CUSTOMER_PASSWORD_BYTES = 12


_STARTED = time.monotonic()


def progress(drill: str, message: str) -> None:
    """One line of progress on stderr (stdout carries only the figures), with the seconds elapsed."""
    print(f"[{drill} {time.monotonic() - _STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- arguments and report


def common_arguments(description: str) -> argparse.ArgumentParser:
    """``--short`` (the CI variant) and ``--database-url`` (default ``TEST_DATABASE_URL``, else SQLite)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--short", action="store_true", help="the short variant run by CI")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("TEST_DATABASE_URL") or None,
        help="a PostgreSQL server to create a scratch database on (default: TEST_DATABASE_URL, else SQLite)",
    )
    return parser


def run_drill(drill: str, args: argparse.Namespace, body: Callable[[argparse.Namespace, Path, Report], Awaitable[None]]) -> int:
    """Run ``body(args, workdir, report)`` in a temp dir; print the report's JSON line; the exit code."""
    report = Report(drill, {"short": args.short, "database": database_kind(args.database_url)})
    with tempfile.TemporaryDirectory(prefix=f"drill_{drill}_") as tmp:
        asyncio.run(body(args, Path(tmp), report))
    return report.emit()


def database_kind(url: str | None) -> str:
    """``postgres`` for a PostgreSQL URL (a scratch database is made on that server), else ``sqlite``."""
    return "postgres" if url and url.startswith(("postgres://", "postgresql://")) else "sqlite"


@dataclass
class Report:
    """The drill's figures and the assertions that failed; :meth:`emit` prints the JSON line."""

    drill: str
    figures: dict[str, Any] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    def check(self, holds: bool, message: str) -> bool:
        """Record ``message`` as a violation unless ``holds``; return ``holds``."""
        if not holds:
            self.violations.append(message)
            progress(self.drill, f"VIOLATION: {message}")
        return holds

    def emit(self) -> int:
        """Print the JSON line; the exit code (1 when an assertion failed)."""
        line = {"drill": self.drill, **self.figures, "violations": self.violations, "ok": not self.violations}
        print(json.dumps(line, default=str), flush=True)
        return 0 if not self.violations else 1


# --------------------------------------------------------------------------- databases


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@asynccontextmanager
async def scratch_database(server_url: str | None, workdir: Path, drill: str) -> AsyncIterator[str]:
    """A database URL for one drill: a SQLite file in ``workdir``, or a new PostgreSQL database.

    With a ``postgres://`` URL, ``drill_<name>_<random>`` is created on that server (connecting to
    the URL's database only to issue ``CREATE DATABASE``) and dropped when the block ends.
    """
    if not server_url or not server_url.startswith(("postgres://", "postgresql://")):
        yield f"sqlite://{workdir / 'drill.db'}"
        return
    import asyncpg  # only PostgreSQL runs need it

    name = f"drill_{drill}_{secrets.token_hex(4)}"
    admin_url = server_url.replace("postgresql://", "postgres://", 1)
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    try:
        yield _with_database(admin_url, name)
    finally:
        connection = await asyncpg.connect(admin_url)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {value!r} to TOML")


def write_config(path: Path, *, port: int, database_url: str, sections: Mapping[str, Mapping[str, Any]] = {}) -> Path:
    """A config file: production mode with a random JWT secret, the given database and port,
    generous login limits (drills log in often), plus ``sections`` (``"plugins.odoo": {...}``); with
    Odoo configured, the daily product sync off (drills sync when they mean to: one at 00:00 UTC
    would refuse theirs; the job exists only with an ERP client)."""
    merged: dict[str, dict[str, Any]] = {
        "server": {"host": HOST, "port": port, "environment": "production", "access_log": False},
        "database": {"url": database_url},
        "auth": {"jwt_secret": secrets.token_urlsafe(40), "login_attempts_per_minute": 100_000},
    }
    if "plugins.odoo" in sections:
        merged["jobs.sync-products-from-erp"] = {"enabled": False}
    for name, values in sections.items():
        merged.setdefault(name, {}).update(values)
    lines = []
    for name, values in merged.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------- the store


@dataclass
class Store:
    """A prepared store: its config file, settings and the credentials of the seed."""

    config: Path
    settings: Any  # core.config.Settings (imported lazily: the module stays cheap to import)
    base_url: str
    publishable_key: str
    admin_email: str
    admin_password: str

    @property
    def port(self) -> int:
        return int(self.settings.server.port)


async def prepare_store(config: Path, *, with_catalog: bool) -> Store:
    """Migrate the config's database and seed it (region, sales channel, key, admin; with
    ``with_catalog`` the 20 demo products), in this process, as ``erpcommerce seed`` does."""
    from core.config import load_settings
    from core.db import close_database, init_database, run_migrations
    from core.seed import seed_demo_store

    settings = load_settings(config)
    await run_migrations(settings.database)
    await init_database(settings.database)
    try:
        base_url = f"http://{HOST}:{settings.server.port}"
        seeded = await seed_demo_store(data_dir=config.parent, base_url=base_url, with_catalog=with_catalog)
    finally:
        await close_database()
    credentials = seeded.credentials.as_json()
    return Store(
        config=config,
        settings=settings,
        base_url=base_url,
        publishable_key=credentials["publishable_api_key"],
        admin_email=credentials["admin_email"],
        admin_password=credentials["admin_password"],
    )


@asynccontextmanager
async def open_database(store: Store) -> AsyncIterator[None]:
    """The store's database opened in this process (to count rows behind the server's back)."""
    from core.db import close_database, init_database

    await init_database(store.settings.database)
    try:
        yield
    finally:
        await close_database()


@contextmanager
def run_server(
    store: Store,
    log_path: Path,
    *,
    log_level: str = "INFO",
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """``erpcommerce serve`` on the store's port for the duration of the block; its log to ``log_path``."""
    env = {**environment_without_overrides(), "ERPCOMMERCE_LOG_LEVEL": log_level, **(extra_env or {})}
    command = [*erpcommerce_command(store.config), "serve"]
    with background(command, log_path, env=env) as process:
        _wait_http(f"{store.base_url}/health", process, log_path)
        yield process


def _wait_http(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    """Block until ``url`` answers 200 (only while a drill sets up: nothing else runs yet)."""
    from urllib.error import URLError
    from urllib.request import urlopen

    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url}: the process exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {SERVER_START_S:.0f} s:\n{log_path.read_text()[-3000:]}")


@contextmanager
def run_fake_odoo(port: int, log_path: Path, *, webhook_url: str | None = None, args: list[str] = ()) -> Iterator[str]:
    """The fake Odoo (``python -m erpcommerce_odoo.fake_odoo --seed demo``) for the block; its URL."""
    command = [sys.executable, "-m", "erpcommerce_odoo.fake_odoo", "--host", HOST, "--port", str(port), *args]
    if webhook_url:
        command += ["--webhook-url", webhook_url]
    url = f"http://{HOST}:{port}"
    with background(command, log_path) as process:
        _wait_http(f"{url}/fake/faults", process, log_path)
        yield url


def sync_products(store: Store, log_path: Path, *, extra: list[str] = ()) -> subprocess.CompletedProcess[str]:
    """``erpcommerce sync products`` against the store's config (a subprocess); its result."""
    command = [*erpcommerce_command(store.config), "sync", "products", *extra]
    done = subprocess.run(
        command, capture_output=True, text=True, env=environment_without_overrides(), cwd=store.config.parent
    )
    log_path.write_text(done.stdout + done.stderr)
    return done


# --------------------------------------------------------------------------- HTTP


class Client:
    """One aiohttp session against a store; every call answers ``(status, json or None)``."""

    def __init__(self, store: Store, *, limit: int = 64) -> None:
        self.store = store
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=limit), timeout=aiohttp.ClientTimeout(total=60)
        )

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.session.close()

    def headers(self, token: str | None = None, *, key: bool = True) -> dict[str, str]:
        headers = {"x-publishable-api-key": self.store.publishable_key} if key else {}
        if token:
            headers["authorization"] = f"Bearer {token}"
        return headers

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        key: bool = True,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
    ) -> tuple[int, Any]:
        """One request; the status and the decoded JSON body (None when it is not JSON)."""
        all_headers = {**self.headers(token, key=key), **(headers or {})}
        kwargs: dict[str, Any] = {"headers": all_headers}
        if data is not None:
            kwargs["data"] = data
        elif body is not None:
            kwargs["json"] = body
        async with self.session.request(method, self.store.base_url + path, **kwargs) as response:
            raw = await response.read()
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, None

    async def ok(self, method: str, path: str, body: Any = None, *, token: str | None = None) -> Any:
        """A call that must answer 2xx; its JSON body."""
        status, payload = await self.call(method, path, body, token=token)
        if not 200 <= status < 300:
            raise SystemExit(f"{method} {path} -> {status}: {payload}")
        return payload

    # -- storefront moves ------------------------------------------------------------------------

    async def admin_token(self) -> str:
        body = {"email": self.store.admin_email, "password": self.store.admin_password}
        return str((await self.ok("POST", "/auth/user/emailpass", body))["token"])

    async def register_customer(self, email: str, password: str | None = None) -> tuple[str, str, str]:
        """Register ``email`` the Medusa way and log in; ``(customer id, token, password)``."""
        password = password or secrets.token_urlsafe(CUSTOMER_PASSWORD_BYTES)
        credentials = {"email": email, "password": password}
        identity = (await self.ok("POST", "/auth/customer/emailpass/register", credentials))["token"]
        customer = (await self.ok("POST", "/store/customers", {"email": email}, token=identity))["customer"]
        token = (await self.ok("POST", "/auth/customer/emailpass", credentials))["token"]
        return str(customer["id"]), str(token), password

    async def region_id(self) -> str:
        return str((await self.ok("GET", "/store/regions"))["regions"][0]["id"])

    async def variant_ids(self, region_id: str, *, priced_untracked: bool = True, limit: int = 20) -> list[str]:
        """Variants of the listed products (with a price and no stock limit, unless told otherwise)."""
        query = f"region_id={region_id}&limit={limit}&fields=*variants.calculated_price"
        products = (await self.ok("GET", f"/store/products?{query}"))["products"]
        return [
            str(variant["id"])
            for product in products
            for variant in product["variants"]
            if not priced_untracked or (variant.get("calculated_price") and not variant.get("manage_inventory"))
        ]

    async def new_cart(self, region_id: str, email: str, *, token: str | None = None) -> str:
        body = {"region_id": region_id, "email": email}
        return str((await self.ok("POST", "/store/carts", body, token=token))["cart"]["id"])

    async def add_payment_session(self, cart_id: str, *, token: str | None = None) -> str:
        collection = (await self.ok("POST", "/store/payment-collections", {"cart_id": cart_id}, token=token))
        collection_id = str(collection["payment_collection"]["id"])
        sessions = f"/store/payment-collections/{collection_id}/payment-sessions"
        await self.ok("POST", sessions, {"provider_id": "pp_system_default"}, token=token)
        return collection_id
