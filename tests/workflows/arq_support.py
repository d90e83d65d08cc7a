"""Helpers for the tests that run real arq workers: worker subprocesses on a private queue.

Each test gets an :class:`ArqTestbed`: its own arq queue on the real Redis (``TEST_REDIS_URL``,
default ``redis://127.0.0.1:6379``), an engine in the test process that enqueues on it, and
``erpcommerce worker`` subprocesses (``worker_process.py``: the real command plus the test
workflows) sharing the test's database. Everything is stopped and the queue's keys deleted at
the end of the test.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import pluggy
import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from redis.exceptions import RedisError

from core.config import Settings
from core.models import WorkflowRunRecord
from core.workflows.durable import Engine
from core.workflows.executors import ArqExecutor

from .crash_workflows import CRASH_TEST_DIR_ENV, ExternalCalls

__all__ = [
    "REDIS_URL",
    "ArqTestbed",
    "WorkerProcess",
    "open_testbed",
    "wait_for",
    "wait_for_state",
]

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
WORKER_SCRIPT = Path(__file__).with_name("worker_process.py")
STARTED_LINE = 'msg="worker started"'
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 30.0
POLL_SECONDS = 0.05


async def wait_for(condition: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail the test naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(POLL_SECONDS)


async def wait_for_state(run_id: str, states: tuple[str, ...], timeout: float = 30.0) -> WorkflowRunRecord:
    """Wait until run ``run_id`` is in one of ``states``; return it."""

    async def reached() -> bool:
        record = await WorkflowRunRecord.get_or_none(id=run_id)
        return record is not None and record.state in states

    await wait_for(reached, timeout, f"run {run_id} to be {' or '.join(states)}")
    return await WorkflowRunRecord.get(id=run_id)


class WorkerProcess:
    """One worker subprocess; its stderr (the structured log) goes to ``log_path``."""

    def __init__(self, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.process = process
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    async def wait_started(self) -> None:
        async def started() -> bool:
            if self.process.poll() is not None:
                pytest.fail(f"worker exited with {self.process.returncode}:\n{self.log()}")
            return STARTED_LINE in self.log()

        await wait_for(started, START_TIMEOUT_SECONDS, f"worker {self.pid} to start")

    async def wait_exit(self, timeout: float = STOP_TIMEOUT_SECONDS) -> int:
        """Wait for the process to end; return its exit code."""

        async def ended() -> bool:
            return self.process.poll() is not None

        await wait_for(ended, timeout, f"worker {self.pid} to exit")
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL: the process dies at once, in the middle of whatever it does."""
        self.process.kill()
        self.process.wait()

    def terminate(self) -> None:
        """SIGTERM: a graceful stop."""
        self.process.send_signal(signal.SIGTERM)


class ArqTestbed:
    """A private arq queue, an engine enqueuing on it, and worker subprocesses (see module doc).

    :param settings: the test's settings; the queue and Redis are filled in here.
    :param directory: where the worker logs and the test workflows' files go.
    """

    def __init__(self, settings: Settings, plugins: pluggy.PluginManager, directory: Path, redis: ArqRedis) -> None:
        self.queue_name = f"test-exec-{uuid.uuid4().hex[:10]}"
        self.settings = settings.model_copy(
            update={"redis": settings.redis.model_copy(update={"url": REDIS_URL, "queue_name": self.queue_name})}
        )
        self.directory = directory
        self.redis = redis
        self.executor = ArqExecutor(redis, self.queue_name)
        self.engine = Engine(settings=self.settings, plugins=plugins, owner="test-process")
        self.engine.executor = self.executor
        self.external = ExternalCalls(directory)
        self.workers: list[WorkerProcess] = []

    def environment(self, **overrides: str) -> dict[str, str]:
        """The worker's environment: this test's database, Redis and queue, plus ``overrides``."""
        env = {name: value for name, value in os.environ.items() if not name.startswith("ERPCOMMERCE_")}
        env.update(
            ERPCOMMERCE_DATABASE__URL=self.settings.database.url,
            ERPCOMMERCE_REDIS__URL=REDIS_URL,
            ERPCOMMERCE_REDIS__QUEUE_NAME=self.queue_name,
            ERPCOMMERCE_WORKFLOWS__RECOVERY_INTERVAL_SECONDS="1",
            ERPCOMMERCE_LOG_LEVEL="info",
            PYTHONUNBUFFERED="1",
        )
        env[CRASH_TEST_DIR_ENV] = str(self.directory)
        env.update(overrides)
        return env

    async def start_worker(self, *, wait: bool = True, command: list[str] | None = None, **env: str) -> WorkerProcess:
        """Start a worker subprocess (``ERPCOMMERCE_*`` overrides as keyword arguments)."""
        log_path = self.directory / f"worker-{len(self.workers) + 1}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command or [sys.executable, str(WORKER_SCRIPT)],
                cwd=self.directory,  # no config.toml there: the environment is the configuration
                env=self.environment(**env),
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        worker = WorkerProcess(process, log_path)
        self.workers.append(worker)
        if wait:
            await worker.wait_started()
        return worker

    async def close(self) -> None:
        """Stop every worker (SIGTERM, then SIGKILL), delete the queue's Redis keys, close the pool."""
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.terminate()
        for worker in self.workers:
            try:
                worker.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                worker.kill()
        keys = [key async for key in self.redis.scan_iter(match=f"*{self.queue_name}*")]
        if keys:
            await self.redis.delete(*keys)
        await self.redis.aclose()


async def open_testbed(settings: Settings, plugins: pluggy.PluginManager, directory: Path) -> ArqTestbed:
    """A testbed on the real Redis; skips the test when no Redis answers at ``TEST_REDIS_URL``."""
    try:
        redis = await create_pool(replace(RedisSettings.from_dsn(REDIS_URL), conn_retries=0))
    except (OSError, RedisError) as exc:
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    return ArqTestbed(settings, plugins, directory, redis)
