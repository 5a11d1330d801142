"""Prometheus metrics from the event stream (the ``prometheus`` extra: prometheus_client).

Metric names (``namespace`` defaults to ``cache_bridge``; docs/observability.md):

- ``cache_bridge_operations_total{operation, outcome, adapter, server, prefix}``: calls, by
  how they ended (``success`` or the error class);
- ``cache_bridge_reads_total{operation, result, server, prefix}``: successful reads, ``hit``
  or ``miss``;
- ``cache_bridge_operation_duration_seconds{operation, server}``: a histogram of call
  latency;
- ``cache_bridge_breaker_transitions_total{server, state}``: circuit breaker openings and
  closings;
- ``cache_bridge_breaker_open{server}``: 1 while that breaker is open, else 0;
- ``cache_bridge_ratelimit_decisions_total{limit, decision, failed}``: rate-limit decisions;
- ``cache_bridge_stampede_calls_total{outcome, server, prefix}``: get-or-compute calls, by
  what they ended as (``fresh``, ``stale``, ``computed``...: ``STAMPEDE_OUTCOMES``);
- ``cache_bridge_stampede_compute_seconds_total{outcome, server, prefix}``: seconds spent
  computing values in them;
- ``cache_bridge_near_cache_events_total{event, server}``: what Redis near caches did:
  ``hit`` (reads answered from process memory), ``invalidation`` (keys invalidated by
  pushes), ``eviction`` (entries dropped for the bounds), ``reset`` (local stores emptied).

``server`` is a URL without credentials. Labels are low-cardinality: never keys or values.
While it runs, the process's shared :class:`~cache_bridge.observability.tally.Tally` adds up
each event (one dictionary update per call); the metrics are built when the registry is
scraped. :class:`MultiprocessPrometheusMetrics` records the same metrics with
prometheus_client's own objects on every call, for its multiprocess mode.
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from cache_bridge.observability.events import (
    BreakerEvent,
    Event,
    NearCacheEvent,
    OperationEvent,
    Origin,
    RateLimitEvent,
    StampedeEvent,
    Subscribed,
    without_credentials,
)
from cache_bridge.observability.tally import LATENCY_BUCKETS, CallKey, Counts, TallyView

__all__ = ["LATENCY_BUCKETS", "MultiprocessPrometheusMetrics", "PrometheusMetrics"]


def _client() -> Any:
    try:
        return importlib.import_module("prometheus_client.core")
    except ImportError as exc:  # a message that says what to install
        raise ImportError(
            "PrometheusMetrics needs prometheus_client: pip install 'cache-bridge[prometheus]'"
        ) from exc


class PrometheusMetrics(TallyView):
    """The metrics above, in a prometheus_client registry (the default registry unless
    ``registry`` is given): it registers itself there as a collector at once, and counts
    from :meth:`start` (or ``with``) to :meth:`stop`. The counts stay (and keep being
    exposed) after :meth:`stop`; :meth:`unregister` removes them from the registry."""

    def __init__(self, registry: Any = None, namespace: str = "cache_bridge") -> None:
        super().__init__()
        self._core = _client()
        self._prefix = f"{namespace}_" if namespace else ""
        self.registry = self._core.REGISTRY if registry is None else registry
        self.registry.register(self)

    def unregister(self) -> None:
        """Remove these metrics from the registry (stop listening first)."""
        self.registry.unregister(self)

    def describe(self) -> list[Any]:
        """The metric families, without samples (what a registry checks names against)."""
        return list(self._families(empty=True))

    def collect(self) -> Iterator[Any]:
        """The metric families with this listener's counts (called by the registry)."""
        return self._families(empty=False)

    def _families(self, empty: bool) -> Iterator[Any]:
        core, name = self._core, self._prefix
        operations = core.CounterMetricFamily(
            f"{name}operations",
            "Cache calls, by outcome",
            labels=["operation", "outcome", "adapter", "server", "prefix"],
        )
        reads = core.CounterMetricFamily(
            f"{name}reads",
            "Successful cache reads, hit or miss",
            labels=["operation", "result", "server", "prefix"],
        )
        duration = core.HistogramMetricFamily(
            f"{name}operation_duration_seconds",
            "Cache call latency",
            labels=["operation", "server"],
        )
        transitions = core.CounterMetricFamily(
            f"{name}breaker_transitions",
            "Circuit breaker openings and closings",
            labels=["server", "state"],
        )
        breaker_open = core.GaugeMetricFamily(
            f"{name}breaker_open", "1 while the circuit breaker is open", labels=["server"]
        )
        decisions = core.CounterMetricFamily(
            f"{name}ratelimit_decisions",
            "Rate-limit decisions",
            labels=["limit", "decision", "failed"],
        )
        stampede = core.CounterMetricFamily(
            f"{name}stampede_calls",
            "Get-or-compute calls, by what they ended as",
            labels=list(_STAMPEDE_LABELS),
        )
        computing = core.CounterMetricFamily(
            f"{name}stampede_compute_seconds",
            "Seconds spent computing values in get-or-compute calls",
            labels=list(_STAMPEDE_LABELS),
        )
        near = core.CounterMetricFamily(
            f"{name}near_cache_events", _NEAR_HELP, labels=["event", "server"]
        )
        if not empty:
            counts = self.counts()
            for labels, n in counts.near.items():
                near.add_metric(list(labels), float(n))
            for labels, n in counts.stampede.items():
                stampede.add_metric(list(labels), float(n))
            for labels, seconds in counts.compute_seconds.items():
                computing.add_metric(list(labels), seconds)
            self._fill_calls(counts, operations, reads, duration)
            for labels, n in counts.transitions.items():
                transitions.add_metric(list(labels), n)
            for server, is_open in counts.open.items():
                breaker_open.add_metric([server], 1 if is_open else 0)
            for labels, n in counts.decisions.items():
                decisions.add_metric(list(labels), n)
        yield from (operations, reads, duration, transitions, breaker_open, decisions)
        yield from (stampede, computing, near)

    def _fill_calls(self, counts: Counts, operations: Any, reads: Any, duration: Any) -> None:
        calls: defaultdict[tuple[str, ...], float] = defaultdict(float)
        hits: defaultdict[tuple[str, ...], float] = defaultdict(float)
        latency: dict[tuple[str, str], list[float]] = {}
        for (op, outcome, hit, origin), row in counts.calls.items():
            server, prefix = origin.server, origin.prefix
            calls[op, outcome, origin.adapter, server, prefix] += row[0]
            if hit is not None:
                hits[op, "hit" if hit else "miss", server, prefix] += row[0]
            summed = latency.setdefault((op, server), [0.0] * len(row))
            for i, value in enumerate(row):
                summed[i] += value
        for labels, n in calls.items():
            operations.add_metric(list(labels), n)
        for labels, n in hits.items():
            reads.add_metric(list(labels), n)
        for labels, row in latency.items():
            buckets, seen = [], 0.0
            for bound, n in zip((*self.bounds, float("inf")), row[2:], strict=True):
                seen += n
                buckets.append((_le(bound), seen))
            duration.add_metric(list(labels), buckets, sum_value=row[1])


