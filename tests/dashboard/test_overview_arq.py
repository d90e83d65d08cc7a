"""The overview of a server whose runs go to arq workers: queue depth and each worker's health."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from redis.exceptions import RedisError

from core.config import RedisSettings as QueueSettings
from core.config import Settings
from tests.dashboard.conftest import Dashboard

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
QUEUE = f"dashboard-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def redis() -> AsyncIterator[ArqRedis]:
    try:
        pool = await create_pool(replace(RedisSettings.from_dsn(REDIS_URL), conn_retries=0))
    except (OSError, RedisError) as exc:
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    yield pool
    keys = [key async for key in pool.scan_iter(match=f"{QUEUE}*")]
    if keys:
        await pool.delete(*keys)
    await pool.aclose()


@pytest.fixture
def settings(settings: Settings, redis: ArqRedis) -> Settings:
    return settings.model_copy(update={"redis": QueueSettings(url=REDIS_URL, queue_name=QUEUE)})


async def test_overview_shows_the_arq_queue_and_every_workers_health(logged_in: Dashboard, redis: ArqRedis) -> None:
    await redis.psetex(f"{QUEUE}:health-check:host-a:101", 10_000, b"Nov-28 21:00:00 j_complete=7 j_failed=1 "
                       b"j_retried=0 j_ongoing=2 queued=3")
    await redis.psetex(f"{QUEUE}:health-check:host-b:202", 10_000, b"Nov-28 21:00:01 j_complete=5 j_failed=0 "
                       b"j_retried=0 j_ongoing=0 queued=3")
    status, html = await logged_in.page("/dashboard")
    assert status == 200
    assert f"arq workers on Redis (queue <code>{QUEUE}</code>)" in html
    assert ">host-a:101</code>" in html and ">host-b:202</code>" in html
    assert "No worker has reported recently" not in html


async def test_overview_says_when_no_worker_reports(logged_in: Dashboard) -> None:
    _, html = await logged_in.page("/dashboard")
    assert "No worker has reported recently: start <code>erpcommerce worker</code>." in html
