"""Authorization drill: admin routes need an admin; customers see only their own; logs keep secrets.

Against a real ``erpcommerce serve`` logging at DEBUG (access log on):

1. every admin route — enumerated from the application's router (every route under ``/admin``)
   and cross-checked with ``/openapi.json`` (every operation whose security asks for the admin
   role) — answers 401 without a token, with a malformed token, with the admin's claims signed
   by another secret, and 401/403 with a customer's token;
   an admin token gets past the check (not 401/403) on the GET routes;
2. customer B, with A's ids (A's open cart and its line item, A's completed cart, A's order and
   payment collection), tries every store route of the OpenAPI document that takes an id, and
   ``POST /store/payment-collections`` with A's cart: nothing answers 2xx, A's cart is unchanged,
   B's ``/store/customers/me`` and ``/store/orders`` show only B;
3. the server's whole log output is searched for every secret and password the run used: the
   JWT secret, the webhook secret, the admin's and the customers' passwords (and a wrong one
   tried at login), every bearer token issued (whole, and its signature part). The publishable
   key is public by design (it ships in storefront code) and is only counted.

    python scripts/drill_authz.py [--short] [--database-url postgres://...]

Prints one JSON line of figures; exits 1 when an assertion fails.
"""

from __future__ import annotations

import re
import secrets
import sys
from pathlib import Path
from typing import Any

from drill_support import (
    Client,
    Report,
    Store,
    common_arguments,
    free_port,
    prepare_store,
    progress,
    run_drill,
    run_server,
    scratch_database,
    write_config,
)

DRILL = "authz"
PATH_PARAMETER = re.compile(r"\{(\w+)\}")
MALFORMED_TOKEN = "not-a.jwt.token"


def router_admin_routes(store: Store) -> set[tuple[str, str]]:
    """(method, path) of every route under ``/admin`` in the application the server runs."""
    from core.app import create_app

    app = create_app(store.settings)
    found = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if path.startswith("/admin") and route.method not in ("HEAD", "OPTIONS", "*"):
            found.add((route.method, path))
    return found


def forged_token(admin: str) -> str:
    """The admin token's claims signed with another secret (what an attacker could make)."""
    import jwt

    claims = jwt.decode(admin, options={"verify_signature": False})
    return jwt.encode(claims, secrets.token_urlsafe(40), algorithm=jwt.get_unverified_header(admin)["alg"])


def openapi_operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
    ]


def fill(path: str, ids: dict[str, str]) -> str:
    return PATH_PARAMETER.sub(lambda match: ids.get(match.group(1), "missing"), path)


async def check_admin_routes(client: Client, routes: set[tuple[str, str]], customer: str, admin: str,
                             report: Report) -> dict[str, int]:
    """Each admin route: 401 without / with a bad / with a customer token; the admin passes."""
    counts = {"routes": len(routes), "calls": 0}
    for method, path in sorted(routes):
        url = fill(path, {})
        tokens = (("no token", None), ("malformed token", MALFORMED_TOKEN), ("forged admin token", forged_token(admin)),
                  ("customer token", customer))
        for label, token in tokens:
            status, body = await client.call(method, url, {} if method != "GET" else None, token=token, key=False)
            counts["calls"] += 1
            allowed = (401,) if label != "customer token" else (401, 403)
            report.check(status in allowed, f"{method} {path} with {label} answered {status}: {body}")
        if method == "GET":
            status, body = await client.call(method, url, token=admin, key=False)
            counts["calls"] += 1
            report.check(status not in (401, 403) and status < 500, f"{method} {path} refused the admin: {status} {body}")
    return counts


async def customer_a_belongings(client: Client, token: str) -> dict[str, str]:
    """A's open cart with a line item, and a completed cart with its order and payment collection."""
    region = await client.region_id()
    variant = (await client.variant_ids(region))[0]
    ordered = await client.new_cart(region, "a@example.com", token=token)
    await client.ok("POST", f"/store/carts/{ordered}/line-items", {"variant_id": variant, "quantity": 1}, token=token)
    collection = await client.add_payment_session(ordered, token=token)
    order = (await client.ok("POST", f"/store/carts/{ordered}/complete", token=token))["order"]["id"]
    open_cart = await client.new_cart(region, "a@example.com", token=token)
    cart = (await client.ok("POST", f"/store/carts/{open_cart}/line-items", {"variant_id": variant, "quantity": 2},
                            token=token))["cart"]
    open_collection = (await client.ok("POST", "/store/payment-collections", {"cart_id": open_cart}, token=token))
    return {
        "cart": open_cart, "line": cart["items"][0]["id"], "completed_cart": ordered, "order": order,
        "collection": str(open_collection["payment_collection"]["id"]), "completed_collection": collection,
        "variant": variant,
    }


async def check_store_isolation(client: Client, spec: dict[str, Any], a: dict[str, str], b_token: str,
                                report: Report) -> dict[str, int]:
    """B tries every id-taking store route with A's ids; nothing of A's is read or changed."""
    before = (await client.ok("GET", f"/store/carts/{a['cart']}"))["cart"]
    tries = 0
    cart_sets = ({"id": a["cart"], "line_id": a["line"]}, {"id": a["completed_cart"], "line_id": a["line"]})
    for method, path, _ in openapi_operations(spec):
        if not path.startswith("/store/") or "{" not in path:
            continue
        if path.startswith("/store/orders/"):
            id_sets: tuple[dict[str, str], ...] = ({"id": a["order"]},)
        elif path.startswith("/store/payment-collections/"):
            id_sets = ({"id": a["collection"]}, {"id": a["completed_collection"]})
        elif path.startswith("/store/carts/"):
            id_sets = cart_sets
        else:  # catalogue routes (products, regions): public by design
            continue
        for ids in id_sets:
            body = None if method in ("GET", "DELETE") else _body_for(path, a)
            status, answer = await client.call(method, fill(path, ids), body, token=b_token)
            tries += 1
            report.check(not 200 <= status < 300, f"B reached A's {method} {fill(path, ids)}: {status} {answer}")
    status, answer = await client.call("POST", "/store/payment-collections", {"cart_id": a["cart"]}, token=b_token)
    tries += 1
    report.check(not 200 <= status < 300, f"B opened a payment collection on A's cart: {status} {answer}")
    after = (await client.ok("GET", f"/store/carts/{a['cart']}"))["cart"]
    report.check(_cart_state(before) == _cart_state(after), f"A's cart changed: {_cart_state(before)} -> {_cart_state(after)}")
    return {"cross_customer_calls": tries}


