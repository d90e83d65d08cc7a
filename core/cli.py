"""The ``erpcommerce`` command line (also ``python -m core``).

Every command accepts ``--config PATH`` (default ``./config.toml``) and ``--log-level LEVEL``,
before or after the command name. The commands only parse arguments and print; the work is done
by :mod:`core.db`, :mod:`core.seed`, :mod:`core.users` and :mod:`core.plugins`.

Exit codes: 0 success, 1 the command failed (message on stderr), 2 bad usage or bad configuration
(one line naming the key, no traceback).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.log import access_logger
from tortoise.exceptions import DBConnectionError

from core.config import Settings, load_settings
from core.db import close_database, init_database, run_migrations
from core.errors import CommerceError, ConfigError
from core.logs import configure_logging, configured_secrets

__all__ = [
    "EXIT_CONFIG",
    "EXIT_FAILED",
    "EXIT_OK",
    "build_parser",
    "load_command_settings",
    "main",
    "run_with_database",
]

log = logging.getLogger("erpcommerce")

T = TypeVar("T")
Command = Callable[[argparse.Namespace], int]

# Remote address, request line, status, bytes, seconds; each also a field of the log line.
ACCESS_LOG_FORMAT = '%a "%r" %s %b %Tf'
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2


# -------------------------------------------------------------------------------------------------
# Shared steps
# -------------------------------------------------------------------------------------------------


def load_command_settings(args: argparse.Namespace, *, check_secrets: bool) -> Settings:
    """Load the configuration (``--config``) and set up logging (``--log-level``, secrets masked).

    For every command, plugins' too (see the ``add_commands`` hook).
    """
    settings = load_settings(args.config, check_secrets=check_secrets)
    configure_logging(args.log_level, secrets=configured_secrets(settings))
    return settings



def _migrate(settings: Settings) -> list[str]:
    applied = asyncio.run(run_migrations(settings.database))
    for name in applied:
        log.info("migration applied", extra={"migration": name})
    return applied


def run_with_database(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    """Migrate, then run ``work`` with the database open (in a new event loop); its result."""
    _migrate(settings)

    async def run() -> T:
        await init_database(settings.database)
        try:
            return await work()
        finally:
            await close_database()

    return asyncio.run(run())



# -------------------------------------------------------------------------------------------------
# Commands
# -------------------------------------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    from core.app import create_app  # the app pulls in every route module; only serve needs it

    settings = load_command_settings(args, check_secrets=True)
    host = args.host or settings.server.host
    port = args.port or settings.server.port
    _migrate(settings)
    app = create_app(settings)

    def announce(_: str) -> None:
        environment = settings.server.environment
        log.info("server started", extra={"url": f"http://{host}:{port}", "environment": environment})

    # run_app stops gracefully (finishing requests, closing the database) on SIGINT and SIGTERM.
    web.run_app(
        app,
        host=host,
        port=port,
        access_log=access_logger if settings.server.access_log else None,
        access_log_format=ACCESS_LOG_FORMAT,
        print=announce,
        handle_signals=True,
    )
    log.info("server stopped")
    return EXIT_OK


def _worker(args: argparse.Namespace) -> int:
    from redis.exceptions import RedisError

    from core.db import pending_migrations
    from core.worker import run_worker  # arq and the durable engine: only the worker needs them

    settings = load_command_settings(args, check_secrets=False)
    if not settings.redis.url:
        raise ConfigError(
            "redis.url: empty, and `erpcommerce worker` needs Redis; set [redis] url "
            "(or ERPCOMMERCE_REDIS__URL). Without Redis, `erpcommerce serve` runs workflows itself.",
            key="redis.url",
        )
    pending = asyncio.run(pending_migrations(settings.database))
    if pending:
        print(
            f"erpcommerce: the database is not migrated ({', '.join(pending)} pending): "
            "run `erpcommerce migrate` first",
            file=sys.stderr,
        )
        return EXIT_FAILED
    try:
        asyncio.run(run_worker(settings))
    except RedisError as exc:
        print(f"erpcommerce: cannot use Redis ([redis] url): {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _migrate_command(args: argparse.Namespace) -> int:
    settings = load_command_settings(args, check_secrets=False)
    applied = _migrate(settings)
    if applied:
        for name in applied:
            print(f"applied {name}")
    else:
        print("no migrations to apply: the database is up to date")
    return EXIT_OK


def _seed(args: argparse.Namespace) -> int:
    from core.seed import public_base_url, seed_demo_store

    settings = load_command_settings(args, check_secrets=False)
    data_dir = Path(args.data_dir)
    result = run_with_database(
        settings, lambda: seed_demo_store(data_dir=data_dir, base_url=public_base_url(settings.server))
    )
    print(f"created: {', '.join(result.created)}" if result.created else "created: nothing (already seeded)")
    if result.admin_status == "reset":
        print(
            f"the admin user existed but its password could not be read back from {result.credentials_path}: "
            "it was reset to the one below"
        )
    credentials = result.credentials
    print(f"base_url:            {credentials.base_url}")
    print(f"publishable_api_key: {credentials.publishable_api_key}")
    print(f"admin_email:         {credentials.admin_email}")
    print(f"admin_password:      {credentials.admin_password}")
    print(f"written to {result.credentials_path}")
    return EXIT_OK


def _plugins(args: argparse.Namespace) -> int:
    from core.plugins import build_plugin_manager, describe_plugins

    settings = load_command_settings(args, check_secrets=False)
    for info in describe_plugins(build_plugin_manager(settings)):
        origin = info.distribution or "built in"
        print(f"{info.name} ({origin})")
        print(f"    hooks: {', '.join(info.hooks) or '-'}")
    return EXIT_OK


def _create_user(args: argparse.Namespace) -> int:
    from core.users import create_admin_user

    settings = load_command_settings(args, check_secrets=False)
    user = run_with_database(settings, lambda: create_admin_user(args.email, args.password))
    print(f"created admin user {user.email} ({user.id})")
    return EXIT_OK


# -------------------------------------------------------------------------------------------------
# Workflow runs (``runs``, ``runs show``, ``retry``)
# -------------------------------------------------------------------------------------------------


def _print(renderable: object) -> None:
    from rich.console import Console

    Console(highlight=False).print(renderable)


def _runs(args: argparse.Namespace) -> int:
    from core.runs import list_runs, render_runs

    settings = load_command_settings(args, check_secrets=False)
    # A run that failed and was compensated ends "reverted": for an operator both are failures.
    state = ("failed", "reverted") if args.failed else args.state
    runs = run_with_database(settings, lambda: list_runs(state=state, workflow=args.workflow, limit=args.limit))
    _print(render_runs(runs))
    return EXIT_OK


def _runs_show(args: argparse.Namespace) -> int:
    from core.runs import load_run_detail, render_run_detail

    settings = load_command_settings(args, check_secrets=False)
    detail = run_with_database(settings, lambda: load_run_detail(args.run_id))
    _print(render_run_detail(detail))
    return EXIT_OK


def _retry(args: argparse.Namespace) -> int:
    from core.plugins import build_plugin_manager
    from core.workflows.durable import Engine

    settings = load_command_settings(args, check_secrets=False)
    engine = Engine(settings=settings, plugins=build_plugin_manager(settings))
    run = run_with_database(settings, lambda: engine.retry(args.run_id))
    runner = "the workers" if settings.redis.url else "the server's embedded runner"
    print(f"run {run.id} is {run.state} again: {runner} will pick it up "
          f"(within {settings.workflows.recovery_interval_seconds:g} s)")
    return EXIT_OK


def _limit(text: str) -> int:
    limit = int(text)
    if limit < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return limit


def _add_run_commands(commands: Any, options: argparse.ArgumentParser) -> None:
    from core.runs import RUN_STATES

    runs = commands.add_parser("runs", parents=[options], help="list durable workflow runs, newest first")
    runs.add_argument("--state", choices=RUN_STATES, help="only runs in this state")
    runs.add_argument("--failed", action="store_true", help="runs that did not succeed: failed or reverted")
    runs.add_argument("--workflow", metavar="NAME", help="only runs of this workflow")
    runs.add_argument("--limit", type=_limit, default=50, metavar="N", help="at most N runs (default: 50)")
    runs.set_defaults(handler=_runs)
    runs_commands = runs.add_subparsers(dest="runs_command", metavar="COMMAND")
    show = runs_commands.add_parser("show", parents=[options], help="a run with its steps and compensations")
    show.add_argument("run_id", metavar="RUN_ID")
    show.set_defaults(handler=_runs_show)

    retry = commands.add_parser("retry", parents=[options], help="re-run a failed, reverted or canceled run")
    retry.add_argument("run_id", metavar="RUN_ID")
    retry.set_defaults(handler=_retry)


# -------------------------------------------------------------------------------------------------
# Syncs (``sync NAME``)
# -------------------------------------------------------------------------------------------------

# Plugins ``sync`` registers besides the installed ones (tests put a fake ERP client here).
SYNC_EXTRA_PLUGINS: tuple[object, ...] = ()


def _sync(args: argparse.Namespace) -> int:
    from core.plugins import build_plugin_manager
    from core.sync_console import run_sync_command

    settings = load_command_settings(args, check_secrets=False)
    plugins = build_plugin_manager(settings, extra_plugins=SYNC_EXTRA_PLUGINS)
    row = run_with_database(
        settings, lambda: run_sync_command(settings, plugins, args.name, full=args.full, dry_run=args.dry_run)
    )
    if row.state != "succeeded":
        print(f"erpcommerce: sync {row.name} failed: {_one_line(row.error or row.state)}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _add_sync_command(commands: Any, options: argparse.ArgumentParser) -> None:
    sync = commands.add_parser(
        "sync", parents=[options], help="run a sync from another system now (products), with a progress bar"
    )
    sync.add_argument("name", metavar="NAME", help="the sync to run (products)")
    sync.add_argument("--full", action="store_true", help="read everything again, archive what is no longer listed")
    sync.add_argument("--dry-run", action="store_true", help="read and count, write nothing")
    sync.set_defaults(handler=_sync)


# -------------------------------------------------------------------------------------------------
# Parsing and running
# -------------------------------------------------------------------------------------------------


def _global_options(default: object) -> argparse.ArgumentParser:
    """``--config`` and ``--log-level``; each parser needs its own copy (``parents`` shares actions)."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--config",
        metavar="PATH",
        default=default,
        help="configuration file (default: ./config.toml when it exists)",
    )
    options.add_argument(
        "--log-level",
        metavar="LEVEL",
        default=default,
        help="debug, info, warning, error (default: $ERPCOMMERCE_LOG_LEVEL or info)",
    )
    return options


