"""Webhook drill: bad, stale, replayed and malformed deliveries to ``POST /erp/order-updates``.

For each of the two forms (README "The webhook"), a real ``erpcommerce serve`` synced from the
fake Odoo, with orders placed through the storefront and sent to the fake (so they have ERP ids):

- **token** — the Odoo client as shipped (``?token=<webhook_secret>``, Odoo's automation-rule
  JSON), the fake Odoo posting its own order webhooks to the server;
- **signed** — the same Odoo client with ``webhook_mode = "signed"`` and the contract's default
  parser (``X-Erp-Timestamp`` / ``X-Erp-Signature``, the signed JSON body), loaded by the server
  as an installed plugin (an entry point in a temporary ``.dist-info`` on ``PYTHONPATH``).

Then N deliveries (10,000; ``--short``: 1,000), 32 at a time: no or wrong credentials, signatures
of another body or secret, stale and future timestamps, malformed signature headers; bodies that
are authenticated but malformed (random bytes, cut JSON, scalars, missing or mistyped fields,
deep nesting, NUL characters, over-long ids); bodies over ``max_body_bytes``. Each must answer
401, 400 or 413 as documented — never 5xx, never 2xx — and leave no trace: the counts of
``webhook_event`` rows, their deliveries and ``workflow_run`` rows, and every order, are the same
before and after. Last, one valid update is delivered 10 times (5 at once, then 5 in a row, each
freshly signed): one 202, nine 200 ``duplicate``, one event row counting 10 deliveries, one run,
and the order changed once.

    python scripts/drill_webhook.py [--short] [--database-url postgres://...]

Prints one JSON line of figures per form; exits 1 when an assertion fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drill_support import (
    Client,
    Report,
    common_arguments,
    free_port,
    open_database,
    prepare_store,
    progress,
    run_drill,
    run_fake_odoo,
    run_server,
    scratch_database,
    sync_products,
    write_config,
)
from erpcommerce_erp.contract import ErpClient
from erpcommerce_erp.hookspecs import erp_hookimpl
from erpcommerce_odoo.client import OdooClient

DRILL = "webhook"
PATH = "/erp/order-updates"
MAX_BODY_BYTES = 65_536
CONCURRENCY = 32
SETTLE_S = 60.0
EXAMPLES_KEPT = 10


# --------------------------------------------------------------------------- the signed form's client


class SignedOdooClient(OdooClient):
    """Odoo's client with the signed webhook form and the contract's own parser of it."""

    webhook_mode = "signed"
    parse_order_update = ErpClient.parse_order_update


class SignedOdooPlugin:
    """Supplies :class:`SignedOdooClient` ahead of the Odoo plugin's client (same settings)."""

    @erp_hookimpl(tryfirst=True)
    def erp_client(self) -> ErpClient | None:
        from erpcommerce_odoo.plugin import plugin as odoo

        if odoo.settings is None:
            return None
        if getattr(self, "_client", None) is None:
            self._client = SignedOdooClient(odoo.settings)
        return self._client


signed_odoo_plugin = SignedOdooPlugin()


