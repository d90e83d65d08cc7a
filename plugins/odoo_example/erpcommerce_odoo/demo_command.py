"""The ``erpcommerce demo`` command line (the work is in :mod:`erpcommerce_odoo.demo`, imported when it runs)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from core.cli import load_command_settings

__all__ = [
    "DEFAULT_ODOO_PORT",
    "DEFAULT_PORT",
    "add_demo_command",
]

DEFAULT_PORT = 9000
DEFAULT_ODOO_PORT = 8069


def _port(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a TCP port (1-65535)")
    return port


def add_demo_command(commands: Any, options: argparse.ArgumentParser) -> None:
    """``erpcommerce demo [--port 9000] [--odoo-port 8069] [--data-dir data]``."""
    demo = commands.add_parser(
        "demo",
        parents=[options],
        help="run a fake Odoo and the server, with a store synced from it (two-way order sync included)",
    )
    demo.add_argument("--port", type=_port, default=DEFAULT_PORT, help=f"server port (default: {DEFAULT_PORT})")
    demo.add_argument(
        "--odoo-port", type=_port, default=DEFAULT_ODOO_PORT, help=f"fake Odoo port (default: {DEFAULT_ODOO_PORT})"
    )
    demo.add_argument("--data-dir", default="data", help="the store's database and credentials.json (default: data)")
    demo.set_defaults(handler=_demo_command)


def _demo_command(args: argparse.Namespace) -> int:
    from erpcommerce_odoo.demo import run_demo  # the server and the fake Odoo: only the demo needs them

    settings = load_command_settings(args, check_secrets=False)
    return asyncio.run(run_demo(settings, port=args.port, odoo_port=args.odoo_port, data_dir=Path(args.data_dir)))