def _port(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a TCP port (1-65535)")
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="erpcommerce", description="The erpcommerce commerce server.", parents=[_global_options(None)]
    )
    # SUPPRESS: an option given after the command name overrides one given before; absent, it leaves it.
    options = _global_options(argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser("serve", parents=[options], help="migrate, then run the HTTP server")
    serve.add_argument("--host", help="listen address (default: server.host)")
    serve.add_argument("--port", type=_port, help="listen port (default: server.port)")
    serve.set_defaults(handler=_serve)

    worker = commands.add_parser(
        "worker", parents=[options], help="run an arq worker: workflow runs, events, scheduled jobs (needs Redis)"
    )
    worker.set_defaults(handler=_worker)

    migrate = commands.add_parser("migrate", parents=[options], help="apply pending database migrations")
    migrate.set_defaults(handler=_migrate_command)

    seed = commands.add_parser("seed", parents=[options], help="create a demo store (idempotent)")
    seed.add_argument("--data-dir", default="data", help="where credentials.json is written (default: data)")
    seed.set_defaults(handler=_seed)

    plugins = commands.add_parser("plugins", parents=[options], help="list plugins and their hooks")
    plugins.set_defaults(handler=_plugins)

    admin = commands.add_parser("admin", parents=[options], help="administration tasks")
    admin_commands = admin.add_subparsers(dest="admin_command", metavar="COMMAND", required=True)
    create_user = admin_commands.add_parser("create-user", parents=[options], help="create an admin user")
    create_user.add_argument("--email", required=True)
    create_user.add_argument("--password", required=True)
    create_user.set_defaults(handler=_create_user)
    _add_run_commands(commands, options)
    _add_sync_command(commands, options)
    _add_plugin_commands(commands, options)
    return parser


def _add_plugin_commands(commands: Any, options: argparse.ArgumentParser) -> None:
    """The installed plugins' commands (``add_commands``); a plugin that fails to load is reported, not fatal."""
    from core.plugins import command_plugin_manager

    try:
        plugins = command_plugin_manager()
        plugins.hook.add_commands(commands=commands, options=options)
    except Exception as exc:  # a broken plugin must not take the core commands down with it
        print(f"erpcommerce: plugin commands unavailable: {_one_line(str(exc)) or exc!r}", file=sys.stderr)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code."""
    args = build_parser().parse_args(argv)
    handler: Command = args.handler
    try:
        return handler(args)
    except ConfigError as exc:
        print(f"erpcommerce: configuration error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_CONFIG
    except CommerceError as exc:
        print(f"erpcommerce: {_one_line(exc.message)}", file=sys.stderr)
        return EXIT_FAILED
    except (DBConnectionError, OSError) as exc:
        print(f"erpcommerce: {_one_line(str(exc)) or exc.__class__.__name__}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
