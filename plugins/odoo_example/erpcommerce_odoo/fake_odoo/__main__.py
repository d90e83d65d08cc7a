"""``python -m erpcommerce_odoo.fake_odoo``: serve a fake Odoo.

    python -m erpcommerce_odoo.fake_odoo --port 8069 --seed demo
    python -m erpcommerce_odoo.fake_odoo --seed 100000            # 100k variants
    python -m erpcommerce_odoo.fake_odoo --fault serialization_failure:times=2,model=sale.order \\
        --webhook-url 'http://127.0.0.1:9000/erp/order-updates?token=s3cret'
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from aiohttp import web

from .faults import FAULT_NAMES, parse_fault
from .server import create_app

__all__ = [
    "main",
    "parse_args",
]


def _seed(value: str) -> str | int:
    if value == "demo":
        return value
    try:
        count = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError("--seed is 'demo' or a number of variants") from None
    if count < 0:
        raise argparse.ArgumentTypeError("--seed must not be negative")
    return count


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command-line options."""
    parser = argparse.ArgumentParser(prog="python -m erpcommerce_odoo.fake_odoo", description="A fake Odoo 17/18 server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8069)
    parser.add_argument("--seed", type=_seed, default="demo", help="'demo' or N (N product variants)")
    parser.add_argument("--database", default="demo")
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--version", default="17.0", choices=["17.0", "18.0"], help="Odoo version to emulate")
    parser.add_argument("--webhook-url", default=None, help="where sale.order state changes are posted")
    parser.add_argument("--fault", action="append", default=[], metavar="NAME[:times=N,model=M,method=X,seconds=S]",
                        help=f"switch a fault on (repeatable): {', '.join(sorted(FAULT_NAMES))}")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of RPC requests answered with HTTP 502")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every RPC request")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Build the fake from the options and serve it until interrupted."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        faults = [parse_fault(spec) for spec in args.fault]
    except ValueError as exc:
        sys.exit(f"error: {exc}")
    app = create_app(
        args.seed, database=args.database, login=args.login, password=args.password, version=args.version,
        webhook_url=args.webhook_url, faults=faults, error_rate=args.error_rate, latency=args.latency,
    )
    print(f"fake Odoo {args.version} on http://{args.host}:{args.port} database={args.database} "
          f"login={args.login} seed={args.seed}", flush=True)
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
