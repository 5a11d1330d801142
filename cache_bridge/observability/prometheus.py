"""Prometheus metrics from the event stream (the ``prometheus`` extra: prometheus_client).

Metric names (``namespace`` defaults to ``cache_bridge``; docs/observability.md):

- ``cache_bridge_operations_total{operation, outcome, adapter}``: calls, by how they ended
  (``success`` or the error class);
- ``cache_bridge_reads_total{operation, result}``: successful reads, ``hit`` or ``miss``;
- ``cache_bridge_operation_duration_seconds{operation}``: a histogram of call latency;
- ``cache_bridge_breaker_transitions_total{server, state}``: circuit breaker openings and
  closings (``server`` without credentials);
- ``cache_bridge_breaker_open{server}``: 1 while that breaker is open, else 0;
- ``cache_bridge_ratelimit_decisions_total{limit, decision, failed}``: rate-limit decisions.

Labels are low-cardinality: never keys or values.
"""

from __future__ import annotations

import importlib
from typing import Any

from cache_bridge.observability.events import (
    BreakerEvent,
    Event,
    OperationEvent,
    RateLimitEvent,
    Subscribed,
)

__all__ = ["LATENCY_BUCKETS", "PrometheusMetrics"]

#: Histogram buckets (seconds) for cache calls: from 100 µs to 2.5 s.
LATENCY_BUCKETS: tuple[float, ...] = (
    *(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1),
    *(0.25, 0.5, 1.0, 2.5),
)


def _client() -> Any:
    try:
        return importlib.import_module("prometheus_client")
    except ImportError as exc:  # a message that says what to install
        raise ImportError(
            "PrometheusMetrics needs prometheus_client: pip install 'cache-bridge[prometheus]'"
        ) from exc


class PrometheusMetrics(Subscribed):
    """A listener that records the event stream in a prometheus_client registry (the
    default registry unless ``registry`` is given). Call :meth:`start` (or use ``with``)."""

    def __init__(self, registry: Any = None, namespace: str = "cache_bridge") -> None:
        client = _client()
        where: dict[str, Any] = {"namespace": namespace}
        if registry is not None:
            where["registry"] = registry
        self.operations = client.Counter(
            "operations", "Cache calls, by outcome", ["operation", "outcome", "adapter"], **where
        )
        self.reads = client.Counter(
            "reads", "Successful cache reads, hit or miss", ["operation", "result"], **where
        )
        self.duration = client.Histogram(
            "operation_duration_seconds",
            "Cache call latency",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            **where,
        )
        self.transitions = client.Counter(
            "breaker_transitions",
            "Circuit breaker openings and closings",
            ["server", "state"],
            **where,
        )
        self.breaker_open = client.Gauge(
            "breaker_open", "1 while the circuit breaker is open", ["server"], **where
        )
        self.ratelimit = client.Counter(
            "ratelimit_decisions",
            "Rate-limit decisions",
            ["limit", "decision", "failed"],
            **where,
        )

    def __call__(self, event: Event) -> None:
        match event:
            case OperationEvent(operation=op, outcome=outcome, hit=hit, adapter=adapter):
                self.operations.labels(op, outcome, adapter).inc()
                self.duration.labels(op).observe(event.duration)
                if hit is not None:
                    self.reads.labels(op, "hit" if hit else "miss").inc()
            case BreakerEvent(state=state, server=server):
                self.transitions.labels(server, state).inc()
                self.breaker_open.labels(server).set(1 if state == "open" else 0)
            case RateLimitEvent(limit=limit, allowed=allowed, failed=failed):
                decision = "allowed" if allowed else "refused"
                self.ratelimit.labels(limit, decision, failed or "").inc()
