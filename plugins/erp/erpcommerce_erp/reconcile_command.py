"""The ``erpcommerce reconcile`` command line (the work is in :mod:`erpcommerce_erp.reconcile`).

    erpcommerce reconcile [--products] [--orders] [--no-stock] [--json] [--limit-report N]

Exit codes: 0 no difference, 1 differences (a table, or ``--json``: one JSON document on stdout),
2 the comparison could not be made (no ERP client configured, the ERP unreachable or refusing
the store's credentials, or no part asked for could be checked): one line on stderr (and
``{"ok": false, "error": ...}`` on stdout with ``--json``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = [
    "EXIT_DIFFERENCES",
    "EXIT_ERROR",
    "EXIT_OK",
    "EXTRA_PLUGINS",
    "add_reconcile_command",
]

EXIT_OK = 0
EXIT_DIFFERENCES = 1
EXIT_ERROR = 2
# Plugins the command registers besides the installed ones (tests put a fake ERP client here).
EXTRA_PLUGINS: tuple[object, ...] = ()


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is not a count (0 or more)")
    return value


def add_reconcile_command(commands: Any, options: argparse.ArgumentParser) -> None:
    """Add ``reconcile`` to the ``erpcommerce`` command line."""
    parser = commands.add_parser(
        "reconcile", parents=[options],
        help="compare the store with the ERP (products, variants, prices, stock, archive state, orders)",
    )
    parser.add_argument("--products", action="store_true", help="only the catalogue (with stock unless --no-stock)")
    parser.add_argument("--orders", action="store_true", help="only the orders")
    parser.add_argument("--no-stock", action="store_true", help="do not compare stock levels")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    parser.add_argument("--limit-report", type=_count, default=50, metavar="N",
                        help="list at most N differences (0: all; every one is counted; default: 50)")
    parser.set_defaults(handler=_reconcile_command)


def _parts(args: argparse.Namespace) -> list[str]:
    both = not args.products and not args.orders
    parts = []
    if both or args.products:
        parts.append("products")
        if not args.no_stock:
            parts.append("stock")
    if both or args.orders:
        parts.append("orders")
    return parts


def _fail(args: argparse.Namespace, message: str) -> int:
    print(f"erpcommerce: reconcile: {message}", file=sys.stderr)
    if args.json:
        print(json.dumps({"ok": False, "error": message}))
    return EXIT_ERROR


def _reconcile_command(args: argparse.Namespace) -> int:
    from core.cli import load_command_settings, run_with_database
    from core.errors import CommerceError, ConfigError
    from core.plugins import build_plugin_manager
    from erpcommerce_erp.plugin import erp_plugin
    from erpcommerce_erp.reconcile import reconcile

    settings = load_command_settings(args, check_secrets=False)
    erp = erp_plugin(build_plugin_manager(settings, extra_plugins=EXTRA_PLUGINS))
    gateway = erp.gateway
    if gateway is None:
        return _fail(args, "no ERP client is configured (no installed plugin implements erp_client)")
    parts = _parts(args)

    async def work() -> Any:
        await gateway.client.start()
        try:
            return await reconcile(gateway, erp.settings, parts=parts, limit=args.limit_report)
        finally:
            await gateway.client.close()

    try:
        report = run_with_database(settings, work)
    except ConfigError as exc:
        return _fail(args, f"{gateway.name} refused the store's connection settings: {' '.join(str(exc).split())}")
    except CommerceError as exc:
        return _fail(args, f"cannot compare with {gateway.name}: {' '.join(exc.message.split())}")
    if set(report.unchecked) >= {part for part in parts if part != "stock"}:
        return _fail(args, "nothing could be checked: " + "; ".join(report.unchecked.values()))
    _print(args, report)
    return EXIT_DIFFERENCES if report.total else EXIT_OK


def _print(args: argparse.Namespace, report: Any) -> None:
    if args.json:
        print(json.dumps(report.as_json()))
        return
    from rich.console import Console

    from erpcommerce_erp.reconcile_report import render_report

    Console(highlight=False).print(render_report(report))
