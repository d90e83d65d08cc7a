"""A worker's own ``/metrics`` (``[workflows] metrics_port``): the steps it executed, behind the token.

A real ``erpcommerce worker`` subprocess on the real Redis (see :mod:`.arq_support`) executes a
run; the test scrapes the worker's port, as Prometheus does, and checks what it counted. Also
the arq side of the queue status, with a live worker's health check.
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pluggy
import pytest

from core.config import Settings
from core.queue_status import read_queue_status
from tests.api.metrics_support import labelled, parse, value

from .arq_support import ArqTestbed, open_testbed, wait_for, wait_for_state
from .crash_workflows import Job, three_steps

TOKEN = "worker-scrape-token-0123456789"


@pytest.fixture
async def testbed(
    settings: Settings, plugins: pluggy.PluginManager, db: None, tmp_path: Path
) -> AsyncIterator[ArqTestbed]:
    bed = await open_testbed(settings, plugins, tmp_path)
    yield bed
    await bed.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def get(url: str, **headers: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        return response.status, await response.text()


async def test_worker_serves_the_step_attempts_it_executed_on_its_metrics_port(testbed: ArqTestbed) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    worker = await testbed.start_worker(
        ERPCOMMERCE_WORKFLOWS__METRICS_PORT=str(port), ERPCOMMERCE_SERVER__METRICS_TOKEN=TOKEN
    )
    await testbed.engine.start(three_steps, Job(label="scraped"), run_id="scraped")
    await wait_for_state("scraped", ("done",))

    status, body = await get(url)
    assert status == 401
    assert json.loads(body)["type"] == "unauthorized"

    status, body = await get(url, Authorization=f"Bearer {TOKEN}")
    assert status == 200
    samples = parse(body)
    for step in ("write-order", "call-erp", "write-shipment"):
        labels = {"workflow": "exec-three-steps", "step": step}
        assert value(samples, "erpcommerce_workflow_step_attempts_total", **labels, outcome="done") == 1
        assert value(samples, "erpcommerce_workflow_step_duration_seconds_count", **labels) == 1
    assert labelled(samples, "erpcommerce_workflow_runs") == []  # the database's figures are the server's

    worker.terminate()
    assert await worker.wait_exit() == 0
    with pytest.raises(aiohttp.ClientConnectionError):
        await get(url)


async def test_arq_queue_status_reads_a_live_workers_health_check(testbed: ArqTestbed) -> None:
    await testbed.start_worker()

    async def reported() -> bool:
        return bool((await read_queue_status(testbed.engine)).workers)

    await wait_for(reported, 15, "the worker's health check")
    status = await read_queue_status(testbed.engine)

    assert (status.mode, status.error, status.queue_name) == ("arq", None, testbed.queue_name)
    (health,) = status.workers
    assert health.key.startswith(f"{testbed.queue_name}:health-check:")
    assert set(health.figures) == {"j_complete", "j_failed", "j_retried", "j_ongoing", "queued"}
    assert health.expires_in_seconds is not None and health.expires_in_seconds > 0
