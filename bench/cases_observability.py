"""What metrics cost on a get (issue 20): ``python -m bench --only observability``, or
``python -m bench.cases_observability`` for this table alone.

One blocking get, on Redis and on memory://, measured in interleaved rounds: by a copy of
the driver without the event stream (the reference: what a get cost before events), by the
driver with nothing listening, and with a Prometheus registry, an OpenTelemetry SDK
(metrics), both, both with the SDK's exact histogram (one SDK call per get), and both as
the listeners were before the shared tally (one library call per instrument and get); and
OpenTelemetry spans inside a trace. Only the
case's exporters run while it runs (switched, untimed, before every call). Nothing here
asserts a time.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from time import perf_counter
from typing import Any, TypeVar

from returns.result import Failure, Result, Success

from bench.harness import Case, Group, measure_group
from cache_bridge import create_sync_cache
from cache_bridge.engine import operations as ops
from cache_bridge.engine.drivers import Gate, drive_sync, to_cache_error
from cache_bridge.engine.operations import Op
from cache_bridge.errors import DomainError
from cache_bridge.observability import OperationEvent, add_listener, remove_listener
from cache_bridge.observability.tally import LATENCY_BUCKETS

__all__ = ["REFERENCE", "observability_groups", "stop_exporters"]

T = TypeVar("T")

REFERENCE = "driver without the event stream"
SECTION = "observability"


def _drive_without_events(
    op: Op[T], execute: Callable[[Any], Any], gate: Gate | None
) -> Result[T, DomainError]:
    """cache_bridge.engine.drivers.drive_sync minus its event lines (the "before")."""
    if gate is not None and (refused := gate.admit(op)) is not None:
        return refused
    steps = op.steps
    try:
        command = next(steps)
        while True:
            command = steps.send(execute(command))
    except StopIteration as done:
        result: Result[T, DomainError] = Success(done.value)
    except Exception as exc:
        steps.close()
        result = Failure(to_cache_error(exc, op.name, op.key))
    if gate is not None:
        gate.settle(result)
    return result


class _PerCall:
    """The listeners as they were before the shared tally (the "before" rows): every call
    goes through the metrics library, one call per instrument."""

    def __init__(self, instruments: Callable[[Any], None]) -> None:
        self._record = instruments

    def _hear(self, event: Any) -> None:
        if isinstance(event, OperationEvent):
            self._record(event)

    def start(self) -> None:
        add_listener(self._hear)

    def stop(self) -> None:
        remove_listener(self._hear)


def _before_prometheus(registry: Any) -> _PerCall:
    import prometheus_client

    labels = ["operation", "outcome", "adapter"]
    calls = prometheus_client.Counter("before_operations", "", labels, registry=registry)
    reads = prometheus_client.Counter(
        "before_reads", "", ["operation", "result"], registry=registry
    )
    latency = prometheus_client.Histogram(
        "before_duration_seconds", "", ["operation"], buckets=LATENCY_BUCKETS, registry=registry
    )

    def record(event: Any) -> None:
        calls.labels(event.operation, event.outcome, event.adapter).inc()
        latency.labels(event.operation).observe(event.duration)
        if event.hit is not None:
            reads.labels(event.operation, "hit" if event.hit else "miss").inc()

    return _PerCall(record)


def _before_otel(provider: Any) -> _PerCall:
    meter = provider.get_meter("before")
    calls = meter.create_counter("before.operations")
    reads = meter.create_counter("before.reads")
    latency = meter.create_histogram("before.duration", unit="s")

    def record(event: Any) -> None:
        op, outcome = event.operation, event.outcome
        calls.add(1, {"operation": op, "outcome": outcome, "adapter": event.adapter})
        latency.record(event.duration, {"operation": op, "outcome": outcome})
        if event.hit is not None:
            reads.add(1, {"operation": op, "result": "hit" if event.hit else "miss"})

    return _PerCall(record)


class _InsideATrace:
    """Spans for every call, inside a recorded span (the SDK with no span processor: the
    cost of making and ending the spans, not of exporting them)."""

    def __init__(self) -> None:
        from opentelemetry import context, trace
        from opentelemetry.sdk.trace import TracerProvider

        from cache_bridge.observability.otel import OpenTelemetryTracing

        provider = TracerProvider()
        self._context, self._trace = context, trace
        self._parent = provider.get_tracer("bench").start_span("request")
        self._tracing = OpenTelemetryTracing(provider)
        self._token: Any = None

    def start(self) -> None:
        self._tracing.start()
        in_span = self._trace.set_span_in_context(self._parent)
        self._token = self._context.attach(in_span)

    def stop(self) -> None:
        self._context.detach(self._token)
        self._tracing.stop()


def _listeners() -> dict[str, list[Any]]:
    """The exporters of each case."""
    import prometheus_client
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from cache_bridge.observability.otel import OpenTelemetryMetrics
    from cache_bridge.observability.prometheus import PrometheusMetrics

    def registry() -> Any:
        return prometheus_client.CollectorRegistry()

    def provider() -> Any:
        return MeterProvider(metric_readers=[InMemoryMetricReader()])

    return {
        "nothing listening": [],
        "Prometheus registry": [PrometheusMetrics(registry())],
        "OpenTelemetry SDK": [OpenTelemetryMetrics(provider())],
        "OpenTelemetry SDK + Prometheus": [
            OpenTelemetryMetrics(provider()),
            PrometheusMetrics(registry()),
        ],
        "both, with the SDK's exact histogram": [
            OpenTelemetryMetrics(provider(), histogram=True),
            PrometheusMetrics(registry()),
        ],
        "before: OTel SDK + Prometheus per call": [
            _before_otel(provider()),
            _before_prometheus(registry()),
        ],
        "OTel spans, inside a trace": [_InsideATrace()],
    }


_running: list[Any] = []


def _only(wanted: list[Any]) -> Callable[[], None]:
    """A setup that leaves exactly ``wanted`` running (a no-op when they already are)."""

    def setup() -> None:
        if _running != wanted:
            for exporter in _running:
                exporter.stop()
            for exporter in wanted:
                exporter.start()
            _running[:] = wanted

    return setup


def stop_exporters() -> None:
    """Stop the exporters the last case started."""
    _only([])()


def _group(title: str, url: str, n: int, listeners: dict[str, list[Any]]) -> Group:
    cache: Any = create_sync_cache(url, key_prefix="bench-observability")
    cache.set("k", "v").unwrap()
    ns, execute, guard, origin = cache.keyspace, cache.executor, cache.guard, cache.origin
    cases = [
        Case(
            REFERENCE,
            lambda: _drive_without_events(ops.get(ns, "k"), execute, guard),
            setup=_only([]),
        )
    ]
    for label, wanted in listeners.items():
        cases.append(
            Case(
                label,
                lambda: drive_sync(ops.get(ns, "k"), execute, guard, origin),
                setup=_only(wanted),
            )
        )
    return Group(title, SECTION, REFERENCE, cases, n)


def observability_groups(redis_url: str, n: int) -> list[Group]:
    """The get on Redis and on memory://, each with every case of :func:`_listeners`."""
    listeners = _listeners()
    return [
        _group("get, Redis", redis_url, n, listeners),
        _group("get, memory://", "memory://bench-observability", n, listeners),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cases_observability", description=__doc__
    )
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds (default 15)")
    parser.add_argument("--n", type=int, default=2000, help="calls per round (default 2000)")
    args = parser.parse_args(argv)
    from cache_bridge.testing import RedisServer

    server = RedisServer()
    server.start()
    started = perf_counter()
    try:
        for group in observability_groups(server.url, args.n):
            measured = measure_group(group, args.rounds)
            stop_exporters()
            base = next(m for m in measured if m.impl == "nothing listening")
            print(f"{group.section} | {group.name} (ratio: ops/s against {group.reference})")
            for m in measured:
                added = m.p50_us - base.p50_us
                share = 100 * added / base.p50_us
                print(
                    f"  {m.impl:38} p50 {m.p50_us:7.2f} us  cpu {m.cpu_us_per_op:6.2f} us/get"
                    f"  p50 vs nothing listening {added:+6.2f} us ({share:+5.1f}%)"
                )
    finally:
        server.cleanup()
    print(
        "The memory:// rows give what a listener adds (CPU only); on Redis the server's "
        "scheduling moves the median by more on a busy machine. make bench reports the "
        "memory:// additions over the median of a Redis get."
    )
    print(f"done in {perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