_STAMPEDE_LABELS = ("outcome", "server", "prefix")
#: A server's label, without credentials (remembered: a near-cache hit may be frequent).
_server_label = lru_cache(maxsize=256)(without_credentials)
_NEAR_HELP = "Near-cache hits, keys invalidated, entries evicted, local stores reset"


def _le(bound: float) -> str:
    """A bucket bound as Prometheus writes it (``+Inf`` for the last)."""
    return "+Inf" if bound == float("inf") else repr(bound)


class MultiprocessPrometheusMetrics(Subscribed):
    """The metrics of :class:`PrometheusMetrics` (same names and labels), recorded with
    prometheus_client's own metric objects on every call: what its multiprocess mode
    (``PROMETHEUS_MULTIPROC_DIR``, for servers with several worker processes) reads. Costlier
    per call (a library call per instrument); start one in each worker."""

    def __init__(self, registry: Any = None, namespace: str = "cache_bridge") -> None:
        client = importlib.import_module("prometheus_client")
        _client()  # the same message when prometheus_client is missing
        where: dict[str, Any] = {"namespace": namespace}
        if registry is not None:
            where["registry"] = registry
        calls = ["operation", "outcome", "adapter", "server", "prefix"]
        self.operations = client.Counter("operations", "Cache calls, by outcome", calls, **where)
        reads = ["operation", "result", "server", "prefix"]
        self.reads = client.Counter("reads", "Successful cache reads, hit or miss", reads, **where)
        self.duration = client.Histogram(
            "operation_duration_seconds",
            "Cache call latency",
            ["operation", "server"],
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
            "breaker_open",
            "1 while the circuit breaker is open",
            ["server"],
            multiprocess_mode="livemax",
            **where,
        )
        self.ratelimit = client.Counter(
            "ratelimit_decisions", "Rate-limit decisions", ["limit", "decision", "failed"], **where
        )
        self.stampede = client.Counter(
            "stampede_calls",
            "Get-or-compute calls, by what they ended as",
            _STAMPEDE_LABELS,
            **where,
        )
        self.compute_seconds = client.Counter(
            "stampede_compute_seconds",
            "Seconds spent computing values in get-or-compute calls",
            _STAMPEDE_LABELS,
            **where,
        )
        self.near = client.Counter("near_cache_events", _NEAR_HELP, ["event", "server"], **where)
        # (operation, outcome, hit, origin) -> the children to update: labels() once each
        self._children: dict[CallKey, tuple[Any, Any, Any]] = {}

    def __call__(self, event: Event) -> None:
        if isinstance(event, OperationEvent):
            key = (event.operation, event.outcome, event.hit, event.origin)
            children = self._children.get(key)
            if children is None:
                children = self._children.setdefault(key, self._children_of(*key))
            calls, duration, reads = children
            calls.inc()
            duration.observe(event.duration)
            if reads is not None:
                reads.inc()
        elif isinstance(event, BreakerEvent):
            server = without_credentials(event.server)  # the label calls carry too
            self.transitions.labels(server, event.state).inc()
            self.breaker_open.labels(server).set(1 if event.state == "open" else 0)
        elif isinstance(event, RateLimitEvent):
            decision = "allowed" if event.allowed else "refused"
            self.ratelimit.labels(event.limit, decision, event.failed or "").inc()
        elif isinstance(event, NearCacheEvent):
            self.near.labels(event.kind, _server_label(event.server)).inc(event.count)
        elif isinstance(event, StampedeEvent):
            labels = (event.outcome, event.origin.server, event.origin.prefix)
            self.stampede.labels(*labels).inc()
            if event.compute_seconds is not None:
                self.compute_seconds.labels(*labels).inc(event.compute_seconds)

    def _children_of(
        self, op: str, outcome: str, hit: bool | None, origin: Origin
    ) -> tuple[Any, Any, Any]:
        server, prefix = origin.server, origin.prefix
        reads = None
        if hit is not None:
            reads = self.reads.labels(op, "hit" if hit else "miss", server, prefix)
        calls = self.operations.labels(op, outcome, origin.adapter, server, prefix)
        return calls, self.duration.labels(op, server), reads
