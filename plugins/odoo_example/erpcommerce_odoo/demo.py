"""``erpcommerce demo``: a fake Odoo, the server and its in-process runner, a store synced from Odoo.

One command (DESIGN §9) that starts, in one process:

1. the fake Odoo (:mod:`erpcommerce_odoo.fake_odoo`) on ``127.0.0.1:<odoo port>`` with the demo
   catalogue, its ``sale.order`` webhooks pointed at the server's ``/erp/order-updates?token=...``;
2. the server on ``127.0.0.1:<port>`` on the embedded default: SQLite under ``<data dir>``, the
   in-process workflow runner, ``[plugins.odoo]`` pointed at the fake;
3. the store: a region, a sales channel, a publishable key and an admin user (no catalogue of its
   own: the first product sync brings Odoo's), then that sync;

and prints (and writes to ``<data dir>/credentials.json``) ``base_url``, ``publishable_api_key``,
``admin_email``, ``admin_password``, ``odoo_url`` and ``webhook_secret``. Restarting it keeps the
store's data (the webhook secret and the admin password are read back from the credentials); the
fake Odoo starts from its seed again.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
from pathlib import Path
from typing import Any

from aiohttp import web

from core.app import create_app
from core.cli import EXIT_FAILED, EXIT_OK
from core.config import DatabaseSettings, Settings
from core.db import run_migrations
from core.errors import CommerceError
from core.keys import ENGINE
from core.models import SyncRun
from core.seed import CREDENTIALS_FILE, read_credentials, seed_demo_store
from core.syncs import start_sync
from erpcommerce_odoo.fake_odoo.server import create_app as create_fake_odoo

__all__ = [
    "demo_settings",
    "run_demo",
]

log = logging.getLogger("erpcommerce.demo")

HOST = "127.0.0.1"
SYNC_POLL_SECONDS = 0.2


def _webhook_secret(data_dir: Path) -> str:
    """The secret of an earlier run (so a restarted demo keeps it), else a new one."""
    previous = read_credentials(data_dir / CREDENTIALS_FILE) or {}
    secret = previous.get("webhook_secret")
    return secret if isinstance(secret, str) and len(secret) >= 32 else secrets.token_urlsafe(32)


def demo_settings(settings: Settings, *, port: int, odoo_port: int, data_dir: Path, webhook_secret: str) -> Settings:
    """``settings`` turned into the demo's: embedded default under ``data_dir``, Odoo = the fake."""
    plugins = dict(settings.plugins)
    plugins["odoo"] = {
        **plugins.get("odoo", {}),
        "url": f"http://{HOST}:{odoo_port}",
        "database": "demo",
        "login": "admin",
        "password": "admin",
    }
    return settings.model_copy(
        update={
            "server": settings.server.model_copy(update={"host": HOST, "port": port}),
            "database": DatabaseSettings(url=f"sqlite://{data_dir}/erpcommerce.db"),
            "redis": settings.redis.model_copy(update={"url": ""}),
            "erp": settings.erp.model_copy(update={"webhook_secret": webhook_secret}),
            "plugins": plugins,
        }
    )


async def _start_site(app: web.Application, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, HOST, port).start()
    except OSError as exc:
        await runner.cleanup()
        raise CommerceError(f"cannot listen on {HOST}:{port}: {exc.strerror or exc}") from None
    return runner


async def _first_sync(app: web.Application) -> SyncRun:
    """Run the products sync through the server's own runner and wait for its end."""
    sync_run = await start_sync(app[ENGINE], "products", trigger="demo")
    while sync_run.state == "running":
        await asyncio.sleep(SYNC_POLL_SECONDS)
        sync_run = await SyncRun.get(id=sync_run.id)
    return sync_run


def _wait_for_stop() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def run_demo(settings: Settings, *, port: int, odoo_port: int, data_dir: Path) -> int:
    """Start everything, seed, sync, print the credentials, serve until SIGINT or SIGTERM."""
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = _webhook_secret(data_dir)
    settings = demo_settings(settings, port=port, odoo_port=odoo_port, data_dir=data_dir, webhook_secret=secret)
    base_url = f"http://{HOST}:{port}"
    odoo_url = f"http://{HOST}:{odoo_port}"
    for name in await run_migrations(settings.database):
        log.info("migration applied", extra={"migration": name})
    stop = _wait_for_stop()
    webhook_url = f"{base_url}/erp/order-updates?token={secret}"
    fake = await _start_site(create_fake_odoo(seed="demo", webhook_url=webhook_url), odoo_port)
    try:
        server = await _start_site(create_app(settings), port)
        try:
            seeded = await seed_demo_store(
                data_dir=data_dir,
                base_url=base_url,
                with_catalog=False,
                extra_credentials={"odoo_url": odoo_url, "webhook_secret": secret},
            )
            sync_run = await _first_sync(server.app)
            _print_summary(seeded.credentials.as_json(), seeded.credentials_path, sync_run)
            await stop.wait()
        finally:
            await server.cleanup()
    finally:
        await fake.cleanup()
    return EXIT_OK if sync_run.state == "succeeded" else EXIT_FAILED


def _print_summary(credentials: dict[str, str], path: Path, sync_run: SyncRun) -> None:
    if sync_run.state == "succeeded":
        print(
            f"product sync from Odoo: {sync_run.created} created, {sync_run.updated} updated, "
            f"{sync_run.archived} archived, {sync_run.failed} failed"
        )
    else:
        print(f"product sync from Odoo failed: {sync_run.error} (see `erpcommerce runs --failed`)")
    width = max(len(name) for name in credentials) + 1
    for name, value in credentials.items():
        print(f"{name + ':':<{width}} {value}")
    print(f"written to {path}")
    print(f"dashboard: {credentials['base_url']}/dashboard (log in as the admin above)")
    print("serving; Ctrl-C stops")
