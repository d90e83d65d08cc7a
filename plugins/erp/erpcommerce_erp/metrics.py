"""The ERP plugin's Prometheus metrics: latency and errors of every ERP call, by operation.

Registered in ``prometheus_client``'s default registry on import, so they appear on the
``/metrics`` page of every process that calls the ERP (servers for storefront questions, workers
for syncs and orders). :class:`~erpcommerce_erp.gateway.ErpGateway` observes each call
(:func:`observe_call`); operations are the gateway's method names, a bounded set.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

__all__ = [
    "ERP_CALL_DURATION",
    "ERP_CALL_ERRORS",
    "observe_call",
]

# A storefront question answers in tens of ms; a sync page or an order create may take minutes.
ERP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

ERP_CALL_DURATION = Histogram(
    "erpcommerce_erp_call_duration_seconds",
    "Duration of calls to the ERP client made by this process, by operation, whatever their outcome.",
    ["operation"],
    buckets=ERP_BUCKETS,
)
ERP_CALL_ERRORS = Counter(
    "erpcommerce_erp_call_errors",
    "Failed calls to the ERP client, by operation and error: timeout, unavailable (unreachable or "
    "a client error), malformed (an answer outside the contract), refused (the ERP said no, or a "
    "configuration error), not_implemented (an optional call the client does not offer).",
    ["operation", "error"],
)


def observe_call(operation: str, seconds: float, error: str | None) -> None:
    """Record one ERP call: its duration and, when it failed, the kind of failure."""
    ERP_CALL_DURATION.labels(operation).observe(seconds)
    if error is not None:
        ERP_CALL_ERRORS.labels(operation, error).inc()
