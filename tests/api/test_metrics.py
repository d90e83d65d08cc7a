"""``GET /metrics``: Prometheus text that parses, figures that match the database, bounded labels.

The in-process metrics live in ``prometheus_client``'s process-wide registry, so tests that look
at counters compare a scrape before and after what they do.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pluggy
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import BaseModel

from core.api.metrics import runs_by_state
from core.app import create_app
from core.config import ServerSettings, Settings
from core.errors import PermanentError
from core.keys import ENGINE
from core.models import WorkflowRunRecord
from core.queue_status import read_queue_status
from core.webhooks import count_rejection
from core.workflows.engine import step, workflow
from core.workflows.leases import utcnow
from tests.api.metrics_support import labelled, scrape, value

TOKEN = "scrape-token-0123456789"


class Order(BaseModel):
    ref: str


@step("metrics-reserve")
async def reserve(order: Order) -> Order:
    return order


@step("metrics-charge")
async def charge(order: Order) -> Order:
    raise PermanentError(f"card of {order.ref} declined")


@workflow("metrics-test-checkout", durable=True)
async def checkout(order: Order) -> Order:
    await reserve(order)
    return await charge(order)


async def wait_finished(run_id: str) -> WorkflowRunRecord:
    for _ in range(400):
        record = await WorkflowRunRecord.get(id=run_id)
        if record.state in ("done", "failed", "reverted"):
            return record
        await asyncio.sleep(0.025)
    pytest.fail(f"run {run_id} did not finish")


# -------------------------------------------------------------------------------------------------
# Runs, steps, queue
# -------------------------------------------------------------------------------------------------


async def test_runs_by_workflow_and_state_match_the_database(client: TestClient) -> None:
    created = [
        ("sync-products-from-erp", "done"), ("sync-products-from-erp", "done"), ("sync-products-from-erp", "failed"),
        ("sync-order-to-erp", "pending"), ("sync-order-to-erp", "reverted"), ("sync-order-to-erp", "canceled"),
    ]
    for index, (name, state) in enumerate(created):
        await WorkflowRunRecord.create(id=f"metrics-run-{index}", workflow_name=name, state=state, input={})

    samples = await scrape(client)

    in_database = Counter((run.workflow_name, run.state) for run in await WorkflowRunRecord.all())
    exported = {
        (labels["workflow"], labels["state"]): value(samples, "erpcommerce_workflow_runs", **labels)
        for labels in labelled(samples, "erpcommerce_workflow_runs")
    }
    assert exported == {key: float(count) for key, count in in_database.items()}
    assert exported[("sync-products-from-erp", "done")] == 2
    assert value(samples, "erpcommerce_database_up") == 1


async def test_failed_step_shows_up_in_attempts_durations_and_runs(client: TestClient, app: web.Application) -> None:
    before = await scrape(client)

    run = await app[ENGINE].start(checkout, Order(ref="o-1"), run_id="metrics-checkout-1")
    assert (await wait_finished(run.id)).state == "reverted"  # no compensations to fail: reverted
    after = await scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    flow = "metrics-test-checkout"
    assert grew("erpcommerce_workflow_step_attempts_total", workflow=flow, step="metrics-charge", outcome="error") == 1
    assert grew("erpcommerce_workflow_step_attempts_total", workflow=flow, step="metrics-reserve", outcome="done") == 1
    assert grew("erpcommerce_workflow_step_duration_seconds_count", workflow=flow, step="metrics-charge") == 1
    assert grew("erpcommerce_workflow_step_duration_seconds_bucket", workflow=flow, step="metrics-reserve",
                le="+Inf") == 1
    assert value(after, "erpcommerce_workflow_runs", workflow=flow, state="reverted") == 1


async def test_queue_figures_are_the_queue_status_of_the_embedded_runner(
    client: TestClient, app: web.Application
) -> None:
    await WorkflowRunRecord.create(id="metrics-later", workflow_name="metrics-test-checkout", input={"ref": "x"},
                                   wake_at=_in_an_hour())

    samples = await scrape(client)

    status = await read_queue_status(app[ENGINE])
    assert value(samples, "erpcommerce_queue_status_up", mode="embedded") == 1
    for state, count in (("queued", status.queued), ("deferred", status.deferred), ("in_progress", status.in_progress)):
        assert value(samples, "erpcommerce_queue_jobs", mode="embedded", state=state) == count
    assert value(samples, "erpcommerce_queue_jobs", mode="embedded", state="deferred") == 1
    assert value(samples, "erpcommerce_runner_slots") == app[ENGINE].settings.workflows.max_concurrent_runs
    assert value(samples, "erpcommerce_runner_loop_up", loop="workflow-recovery") == 1


def _in_an_hour() -> datetime:
    return utcnow() + timedelta(hours=1)


async def test_runs_are_not_counted_when_the_database_cannot_be_read() -> None:
    assert await runs_by_state() is None  # no database opened in this test


# -------------------------------------------------------------------------------------------------
# HTTP and webhooks
# -------------------------------------------------------------------------------------------------


async def test_http_requests_are_labelled_by_route_template_and_status_class(client: TestClient) -> None:
    before = await scrape(client)
    await client.get("/store/products/prod_01SECRETLOOKINGID")
    await client.get("/store/products/prod_02ANOTHER")
    await client.get("/no/such/page/42")
    await client.get("/health")
    after = await scrape(client)

    def grew(**labels: str) -> float:
        name = "erpcommerce_http_request_duration_seconds_count"
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew(method="GET", route="/store/products/{id}", status="4xx") == 2  # no publishable key: 400
    assert grew(method="GET", route="unmatched", status="4xx") == 1
    assert grew(method="GET", route="/health", status="2xx") == 1
    routes = {labels["route"] for labels in labelled(after, "erpcommerce_http_request_duration_seconds_count")}
    assert not any("prod_" in route or "42" in route for route in routes)


async def test_unusual_methods_share_one_label(client: TestClient) -> None:
    await client.request("PROPFIND", "/health")

    samples = await scrape(client)

    methods = {labels["method"] for labels in labelled(samples, "erpcommerce_http_request_duration_seconds_count")}
    assert "OTHER" in methods and "PROPFIND" not in methods


async def test_webhook_deliveries_are_counted_by_source_and_outcome(client: TestClient) -> None:
    before = await scrape(client)
    count_rejection("metrics-test-erp", "bad_signature")
    count_rejection("metrics-test-erp", "malformed")
    after = await scrape(client)

    assert value(after, "erpcommerce_webhook_deliveries_total", source="metrics-test-erp", outcome="rejected") - value(
        before, "erpcommerce_webhook_deliveries_total", source="metrics-test-erp", outcome="rejected"
    ) == 2
    assert value(after, "erpcommerce_webhook_rejections_total", source="metrics-test-erp", reason="malformed") >= 1


# -------------------------------------------------------------------------------------------------
# Access
# -------------------------------------------------------------------------------------------------


@pytest.fixture
async def guarded(settings: Settings, plugins: pluggy.PluginManager, aiohttp_client: Any) -> TestClient:
    server = ServerSettings(environment="development", metrics_token=TOKEN)
    return await aiohttp_client(create_app(settings.model_copy(update={"server": server}), plugins,
                                           manage_database=False))


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Basic {TOKEN}", TOKEN])
async def test_metrics_refused_without_the_right_bearer_token(guarded: TestClient, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    response = await guarded.get("/metrics", headers=headers)

    assert response.status == 401
    body = await response.json()
    assert body["type"] == "unauthorized"
    assert "metrics token" in body["message"]


async def test_metrics_served_with_the_bearer_token(guarded: TestClient) -> None:
    samples = await scrape(guarded, Authorization=f"Bearer {TOKEN}")

    assert value(samples, "erpcommerce_database_up") == 1


async def test_metrics_answer_openmetrics_when_asked(client: TestClient) -> None:
    response = await client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})

    assert response.status == 200
    assert response.content_type == "application/openmetrics-text"
    assert (await response.text()).rstrip().endswith("# EOF")
