"""``python -m erpcommerce_odoo.fake_odoo``: options, and a real process answering odoorpc-style calls."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from erpcommerce_odoo.fake_odoo.__main__ import parse_args
from erpcommerce_odoo.fake_odoo.faults import parse_fault


def test_defaults_follow_the_design() -> None:
    args = parse_args([])
    assert (args.host, args.port, args.seed, args.database, args.login, args.password, args.version) == (
        "127.0.0.1", 8069, "demo", "demo", "admin", "admin", "17.0"
    )
    assert parse_args(["--seed", "100000"]).seed == 100000
    with pytest.raises(SystemExit):
        parse_args(["--seed", "lots"])


def test_fault_specs_parse() -> None:
    fault = parse_fault("serialization_failure:times=2,model=sale.order,method=create")
    assert (fault.name, fault.times, fault.model, fault.method) == ("serialization_failure", 2, "sale.order", "create")
    assert parse_fault("slow:seconds=0.5").seconds == 0.5
    with pytest.raises(ValueError):
        parse_fault("meteor_strike")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def post(url: str, params: dict[str, Any]) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "method": "call", "params": params, "id": 1}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_module_serves_a_fake_odoo() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "erpcommerce_odoo.fake_odoo", "--port", str(port), "--seed", "20", "--version", "18.0",
         "--fault", "http_429:times=1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                post(f"{base}/web/webclient/version_info", {})
                break
            except urllib.error.HTTPError as exc:
                assert exc.code == 429
                exc.close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.05)
        info = post(f"{base}/web/webclient/version_info", {})["result"]
        assert info["server_version"] == "18.0"
        uid = post(f"{base}/jsonrpc", {"service": "common", "method": "login", "args": ["demo", "admin", "admin"]})["result"]
        count = post(f"{base}/jsonrpc", {"service": "object", "method": "execute_kw", "args": [
            "demo", uid, "admin", "product.product", "search_count", [[]], {"context": {"active_test": False}}]})
        assert count["result"] == 20
    finally:
        process.terminate()
        process.communicate(timeout=10)
