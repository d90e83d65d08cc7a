"""API fuzz drill: schemathesis against ``/openapi.json`` of a running, seeded server.

Against a real ``erpcommerce serve`` with the seeded store (region, publishable key, admin,
20 products) plus a customer with an open cart and a completed order, every operation of
``/openapi.json`` is called with generated requests — valid ones (positive) and invalid ones
(negative), with random path ids and with the ids of real records — carrying the publishable
key and the bearer token its ``security`` asks for (admin or customer). Each response is checked
with schemathesis's ``not_a_server_error``, ``status_code_conformance`` (the status is
documented), ``content_type_conformance`` and ``response_schema_conformance`` (the body matches
the documented schema). Admin operations run last (they may archive products).

    python scripts/drill_fuzz.py --short      # 5 examples per operation and mode (CI)
    python scripts/drill_fuzz.py              # 100 (release)
    python scripts/drill_fuzz.py --examples 30 --database-url postgres://...

Prints one JSON line: requests, statuses, server errors, schema violations (each distinct one
named); exits 1 when there is any.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
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

DRILL = "fuzz"
SHORT_EXAMPLES = 5
LONG_EXAMPLES = 100
MAX_REPORTED = 20


async def real_ids(client: Client) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Ids of real records per path prefix, and the tokens (admin, customer)."""
    admin = await client.admin_token()
    customer_id, customer, _ = await client.register_customer("fuzz@example.com")
    region = await client.region_id()
    variant = (await client.variant_ids(region))[0]
    done_cart = await client.new_cart(region, "fuzz@example.com", token=customer)
    await client.ok("POST", f"/store/carts/{done_cart}/line-items", {"variant_id": variant, "quantity": 1}, token=customer)
    await client.add_payment_session(done_cart, token=customer)
    order = (await client.ok("POST", f"/store/carts/{done_cart}/complete", token=customer))["order"]["id"]
    cart = await client.new_cart(region, "fuzz@example.com", token=customer)
    items = (await client.ok("POST", f"/store/carts/{cart}/line-items", {"variant_id": variant, "quantity": 1},
                             token=customer))["cart"]["items"]
    collection = (await client.ok("POST", "/store/payment-collections", {"cart_id": cart}, token=customer))
    products = (await client.ok("GET", "/admin/products?limit=1", token=admin))["products"]
    channels = (await client.ok("GET", "/admin/sales-channels", token=admin))["sales_channels"]
    spare_key = (await client.ok("POST", "/admin/api-keys", {"title": "fuzz", "type": "publishable"}, token=admin))
    ids = {
        "/store/carts/": {"id": cart, "line_id": items[0]["id"]},
        "/store/orders/": {"id": order},
        "/store/payment-collections/": {"id": collection["payment_collection"]["id"]},
        "/store/products/": {"id": products[0]["id"]},
        "/store/regions/": {"id": region},
        "/admin/products/": {"id": products[0]["id"], "variant_id": products[0]["variants"][0]["id"]},
        "/admin/regions/": {"id": region},
        "/admin/orders/": {"id": order},
        "/admin/customers/": {"id": customer_id},
        "/admin/sales-channels/": {"id": channels[0]["id"]},
        # a key of its own: revoking the storefront's key would turn every later call into a 400
        "/admin/api-keys/": {"id": spare_key["api_key"]["id"]},
    }
    return ids, {"admin": admin, "customer": customer}


def auth_headers(operation: Any, store: Store, tokens: dict[str, str]) -> dict[str, str]:
    """The publishable key and the bearer token the operation's security asks for."""
    headers = {}
    requirements = operation.definition.raw.get("security") or []
    roles = {role for requirement in requirements for role in requirement.get("bearer", [])}
    if any("publishable_api_key" in requirement for requirement in requirements):
        headers["x-publishable-api-key"] = store.publishable_key
    if "admin" in roles:
        headers["authorization"] = f"Bearer {tokens['admin']}"
    elif roles:
        headers["authorization"] = f"Bearer {tokens['customer']}"
    return headers


