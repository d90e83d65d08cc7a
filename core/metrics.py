"""Core's Prometheus metrics: every metric name core exports is defined here, and nowhere else.

Two kinds:

- **observed in-process**, registered in ``prometheus_client``'s default registry when this module is
  imported: durable step attempts (:data:`STEP_DURATION`, :data:`STEP_ATTEMPTS`, through
  :func:`observe_step_attempt`) and HTTP requests (:data:`HTTP_REQUEST_DURATION`, through
  :mod:`core.api.http_metrics`). Each process counts its own: every server and every worker is
  scraped on its own (a worker on ``[workflows] metrics_port``).
- **read at scrape time**, built fresh for each scrape from values the caller read (the database's
  runs by state, the queue status, the webhook figures): :func:`run_families`,
  :func:`queue_families`, :func:`webhook_families`. They are not registered anywhere, so two
  concurrent scrapes never share half-updated values.

:func:`exposition` renders the default registry (core's metrics, the plugins' own, the process
and garbage-collector collectors ``prometheus_client`` installs) plus such families as text.

Plugins define their metrics in their own module with ``prometheus_client`` (default registry):
they appear on the same page.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder

from core.errors import RetryableError
from core.workflows.leases import LeaseLost

if TYPE_CHECKING:
    from core.queue_status import QueueStatus
    from core.webhooks import WebhookFigures

__all__ = [
    "HTTP_REQUEST_DURATION",
    "STEP_ATTEMPTS",
    "STEP_DURATION",
    "database_families",
    "exposition",
    "observe_step_attempt",
    "queue_families",
    "run_families",
    "webhook_families",
]

# From a database-only step (milliseconds) to a full product sync page or a stuck ERP (an hour).
STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

# -------------------------------------------------------------------------------------------------
# Observed in-process
# -------------------------------------------------------------------------------------------------

STEP_DURATION = Histogram(
    "erpcommerce_workflow_step_duration_seconds",
    "Duration of durable step attempts executed by this process (invoke plus checkpoint), any outcome.",
    ["workflow", "step"],
    buckets=STEP_BUCKETS,
)
STEP_ATTEMPTS = Counter(
    "erpcommerce_workflow_step_attempts",
    "Durable step attempts executed by this process, by outcome: done, retryable_error (retried "
    "unless the retries are exhausted), timeout, error (permanent: the step failed), interrupted "
    "(lease lost, cancelled, process stopping).",
    ["workflow", "step", "outcome"],
)
HTTP_REQUEST_DURATION = Histogram(
    "erpcommerce_http_request_duration_seconds",
    "HTTP requests served by this process, by method, route template ('unmatched' when no route "
    "matched) and status class (2xx...).",
    ["method", "route", "status"],
    buckets=HTTP_BUCKETS,
)


def _outcome(exc: BaseException | None) -> str:
    if exc is None:
        return "done"
    if isinstance(exc, LeaseLost):  # retryable for the engine, an interruption for this attempt
        return "interrupted"
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, RetryableError):
        return "retryable_error"
    if isinstance(exc, Exception):
        return "error"
    return "interrupted"  # CancelledError, a simulated crash, SystemExit...


@contextmanager
def observe_step_attempt(workflow: str, step: str) -> Iterator[None]:
    """Time the durable step attempt run in the block and count it by how it ended (re-raises)."""
    started = time.perf_counter()
    error: BaseException | None = None
    try:
        yield
    except BaseException as exc:
        error = exc
        raise
    finally:
        outcome = _outcome(error)
        if outcome != "interrupted":  # an interrupted attempt's duration says nothing about the step
            STEP_DURATION.labels(workflow, step).observe(time.perf_counter() - started)
        STEP_ATTEMPTS.labels(workflow, step, outcome).inc()


# -------------------------------------------------------------------------------------------------
# Read at scrape time
# -------------------------------------------------------------------------------------------------


def database_families(runs: Mapping[tuple[str, str], int] | None) -> list[Metric]:
    """``erpcommerce_database_up`` and, when the database answered (``runs`` not None), the runs."""
    up = GaugeMetricFamily(
        "erpcommerce_database_up", "1 when this scrape could read the database, 0 when the query failed."
    )
    up.add_metric([], 0 if runs is None else 1)
    return [up] if runs is None else [up, *run_families(runs)]


def run_families(runs: Mapping[tuple[str, str], int]) -> list[Metric]:
    """``erpcommerce_workflow_runs{workflow,state}`` from counts by (workflow name, state)."""
    family = GaugeMetricFamily(
        "erpcommerce_workflow_runs",
        "Durable workflow runs in the database, by workflow and state (finished runs are pruned "
        "after [workflows] retention_days).",
        labels=["workflow", "state"],
    )
    for (workflow, state), count in sorted(runs.items()):
        family.add_metric([workflow, state], count)
    return [family]


def queue_families(status: QueueStatus) -> list[Metric]:
    """The queue depth, jobs in progress, the read's success and the workers' (or runner's) figures."""
    up = GaugeMetricFamily(
        "erpcommerce_queue_status_up",
        "1 when the queue status was read (Redis, or the database in embedded mode), 0 when it failed.",
        labels=["mode"],
    )
    up.add_metric([status.mode], 0 if status.error else 1)
    jobs = GaugeMetricFamily(
        "erpcommerce_queue_jobs",
        "Jobs (arq) or runs (embedded) by state: queued (due now), deferred (due later: retry "
        "backoff), in_progress (executing).",
        labels=["mode", "state"],
    )
    for state, count in (("queued", status.queued), ("deferred", status.deferred), ("in_progress", status.in_progress)):
        jobs.add_metric([status.mode, state], count)
    families: list[Metric] = [up, jobs]
    if status.mode == "arq" and status.error is None:
        families.extend(_health_families(status))
    if status.runner is not None:
        families.extend(_runner_families(status.runner))
    return families


def _health_families(status: QueueStatus) -> list[Metric]:
    reported = GaugeMetricFamily(
        "erpcommerce_arq_workers_reporting",
        "Workers whose arq health check for the queue has not expired; 0 means no worker reported lately.",
        labels=["queue"],
    )
    reported.add_metric([status.queue_name or ""], len(status.workers))
    figures = GaugeMetricFamily(
        "erpcommerce_arq_health_check_jobs",
        "The figures of each worker's latest arq health check (j_complete, j_failed, j_retried, j_ongoing, "
        "queued; counted by that worker since it started).",
        labels=["queue", "worker", "figure"],
    )
    for health in status.workers:
        worker = health.key.rsplit(":health-check:", 1)[-1]
        for name, value in sorted(health.figures.items()):
            figures.add_metric([status.queue_name or "", worker, name], value)
    return [reported, figures]


def _runner_families(runner: Mapping[str, object]) -> list[Metric]:
    runs = GaugeMetricFamily(
        "erpcommerce_runner_runs",
        "The in-process runner (embedded mode): runs executing, and submitted runs waiting for a slot.",
        labels=["state"],
    )
    for state in ("running", "waiting_for_slot"):
        value = runner.get(state)
        if isinstance(value, int):
            runs.add_metric([state], value)
    slots = GaugeMetricFamily(
        "erpcommerce_runner_slots",
        "The in-process runner's max_concurrent_runs ([workflows] max_concurrent_runs).",
    )
    max_runs = runner.get("max_concurrent_runs")
    slots.add_metric([], max_runs if isinstance(max_runs, int) else 0)
    loops = GaugeMetricFamily(
        "erpcommerce_runner_loop_up",
        "1 while a background loop of the in-process runner (recovery, pruning, event dispatch, "
        "scheduler) is alive.",
        labels=["loop"],
    )
    alive = runner.get("loops")
    for name, up in sorted(alive.items() if isinstance(alive, dict) else ()):
        loops.add_metric([str(name)], 1 if up else 0)
    if "scheduler_running" in runner and runner.get("scheduled_jobs"):
        loops.add_metric(["scheduler"], 1 if runner["scheduler_running"] else 0)
    return [runs, slots, loops]


def webhook_families(figures: Mapping[str, WebhookFigures]) -> list[Metric]:
    """``erpcommerce_webhook_deliveries_total{source,outcome}`` and rejections by reason."""
    deliveries = CounterMetricFamily(
        "erpcommerce_webhook_deliveries",
        "Webhook deliveries received by this process, by source and outcome (accepted, duplicate, rejected).",
        labels=["source", "outcome"],
    )
    rejections = CounterMetricFamily(
        "erpcommerce_webhook_rejections",
        "Webhook deliveries refused by this process, by source and reason (bad_signature, malformed...).",
        labels=["source", "reason"],
    )
    for source, figure in sorted(figures.items()):
        deliveries.add_metric([source, "accepted"], figure.accepted)
        deliveries.add_metric([source, "duplicate"], figure.duplicates)
        deliveries.add_metric([source, "rejected"], sum(figure.rejected.values()))
        for reason, count in sorted(figure.rejected.items()):
            rejections.add_metric([source, reason], count)
    return [deliveries, rejections]


class _Page:
    """The default registry's metrics followed by the scrape's own families (``generate_latest`` input)."""

    def __init__(self, extra: Iterable[Metric]) -> None:
        self.extra = list(extra)

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
        yield from self.extra


def exposition(extra: Iterable[Metric] = (), accept: str = "") -> tuple[bytes, str]:
    """The page and its content type: every registered metric, then ``extra``.

    :param accept: the scraper's ``Accept`` header: Prometheus' text format unless it asks for
        OpenMetrics.
    """
    encode, content_type = choose_encoder(accept)
    return encode(_Page(extra)), content_type
