"""Workflow engine benchmark: the cost of a step, durable and request-scoped, and runs/s through arq.

Prints one JSON line:

- ``durable_step_ms``: what checkpointing adds per step of a durable run, on SQLite (target
  <= 1 ms) and on PostgreSQL (``--database-url``; reported, no target): the time of
  ``Engine.execute`` on a run of N no-op steps minus that of a run of none, divided by N.
- ``request_step_us``: what the request-scoped engine adds per step (target <= 20 us): a workflow
  of N no-op steps minus N direct awaits of the same function, divided by N.
- ``arq``: runs/s of a 3-step durable workflow executed by an ``erpcommerce`` worker process
  through real Redis, next to bare arq jobs/s (a worker whose job only counts itself, same
  ``max_jobs`` and poll delay), both measured in this run, and their ratio.

Progress goes to stderr.

    python scripts/bench_workflows.py [--quick] [--database-url postgres://...] [--redis-url redis://...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config import DatabaseSettings, RedisSettings, Settings, WorkflowSettings  # noqa: E402
from core.db import close_database, init_database, run_migrations  # noqa: E402
from core.models import WorkflowRunRecord, WorkflowStepRecord  # noqa: E402
from core.plugins import build_plugin_manager  # noqa: E402
from core.workflows.durable import Engine  # noqa: E402
from core.workflows.engine import step, workflow  # noqa: E402

TARGETS: dict[str, tuple[str, float]] = {
    "durable_step_ms_sqlite": ("<=", 1.0),
    "request_step_us": ("<=", 20.0),
}
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
WORKER_START_TIMEOUT_S = 30.0
DRAIN_TIMEOUT_S = 300.0
ENQUEUE_GROUP = 50


def log(message: str) -> None:
    print(f"[bench_workflows] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the workflows measured


class Steps(BaseModel):
    count: int


@step("bench-noop")
async def noop_step(value: int) -> int:
    return value


@workflow("bench-steps", durable=True)
async def durable_steps(input: Steps) -> int:
    for index in range(input.count):
        await noop_step(index)
    return input.count


@workflow("bench-three-steps", durable=True)
async def three_steps(input: Steps) -> int:
    total = 0
    for index in range(3):
        total += await noop_step(index)
    return total


@workflow("bench-request-steps")
async def request_steps(count: int) -> int:
    for index in range(count):
        await noop_step(index)
    return count


async def _noop(value: int) -> int:
    return value


# --------------------------------------------------------------------------- step overheads


def _settings(database_url: str, redis_url: str = "", queue: str = "erpcommerce") -> Settings:
    return Settings(
        database=DatabaseSettings(url=database_url),
        redis=RedisSettings(url=redis_url, queue_name=queue),
        workflows=WorkflowSettings(worker_poll_delay_seconds=0.01),
    )


async def _forget_runs(prefix: str) -> None:
    ids = list(await WorkflowRunRecord.filter(id__startswith=prefix).values_list("id", flat=True))
    if ids:
        await WorkflowStepRecord.filter(run_id__in=ids).delete()
        await WorkflowRunRecord.filter(id__in=ids).delete()


async def _timed_execute(engine: Engine, run_id: str, steps: int) -> float:
    await engine.start(durable_steps, Steps(count=steps), run_id=run_id)
    started = time.perf_counter()
    state = await engine.execute(run_id)
    elapsed = time.perf_counter() - started
    if state != "done":
        raise RuntimeError(f"benchmark run {run_id} ended {state}")
    return elapsed


async def durable_step_ms(database_url: str, steps: int, repeats: int) -> float:
    """Median over ``repeats`` of (run of ``steps`` steps - run of no step) / ``steps``, in ms."""
    settings = _settings(database_url)
    await run_migrations(settings.database)
    await init_database(settings.database)
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    engine = Engine(settings=settings, plugins=build_plugin_manager(settings, load_entry_points=False))
    try:
        await _timed_execute(engine, f"{prefix}warmup", steps)
        per_step = []
        for index in range(repeats):
            empty = await _timed_execute(engine, f"{prefix}{index}:empty", 0)
            full = await _timed_execute(engine, f"{prefix}{index}:full", steps)
            per_step.append((full - empty) / steps * 1000)
        await _forget_runs(prefix)
    finally:
        await close_database()
    return round(statistics.median(per_step), 4)


async def _time(work: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await work()
    return time.perf_counter() - started


async def request_step_us(steps: int, repeats: int) -> float:
    """Median over ``repeats`` of (workflow of ``steps`` steps - ``steps`` bare awaits) / ``steps``, in us."""

    async def bare() -> None:
        for index in range(steps):
            await _noop(index)

    await request_steps.run(steps)
    per_step = []
    for _ in range(repeats):
        direct = await _time(bare)
        engine = await _time(lambda: request_steps.run(steps))
        per_step.append((engine - direct) / steps * 1e6)
    return round(statistics.median(per_step), 3)


# --------------------------------------------------------------------------- arq throughput


def _worker(role: str, database_url: str, redis_url: str, queue: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, __file__, "--worker-role", role, "--database-url", database_url,
               "--redis-url", redis_url, "--queue", queue]
    env = {**os.environ, "ERPCOMMERCE_LOG_LEVEL": "warning"}
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def _wait_for(count: Callable[[], Awaitable[int]], expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while (done := await count()) < expected:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {done} of {expected} finished within {timeout:.0f} s")
        await asyncio.sleep(0.02)


async def _in_groups(calls: list[Callable[[], Awaitable[Any]]]) -> None:
    for start in range(0, len(calls), ENQUEUE_GROUP):
        await asyncio.gather(*(call() for call in calls[start : start + ENQUEUE_GROUP]))


async def bare_arq_jobs_per_s(redis_url: str, jobs: int) -> float:
    """Bare arq: ``jobs`` jobs enqueued and executed by one worker process (each job counts itself)."""
    from arq.connections import RedisSettings as ArqRedisSettings
    from arq.connections import create_pool

    queue = f"bench:{uuid.uuid4().hex[:8]}"
    redis = await create_pool(ArqRedisSettings.from_dsn(redis_url))
    worker = _worker("bare", "sqlite://:memory:", redis_url, queue)
    try:
        await _wait_for(lambda: redis.exists(f"{queue}:ready"), 1, WORKER_START_TIMEOUT_S)
        started = time.perf_counter()
        await _in_groups([lambda: redis.enqueue_job("count", _queue_name=queue) for _ in range(jobs)])

        async def counted() -> int:
            return int(await redis.get(f"{queue}:done") or 0)

        await _wait_for(counted, jobs, DRAIN_TIMEOUT_S)
        elapsed = time.perf_counter() - started
        await redis.delete(f"{queue}:done", f"{queue}:ready")
    finally:
        _stop(worker)
        await redis.aclose()
    return round(jobs / elapsed, 1)


async def durable_arq_runs_per_s(database_url: str, redis_url: str, runs: int) -> float:
    """``runs`` 3-step durable runs started here and executed by one ``erpcommerce`` worker process."""
    from arq.connections import RedisSettings as ArqRedisSettings
    from arq.connections import create_pool

    from core.workflows.executors import ArqExecutor

    queue = f"bench:{uuid.uuid4().hex[:8]}"
    settings = _settings(database_url, redis_url, queue)
    await run_migrations(settings.database)
    await init_database(settings.database)
    redis = await create_pool(ArqRedisSettings.from_dsn(redis_url))
    engine = Engine(settings=settings, plugins=build_plugin_manager(settings, load_entry_points=False))
    engine.executor = ArqExecutor(redis, queue)
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    worker = _worker("durable", database_url, redis_url, queue)
    try:
        await _wait_for(lambda: redis.exists(f"{queue}:health-check"), 1, WORKER_START_TIMEOUT_S)
        started = time.perf_counter()
        await _in_groups(
            [lambda i=i: engine.start(three_steps, Steps(count=3), run_id=f"{prefix}{i}") for i in range(runs)]
        )
        done = WorkflowRunRecord.filter(id__startswith=prefix, state="done")
        await _wait_for(done.count, runs, DRAIN_TIMEOUT_S)
        elapsed = time.perf_counter() - started
        await _forget_runs(prefix)
    finally:
        _stop(worker)
        await redis.aclose()
        await close_database()
    return round(runs / elapsed, 1)


async def _serve_bare(redis_url: str, queue: str) -> None:
    from arq.connections import RedisSettings as ArqRedisSettings
    from arq.worker import Worker, func

    async def count(ctx: dict[str, Any]) -> None:
        await ctx["redis"].incr(f"{queue}:done")

    async def ready(ctx: dict[str, Any]) -> None:
        await ctx["redis"].set(f"{queue}:ready", 1)

    limits = WorkflowSettings(worker_poll_delay_seconds=0.01)
    worker = Worker(
        functions=[func(count, name="count")],
        redis_settings=ArqRedisSettings.from_dsn(redis_url),
        queue_name=queue,
        on_startup=ready,
        keep_result=0,
        max_jobs=limits.max_concurrent_runs,
        poll_delay=limits.worker_poll_delay_seconds,
    )
    try:
        await worker.async_run()
    except asyncio.CancelledError:
        pass
    finally:
        await worker.close()


def serve_worker(args: argparse.Namespace) -> None:
    """The worker subprocesses: a bare arq worker, or ``erpcommerce worker`` knowing the bench workflows."""
    if args.worker_role == "bare":
        asyncio.run(_serve_bare(args.redis_url, args.queue))
        return
    from core.logs import configure_logging
    from core.worker import run_worker

    configure_logging("warning")
    settings = _settings(args.database_url, args.redis_url, args.queue)
    asyncio.run(run_worker(settings, build_plugin_manager(settings, load_entry_points=False)))


# --------------------------------------------------------------------------- report


def _judge(values: dict[str, float]) -> dict[str, dict[str, Any]]:
    verdicts = {}
    for name, (operator, limit) in TARGETS.items():
        value = values[name]
        passed = value >= limit if operator == ">=" else value <= limit
        verdicts[name] = {"value": value, "target": f"{operator} {limit:g}", "pass": bool(passed)}
    return verdicts


async def run(args: argparse.Namespace) -> dict[str, Any]:
    steps, repeats, runs = (50, 3, 200) if args.quick else (200, 7, 1000)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench_workflows_") as tmp:
        sqlite_url = f"sqlite://{Path(tmp) / 'bench.db'}"
        log(f"durable step on SQLite ({repeats} x {steps} steps)")
        sqlite_ms = await durable_step_ms(sqlite_url, steps, repeats)
        postgres_ms = None
        if args.database_url:
            log(f"durable step on PostgreSQL ({repeats} x {steps} steps)")
            postgres_ms = await durable_step_ms(args.database_url, steps, repeats)
        log("request-scoped step")
        request_us = await request_step_us(steps * 20, repeats)
        arq_database = args.database_url or sqlite_url
        log(f"bare arq jobs ({runs})")
        bare = await bare_arq_jobs_per_s(args.redis_url, runs)
        log(f"3-step durable runs through arq ({runs}, {'postgres' if args.database_url else 'sqlite'})")
        durable = await durable_arq_runs_per_s(arq_database, args.redis_url, runs)
    targets = _judge({"durable_step_ms_sqlite": sqlite_ms, "request_step_us": request_us})
    return {
        "bench": "workflows",
        "quick": bool(args.quick),
        "durable_step_ms": {"sqlite": sqlite_ms, "postgres": postgres_ms},
        "request_step_us": request_us,
        "arq": {
            "database": "postgres" if args.database_url else "sqlite",
            "runs": runs,
            "steps_per_run": 3,
            "durable_runs_per_s": durable,
            "bare_jobs_per_s": bare,
            "durable_to_bare_ratio": round(durable / bare, 3) if bare else None,
            "durable_steps_per_s": round(durable * 3, 1),
        },
        "targets": targets,
        "all_pass": all(verdict["pass"] for verdict in targets.values()),
        "loadavg_1m_before": round(load_before, 2),
        "loadavg_1m_after": round(os.getloadavg()[0], 2),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps, repeats and runs, for a smoke run")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL URL: also measure the durable step there, and run the arq part on it")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help=f"Redis for arq (default {DEFAULT_REDIS_URL})")
    parser.add_argument("--worker-role", choices=("bare", "durable"), help=argparse.SUPPRESS)
    parser.add_argument("--queue", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker_role:
        serve_worker(args)
        return 0
    print(json.dumps(asyncio.run(run(args))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