def install_signed_plugin(directory: Path) -> dict[str, str]:
    """An entry point for :data:`signed_odoo_plugin` in ``directory``; the environment that finds it."""
    info = directory / "drill_signed_odoo-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: drill-signed-odoo\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[erpcommerce.plugins]\ndrill_signed_odoo = drill_webhook:signed_odoo_plugin\n")
    scripts = str(Path(__file__).resolve().parent)
    path = os.pathsep.join(filter(None, [str(directory), scripts, os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": path}


# --------------------------------------------------------------------------- deliveries


@dataclass
class Delivery:
    """One request to the webhook and the answers the documentation allows for it."""

    category: str
    body: bytes
    headers: dict[str, str]
    query: str
    expected: tuple[int, ...]


class Sender:
    """Builds deliveries in one form with the right (or a deliberately wrong) credentials."""

    def __init__(self, mode: str, secret: str, external_id: str, rng: random.Random) -> None:
        self.mode, self.secret, self.external_id, self.rng = mode, secret, external_id, rng

    def valid_body(self, status: str = "sale", event_id: str | None = None) -> bytes:
        if self.mode == "token":
            return json.dumps({"_model": "sale.order", "_id": int(self.external_id), "state": status}).encode()
        event = event_id or f"evt-{secrets.token_hex(8)}"
        order = {"external_id": self.external_id, "status": status}
        return json.dumps({"event_id": event, "type": "order.updated", "order": order}).encode()

    def signed(self, body: bytes, *, at: int | None = None, secret: str | None = None) -> dict[str, str]:
        from core.webhooks import sign

        timestamp = int(time.time()) if at is None else at
        return {"X-Erp-Timestamp": str(timestamp), "X-Erp-Signature": sign(secret or self.secret, timestamp, body)}

    def authenticated(self, category: str, body: bytes, expected: tuple[int, ...] = (400,)) -> Delivery:
        if self.mode == "token":
            return Delivery(category, body, {}, f"?token={self.secret}", expected)
        return Delivery(category, body, self.signed(body), "", expected)

    # -- credentials that must be refused (401) --------------------------------------------------

    def bad_credentials(self) -> Delivery:
        body = self.valid_body()
        now = int(time.time())
        rng = self.rng
        if self.mode == "token":
            wrong = rng.choice([
                "", self.secret[:-1], self.secret + "x", self.secret.upper() if self.secret.upper() != self.secret else "X",
                secrets.token_urlsafe(32), self.secret[::-1], "%00" + self.secret, self.secret + "%00", "é" * 10,
            ])
            choice = rng.randrange(4)
            if choice == 0:
                return Delivery("no_token", body, {}, "", (401,))
            if choice == 1:
                return Delivery("signed_not_token", body, self.signed(body), "", (401,))
            if choice == 2:
                return Delivery("token_in_header", body, {"X-Erp-Token": self.secret}, "", (401,))
            return Delivery("wrong_token", body, {}, f"?token={wrong}", (401,))
        choice = rng.randrange(8)
        if choice == 0:
            return Delivery("no_signature", body, {}, "", (401,))
        if choice == 1:
            return Delivery("wrong_signature", body, {"X-Erp-Timestamp": str(now), "X-Erp-Signature": f"sha256={secrets.token_hex(32)}"}, "", (401,))
        if choice == 2:
            return Delivery("other_body_signature", body, self.signed(self.valid_body()), "", (401,))
        if choice == 3:
            return Delivery("wrong_secret", body, self.signed(body, secret=secrets.token_urlsafe(32)), "", (401,))
        if choice == 4:
            return Delivery("stale", body, self.signed(body, at=now - rng.randint(301, 10**7)), "", (401,))
        if choice == 5:
            return Delivery("future", body, self.signed(body, at=now + rng.randint(301, 10**7)), "", (401,))
        if choice == 6:
            return Delivery("token_not_signed", body, {}, f"?token={self.secret}", (401,))
        good = self.signed(body)
        header = rng.choice([
            {"X-Erp-Timestamp": "abc", "X-Erp-Signature": good["X-Erp-Signature"]},
            {"X-Erp-Timestamp": good["X-Erp-Timestamp"] + ".5", "X-Erp-Signature": good["X-Erp-Signature"]},
            {"X-Erp-Timestamp": good["X-Erp-Timestamp"], "X-Erp-Signature": good["X-Erp-Signature"].replace("sha256", "sha1")},
            {"X-Erp-Timestamp": good["X-Erp-Timestamp"], "X-Erp-Signature": "sha256="},
            {"X-Erp-Timestamp": good["X-Erp-Timestamp"], "X-Erp-Signature": "sha256=" + "zz" * 32},
            {"X-Erp-Timestamp": good["X-Erp-Timestamp"], "X-Erp-Signature": good["X-Erp-Signature"][7:]},
            {"X-Erp-Timestamp": "9" * 40, "X-Erp-Signature": good["X-Erp-Signature"]},
            {"X-Erp-Signature": good["X-Erp-Signature"]},
            {"X-Erp-Timestamp": good["X-Erp-Timestamp"]},
        ])
        return Delivery("malformed_signature", body, header, "", (401,))

    # -- authenticated bodies that must be refused (400 / 413) -----------------------------------

    def malformed(self) -> Delivery:
        rng = self.rng
        generators: list[Callable[[], bytes]] = [
            lambda: rng.randbytes(rng.randint(0, 2000)),
            lambda: self.valid_body()[: rng.randint(0, len(self.valid_body()) - 1)],
            lambda: rng.choice([b"", b"null", b"true", b"1", b"-1.5e999", b'"x"', b"[]", b"[{}]", b"{}", b"NaN"]),
            lambda: b"[" * rng.randint(1000, 60000) + b"]" * rng.randint(0, 10),
            lambda: b'{"a":' * rng.randint(1000, 12000),
            lambda: rng.choice([b"\xff\xfe{}", b'{"_model": "\xff"}', b"\x00" * 10, "{\"é\": 1}".encode("utf-16")]),
            self._mistyped,
        ]
        return self.authenticated("malformed_body", rng.choice(generators)())

    def _mistyped(self) -> bytes:
        rng = self.rng
        if self.mode == "token":
            payload: dict[str, Any] = {"_model": "sale.order", "_id": int(self.external_id), "state": "sale"}
            key, value = rng.choice([
                ("_model", "res.partner"), ("_model", None), ("_id", "42"), ("_id", 0), ("_id", -3), ("_id", True),
                ("_id", 1.5), ("_id", None), ("_id", [1]), ("state", ""), ("state", None), ("state", 7),
                ("state", ["sale"]), ("state", {"a": 1}), ("state", "sa\u0000le"), ("_model", "sale.order\u0000"),
            ])
            payload[key] = value
            if rng.random() < 0.2:
                payload.pop(rng.choice(["_model", "_id", "state"]), None)
            return json.dumps(payload).encode()
        order: dict[str, Any] = {"external_id": self.external_id, "status": "sale"}
        payload = {"event_id": f"bad-{secrets.token_hex(4)}", "type": "order.updated", "order": order}
        target, key, value = rng.choice([
            (payload, "event_id", ""), (payload, "event_id", 5), (payload, "event_id", None),
            (payload, "event_id", "x" * 256), (payload, "event_id", "evt\u0000nul"), (order, "status", "sa\u0000le"),
            (order, "external_id", "1\u0000"), (payload, "type", "order.created"), (payload, "type", None),
            (payload, "order", []), (payload, "order", "x"), (payload, "order", None),
            (order, "external_id", None), (order, "external_id", [1]), (order, "status", None),
            (order, "status", 3), (order, "metadata", "x"), (order, "metadata", [1]), (order, "fulfillment_status", 1),
        ])
        target[key] = value
        return json.dumps(payload).encode()

    def oversize(self) -> Delivery:
        body = b'{"pad": "' + b"x" * (MAX_BODY_BYTES + self.rng.randint(1, 4096)) + b'"}'
        return self.authenticated("oversize", body, (413,))

    def next(self) -> Delivery:
        roll = self.rng.random()
        if roll < 0.45:
            return self.bad_credentials()
        if roll < 0.98:
            return self.malformed()
        return self.oversize()


# --------------------------------------------------------------------------- effects


async def effects() -> dict[str, Any]:
    """What a delivery could have changed: event rows and deliveries, runs, every order."""
    from core.models import Order, WebhookEvent, WorkflowRunRecord

    events = await WebhookEvent.all().values_list("event_id", "deliveries")
    orders = await Order.all().order_by("id").values("id", "status", "fulfillment_status", "metadata", "canceled_at")
    return {
        "events": len(events),
        "deliveries": sum(deliveries for _, deliveries in events),
        "runs": await WorkflowRunRecord.all().count(),
        "orders": json.dumps(orders, default=str, sort_keys=True),
    }


async def settle() -> None:
    """Wait until no run is pending or running and the effects stop changing for half a second."""
    from core.models import WorkflowRunRecord

    deadline = time.monotonic() + SETTLE_S
    last: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        busy = await WorkflowRunRecord.filter(state__in=("pending", "invoking", "compensating")).count()
        now = await effects()
        if busy == 0 and now == last:
            return
        last = now
        await asyncio.sleep(0.5)
    raise SystemExit("the store did not settle (runs still pending)")


# --------------------------------------------------------------------------- one form


async def place_orders(client: Client, count: int) -> list[str]:
    region = await client.region_id()
    variants = (await client.variant_ids(region, priced_untracked=False))[:3]
    orders = []
    for number in range(count):
        cart = await client.new_cart(region, f"buyer{number}@example.com")
        await client.ok("POST", f"/store/carts/{cart}/custom-line-items", {"variant_id": variants[number % len(variants)], "quantity": 1})
        await client.add_payment_session(cart)
        orders.append(str((await client.ok("POST", f"/store/carts/{cart}/complete"))["order"]["id"]))
    return orders


async def external_ids(client: Client, orders: list[str]) -> list[str]:
    """The ERP ids of the orders, once the order sync has stored them."""
    token = await client.admin_token()
    deadline = time.monotonic() + SETTLE_S
    while time.monotonic() < deadline:
        found = []
        for order in orders:
            metadata = (await client.ok("GET", f"/admin/orders/{order}", token=token))["order"].get("metadata") or {}
            found.append(metadata.get("external_id"))
        if all(found):
            return [str(value) for value in found]
        await asyncio.sleep(0.3)
    raise SystemExit(f"orders {orders} did not reach the fake Odoo")


async def bombard(client: Client, sender: Sender, count: int, report: Report, mode: str) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    unexpected: list[str] = []
    max_ms = 0.0
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(delivery: Delivery) -> None:
        nonlocal max_ms
        async with limit:
            started = time.perf_counter()
            status, body = await client.call("POST", PATH + delivery.query, key=False, headers=delivery.headers, data=delivery.body)
            max_ms = max(max_ms, (time.perf_counter() - started) * 1000)
        statuses[str(status)] += 1
        categories[delivery.category] += 1
        if status not in delivery.expected and len(unexpected) < EXAMPLES_KEPT:
            unexpected.append(f"{delivery.category} -> {status} {str(body)[:200]} (body {delivery.body[:80]!r})")

    await asyncio.gather(*(one(sender.next()) for _ in range(count)))
    wrong = sum(n for status, n in statuses.items() if status not in ("400", "401", "413"))
    report.check(not unexpected, f"{mode}: deliveries answered other than documented: {unexpected}")
    return {"deliveries": count, "statuses": dict(sorted(statuses.items())), "categories": dict(sorted(categories.items())),
            "server_errors": sum(n for status, n in statuses.items() if status.startswith("5")),
            "accepted": sum(n for status, n in statuses.items() if status.startswith("2")),
            "unexpected": wrong, "max_latency_ms": round(max_ms, 1)}


async def replay(client: Client, sender: Sender, report: Report, mode: str) -> dict[str, Any]:
    """One valid update delivered 10 times: one effect."""
    from core.models import Order, WebhookEvent, WorkflowRunRecord

    body = sender.valid_body("done", event_id=f"drill-replay-{secrets.token_hex(4)}")
    deliveries = [sender.authenticated("replay", body, (200, 202)) for _ in range(5)]
    answers = await asyncio.gather(*(client.call("POST", PATH + d.query, key=False, headers=d.headers, data=d.body) for d in deliveries))
    for _ in range(5):
        delivery = sender.authenticated("replay", body, (200, 202))  # freshly signed: a replay, not a stale capture
        answers.append(await client.call("POST", PATH + delivery.query, key=False, headers=delivery.headers, data=delivery.body))
    statuses = Counter(status for status, _ in answers)
    event_ids = {answer["event_id"] for _, answer in answers if answer}
    report.check(statuses == Counter({202: 1, 200: 9}), f"{mode}: 10 deliveries of one update answered {dict(statuses)}")
    report.check(all(answer and answer.get("status") in ("accepted", "duplicate") for _, answer in answers), f"{mode}: {answers}")
    await settle()
    (event_id,) = event_ids
    event = await WebhookEvent.get(event_id=event_id)
    runs = await WorkflowRunRecord.filter(id=event.run_id).values_list("state", flat=True)
    orders = [o for o in await Order.all().values("status", "metadata")
              if (o["metadata"] or {}).get("external_id") == sender.external_id]
    applied = [o for o in orders if (o["metadata"] or {}).get("erp_last_update", {}).get("event_id") == event_id]
    report.check(event.deliveries == 10 and list(runs) == ["done"] and len(applied) == 1 and applied[0]["status"] == "completed",
                 f"{mode}: replayed event: deliveries {event.deliveries}, runs {list(runs)}, orders applied {applied}")
    return {"answers": {str(k): v for k, v in sorted(statuses.items())}, "deliveries_recorded": event.deliveries,
            "runs": len(runs), "orders_changed": len(applied)}


async def drill_form(mode: str, args: Any, workdir: Path, report: Report, count: int) -> dict[str, Any]:
    secret = secrets.token_urlsafe(32)
    port, odoo_port = free_port(), free_port()
    webhook_url = f"http://127.0.0.1:{port}{PATH}?token={secret}" if mode == "token" else None
    env = install_signed_plugin(workdir / "site") if mode == "signed" else {}
    async with scratch_database(args.database_url, workdir, f"{DRILL}_{mode}") as database_url:
        with run_fake_odoo(odoo_port, workdir / "odoo.log", webhook_url=webhook_url) as odoo_url:
            config = write_config(workdir / "config.toml", port=port, database_url=database_url, sections={
                "server": {"max_body_bytes": MAX_BODY_BYTES},
                "erp": {"webhook_secret": secret},
                "plugins.erp": {"order_sync_backoff_seconds": 0.2},
                "plugins.odoo": {"url": odoo_url},
            })
            store = await prepare_store(config, with_catalog=False)
            previous = os.environ.get("PYTHONPATH")
            os.environ.update(env)  # the sync subprocess loads the same plugins as the server
            try:
                synced = sync_products(store, workdir / "sync.log")
            finally:
                os.environ.pop("PYTHONPATH", None) if previous is None else os.environ.update(PYTHONPATH=previous)
            report.check(synced.returncode == 0, f"{mode}: sync products failed: {synced.stdout[-500:]}")
            progress(DRILL, f"{mode}: store synced from the fake Odoo")
            with run_server(store, workdir / "server.log", extra_env=env):
                async with Client(store, limit=CONCURRENCY) as client, open_database(store):
                    orders = await place_orders(client, 2)
                    ids = await external_ids(client, orders)
                    progress(DRILL, f"{mode}: orders {orders} reached the fake Odoo")
                    await settle()
                    before = await effects()
                    progress(DRILL, f"{mode}: {len(orders)} orders in the fake ({ids}); {count} deliveries")
                    sender = Sender(mode, secret, ids[0], random.Random(f"{mode}-{count}"))
                    figures = await bombard(client, sender, count, report, mode)
                    await asyncio.sleep(0.5)
                    after = await effects()
                    report.check(before == after, f"{mode}: rejected deliveries had effects: {before} -> {after}")
                    figures["effects"] = 0 if before == after else 1
                    figures["replay"] = await replay(client, sender, report, mode)
    report.check(figures["server_errors"] == 0, f"{mode}: {figures['server_errors']} responses 5xx")
    report.check(figures["accepted"] == 0, f"{mode}: {figures['accepted']} bad deliveries accepted")
    return figures


async def drill(args: Any, workdir: Path, report: Report) -> None:
    count = 1_000 if args.short else 10_000
    for mode in ("token", "signed"):
        (workdir / mode).mkdir()
        report.figures[mode] = await drill_form(mode, args, workdir / mode, report, count)


def main(argv: list[str] | None = None) -> int:
    args = common_arguments(__doc__.split("\n\n")[0]).parse_args(argv)
    return run_drill(DRILL, args, drill)


if __name__ == "__main__":
    sys.exit(main())