def _body_for(path: str, a: dict[str, str]) -> dict[str, Any]:
    if path.endswith("/line-items") or path.endswith("/custom-line-items"):
        return {"variant_id": a["variant"], "quantity": 1}
    if path.endswith("/payment-sessions"):
        return {"provider_id": "pp_system_default"}
    if "{line_id}" in path:
        return {"quantity": 5}
    if path.endswith("/complete"):
        return {}
    return {"email": "b-took-over@example.com"}


def _cart_state(cart: dict[str, Any]) -> tuple[Any, ...]:
    items = sorted((item["variant_id"], item["quantity"]) for item in cart["items"])
    return cart["email"], cart["customer_id"], cart["completed_at"], tuple(items), cart["total"]


async def check_own_views(client: Client, a: dict[str, str], b_token: str, b_email: str, report: Report) -> None:
    _, me = await client.call("GET", "/store/customers/me", token=b_token)
    report.check(me and me["customer"]["email"] == b_email, f"B's /store/customers/me shows {me}")
    _, orders = await client.call("GET", "/store/orders", token=b_token)
    report.check(orders is not None and all(order["id"] != a["order"] for order in orders["orders"]),
                 f"B's /store/orders lists A's order: {orders}")


def find_secrets(log_text: str, secrets_used: dict[str, list[str]]) -> dict[str, int]:
    """How often each kind of secret appears in the log (each value and, for tokens, its signature)."""
    found = {}
    for kind, values in secrets_used.items():
        needles = set(values)
        if kind == "bearer_tokens":
            needles |= {value.rsplit(".", 1)[-1] for value in values if value.count(".") == 2}
        found[kind] = sum(log_text.count(needle) for needle in needles if needle)
    return found


async def drill(args: Any, workdir: Path, report: Report) -> None:
    webhook_secret = secrets.token_urlsafe(32)
    async with scratch_database(args.database_url, workdir, DRILL) as database_url:
        config = write_config(
            workdir / "config.toml", port=free_port(), database_url=database_url,
            sections={"server": {"access_log": True}, "erp": {"webhook_secret": webhook_secret}},
        )
        store = await prepare_store(config, with_catalog=True)
        log_path = workdir / "server.log"
        with run_server(store, log_path, log_level="DEBUG"):
            async with Client(store) as client:
                spec = (await client.ok("GET", "/openapi.json"))
                router_routes = router_admin_routes(store)
                documented = {(m, p) for m, p, op in openapi_operations(spec)
                              if any("admin" in req.get("bearer", []) for req in op.get("security") or [])}
                report.check(documented <= router_routes, f"admin operations not routed: {documented - router_routes}")
                admin = await client.admin_token()
                a_id, a_token, a_password = await client.register_customer("a@example.com")
                b_id, b_token, b_password = await client.register_customer("b@example.com")
                wrong_password = "Wrong-" + secrets.token_urlsafe(12)
                await client.call("POST", "/auth/customer/emailpass", {"email": "a@example.com", "password": wrong_password})
                await client.call("POST", f"/erp/order-updates?token={webhook_secret}", data=b"{}", key=False)
                progress(DRILL, f"{len(router_routes)} admin routes ({len(documented)} in /openapi.json)")
                admin_counts = await check_admin_routes(client, router_routes, a_token, admin, report)
                a = await customer_a_belongings(client, a_token)
                isolation = await check_store_isolation(client, spec, a, b_token, report)
                await check_own_views(client, a, b_token, "b@example.com", report)
                refreshed = (await client.ok("POST", "/auth/token/refresh", token=a_token))["token"]
        log_text = log_path.read_text(errors="replace")
    secrets_used = {
        "jwt_secret": [store.settings.auth.jwt_secret],
        "webhook_secret": [webhook_secret],
        "passwords": [store.admin_password, a_password, b_password, wrong_password],
        "bearer_tokens": [admin, a_token, b_token, refreshed],
    }
    leaks = find_secrets(log_text, secrets_used)
    for kind, count in leaks.items():
        report.check(count == 0, f"{kind} appears {count} times in the server log")
    debug_lines = len(re.findall(r"^.*\blevel=debug\b", log_text, re.MULTILINE))
    report.check(debug_lines > 0, "the server did not log at DEBUG")
    report.figures.update(
        admin_routes=admin_counts["routes"],
        admin_routes_in_openapi=len(documented),
        admin_calls=admin_counts["calls"],
        **isolation,
        log_lines=log_text.count("\n"),
        debug_log_lines=debug_lines,
        secret_occurrences_in_log=leaks,
        publishable_key_occurrences_in_log=log_text.count(store.publishable_key),
        customers=[a_id, b_id],
    )


def main(argv: list[str] | None = None) -> int:
    args = common_arguments(__doc__.split("\n\n")[0]).parse_args(argv)
    return run_drill(DRILL, args, drill)


if __name__ == "__main__":
    sys.exit(main())
