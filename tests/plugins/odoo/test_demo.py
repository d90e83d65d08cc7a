"""``erpcommerce demo`` as a user runs it: one command, a store synced from the fake Odoo, orders both ways.

The command runs in a subprocess on free ports with its own data folder; the test drives it over
HTTP like a storefront and an operator would, stops it with SIGTERM, and starts it again.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest

REPO = Path(__file__).resolve().parents[3]
CONSOLE_SCRIPT = Path(sys.executable).with_name("erpcommerce")
READY = "serving; Ctrl-C stops"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Demo:
    """A running ``erpcommerce demo`` and its output."""

    def __init__(self, data_dir: Path, port: int, odoo_port: int) -> None:
        self.data_dir = data_dir
        command = [
            str(CONSOLE_SCRIPT), "--config", str(REPO / "config.toml"), "demo",
            "--port", str(port), "--odoo-port", str(odoo_port), "--data-dir", str(data_dir),
        ]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=data_dir.parent
        )
        self.lines: list[str] = []
        assert self.process.stdout is not None
        deadline = time.monotonic() + 60
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith(READY) or time.monotonic() > deadline:
                break
        if not self.lines or self.lines[-1] != READY:
            self.process.kill()
            self.process.communicate()
            pytest.fail("erpcommerce demo did not start:\n" + "\n".join(self.lines))
        self.credentials: dict[str, str] = json.loads((data_dir / "credentials.json").read_text())

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        headers = {"content-type": "application/json", "x-publishable-api-key": self.credentials["publishable_api_key"]}
        if token:
            headers["authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        request = Request(self.credentials["base_url"] + path, data=data, method=method, headers=headers)
        try:
            with urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except HTTPError as error:
            return error.code, json.loads(error.read())

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        self.process.communicate(timeout=20)  # reads the rest of the output and closes the pipe
        return self.process.returncode


@pytest.fixture
def demo_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def demo(demo_dir: Path) -> Iterator[Demo]:
    running = Demo(demo_dir, free_port(), free_port())
    yield running
    if running.process.poll() is None:
        running.process.kill()
    running.process.communicate()


def complete_an_order(demo: Demo) -> str:
    _, regions = demo.call("GET", "/store/regions")
    region_id = regions["regions"][0]["id"]
    _, products = demo.call("GET", f"/store/products?region_id={region_id}")
    variant = products["products"][0]["variants"][0]
    _, cart = demo.call("POST", "/store/carts", {"region_id": region_id, "email": "buyer@example.com"})
    cart_id = cart["cart"]["id"]
    status, cart = demo.call("POST", f"/store/carts/{cart_id}/custom-line-items", {"variant_id": variant["id"], "quantity": 2})
    assert status == 200, cart
    assert cart["cart"]["items"][0]["is_custom_price"] is True
    _, collection = demo.call("POST", "/store/payment-collections", {"cart_id": cart_id})
    collection_id = collection["payment_collection"]["id"]
    demo.call("POST", f"/store/payment-collections/{collection_id}/payment-sessions", {"provider_id": "pp_system_default"})
    status, completed = demo.call("POST", f"/store/carts/{cart_id}/complete")
    assert status == 200 and completed["type"] == "order", completed
    return str(completed["order"]["id"])


def admin_order(demo: Demo, order_id: str) -> dict[str, Any]:
    _, login = demo.call(
        "POST", "/auth/user/emailpass",
        {"email": demo.credentials["admin_email"], "password": demo.credentials["admin_password"]},
    )
    _, body = demo.call("GET", f"/admin/orders/{order_id}", token=login["token"])
    return body["order"]  # type: ignore[no-any-return]


def test_demo_serves_a_store_synced_from_odoo_with_orders_both_ways(demo: Demo) -> None:
    sync_line = next(line for line in demo.lines if line.startswith("product sync from Odoo:"))
    assert " 0 failed" in sync_line and not sync_line.startswith("product sync from Odoo: 0 created")
    for key in ("base_url", "publishable_api_key", "admin_email", "admin_password", "odoo_url", "webhook_secret"):
        assert demo.credentials[key] and any(line.startswith(f"{key}:") for line in demo.lines)
    _, products = demo.call("GET", "/store/products")
    assert products["count"] > 0

    order_id = complete_an_order(demo)
    deadline = time.monotonic() + 20
    order = admin_order(demo, order_id)
    # The order goes to Odoo (sync-order-to-erp), whose confirmation comes back through the webhook.
    while "erp_last_update" not in (order.get("metadata") or {}) and time.monotonic() < deadline:
        time.sleep(0.2)
        order = admin_order(demo, order_id)
    assert order["metadata"]["external_id"] and order["metadata"]["erp_last_update"]["status"] == "sale"
    assert demo.stop() == 0


def test_demo_restarted_keeps_the_store_and_its_credentials(demo: Demo, demo_dir: Path) -> None:
    before = demo.credentials
    assert demo.stop() == 0
    again = Demo(demo_dir, free_port(), free_port())
    try:
        assert again.credentials["publishable_api_key"] == before["publishable_api_key"]
        assert again.credentials["admin_password"] == before["admin_password"]
        assert again.credentials["webhook_secret"] == before["webhook_secret"]
        sync_line = next(line for line in again.lines if line.startswith("product sync from Odoo:"))
        assert sync_line.startswith("product sync from Odoo: 0 created")
        assert again.call("GET", "/store/products")[1]["count"] > 0
    finally:
        assert again.stop() == 0