def operation_order(operation: Any) -> tuple[int, int, str]:
    admin = operation.path.startswith("/admin")
    return (int(admin), int(operation.method.upper() == "DELETE"), operation.label)


def fuzz(store: Store, ids: dict[str, dict[str, str]], tokens: dict[str, str], examples: int,
         report: Report) -> dict[str, Any]:
    """Run every operation; count statuses and the distinct check failures."""
    import hypothesis
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    schema = schemathesis.openapi.from_url(f"{store.base_url}/openapi.json")
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=operation_order)
    statuses: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    failures: dict[str, str] = {}
    settings = hypothesis.settings(
        max_examples=examples, deadline=None, database=None, derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck), phases=[hypothesis.Phase.generate],
    )
    for operation in operations:
        headers = auth_headers(operation, store, tokens)
        known = next((values for prefix, values in ids.items() if operation.path.startswith(prefix)), None)
        variants = [None] + ([known] if known and "{" in operation.path else [])
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for path_parameters in variants:
                wanted = {k: v for k, v in (path_parameters or {}).items() if "{" + k + "}" in operation.path}
                strategy = operation.as_strategy(mode, path_parameters=wanted or None)

                @settings
                @hypothesis.given(case=strategy)
                def run(case: Any) -> None:
                    response = case.call(base_url=store.base_url, headers=headers, timeout=30)
                    statuses[f"{response.status_code // 100}xx"] += 1
                    codes[str(response.status_code)] += 1
                    try:
                        case.validate_response(response, checks=checks, headers=headers)
                    except (Exception, BaseExceptionGroup) as exc:  # a FailureGroup naming each failed check
                        for failure in getattr(exc, "exceptions", [exc]):
                            title = getattr(failure, "title", type(failure).__name__)
                            key = f"{operation.label} [{mode.value}]: {title}"
                            detail = f"{getattr(failure, 'message', failure)}"[:400]
                            failures.setdefault(key, f"{detail} | {case.as_curl_command(headers)}"[:700])

                try:
                    run()
                except hypothesis.errors.Unsatisfiable:
                    pass
        progress(DRILL, f"{operation.label}: {dict(statuses)} failures so far: {len(failures)}")
    for key, detail in list(failures.items())[:MAX_REPORTED]:
        report.check(False, f"{key}: {detail}")
    return {"operations": len(operations), "statuses": dict(statuses), "codes": dict(sorted(codes.items())),
            "failures": len(failures)}


async def drill(args: Any, workdir: Path, report: Report) -> None:
    examples = args.examples or (SHORT_EXAMPLES if args.short else LONG_EXAMPLES)
    async with scratch_database(args.database_url, workdir, DRILL) as database_url:
        config = write_config(workdir / "config.toml", port=free_port(), database_url=database_url)
        store = await prepare_store(config, with_catalog=True)
        with run_server(store, workdir / "server.log") as process:
            async with Client(store) as client:
                ids, tokens = await real_ids(client)
            progress(DRILL, f"fuzzing {store.base_url}/openapi.json, {examples} examples per operation and mode")
            figures = await asyncio.to_thread(fuzz, store, ids, tokens, examples, report)
            report.check(process.poll() is None, "the server died during the fuzz")
        server_log = (workdir / "server.log").read_text(errors="replace")
    requests = sum(n for key, n in figures["statuses"].items() if key.endswith("xx"))
    server_errors = figures["statuses"].get("5xx", 0)
    report.check(server_errors == 0, f"{server_errors} responses 5xx")
    report.figures.update(
        examples_per_operation=examples,
        operations=figures["operations"],
        requests=requests,
        statuses=figures["statuses"],
        status_codes=figures["codes"],
        server_errors=server_errors,
        schema_violations=figures["failures"],
        unexpected_errors_logged=server_log.count("unknown_error") + server_log.count("Traceback"),
    )


def main(argv: list[str] | None = None) -> int:
    parser = common_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=None, help="examples per operation and mode")
    args = parser.parse_args(argv)
    return run_drill(DRILL, args, drill)


if __name__ == "__main__":
    sys.exit(main())
