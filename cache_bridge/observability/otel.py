"""OpenTelemetry metrics and spans from the event stream (the ``otel`` extra: the API
package only; the application configures the SDK and its exporter).

Instruments (meter ``cache_bridge``; docs/observability.md), all observable (read from the
process's shared :class:`~cache_bridge.observability.tally.Tally` when the SDK collects, so
a cache call costs one dictionary update, not one SDK call per instrument):

- ``cache_bridge.operations`` (counter; ``operation``, ``outcome``, ``adapter``, ``server``,
  ``prefix``);
- ``cache_bridge.reads`` (counter; ``operation``, ``result``: ``hit`` or ``miss``,
  ``server``, ``prefix``);
- ``cache_bridge.operation.duration.bucket`` (counter; ``operation``, ``server``, ``le``:
  calls that took at most ``le`` seconds, cumulative as Prometheus histogram buckets;
  ``cache_bridge_operation_duration_bucket_total`` once exported to Prometheus) and
  ``cache_bridge.operation.duration.sum`` (counter, seconds; ``operation``, ``server``);
- ``cache_bridge.breaker.transitions`` (counter; ``server``, ``state``);
- ``cache_bridge.ratelimit.decisions`` (counter; ``limit``, ``decision``, ``failed``);
- ``cache_bridge.stampede.calls`` (counter; ``outcome``, ``server``, ``prefix``): get-or-compute
  calls by what they ended as, and ``cache_bridge.stampede.compute.duration.sum`` (counter,
  seconds; the same attributes): the seconds spent computing in them;
- ``cache_bridge.near_cache.events`` (counter; ``event``: ``hit``, ``invalidation``,
  ``eviction``, ``reset``; ``server``): what Redis near caches did.

With ``histogram=True``, every call is also recorded in the histogram
``cache_bridge.operation.duration`` (seconds; ``operation``, ``outcome``): an SDK call per
cache call (measured by ``python -m bench --only observability``).

Attributes are low-cardinality: never keys or values. :class:`OpenTelemetryTracing` makes a
span per operation.
"""

from __future__ import annotations

import importlib
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Self

from cache_bridge.observability.events import (
    Event,
    OperationEvent,
    Subscribed,
    add_listener,
    remove_listener,
)
from cache_bridge.observability.tally import TallyView

__all__ = ["OpenTelemetryMetrics", "OpenTelemetryTracing"]


def _api(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # a message that says what to install
        raise ImportError(
            "the OpenTelemetry listeners need opentelemetry-api: pip install 'cache-bridge[otel]'"
        ) from exc


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


class OpenTelemetryMetrics(TallyView):
    """The instruments above, on an OpenTelemetry meter (from ``meter_provider``, else the
    global one), counting from :meth:`start` (or ``with``) to :meth:`stop`."""

    def __init__(self, meter_provider: Any = None, histogram: bool = False) -> None:
        super().__init__()
        metrics = _api("opentelemetry.metrics")
        self._observation = metrics.Observation
        meter = metrics.get_meter("cache_bridge", meter_provider=meter_provider)
        self.histogram = None
        if histogram:
            self.histogram = meter.create_histogram(
                "cache_bridge.operation.duration", unit="s", description="Cache call latency"
            )
        for name, unit, description, callback in [
            ("cache_bridge.operations", "{call}", "Cache calls", self._operations),
            ("cache_bridge.reads", "{call}", "Successful reads, hit or miss", self._reads),
            ("cache_bridge.operation.duration.bucket", "{call}", "Calls within le", self._buckets),
            ("cache_bridge.operation.duration.sum", "s", "Seconds in calls", self._seconds),
            ("cache_bridge.breaker.transitions", "{transition}", "Breakers", self._transitions),
            ("cache_bridge.ratelimit.decisions", "{decision}", "Rate limits", self._decisions),
            ("cache_bridge.stampede.calls", "{call}", "Get-or-compute calls", self._stampede),
            ("cache_bridge.stampede.compute.duration.sum", "s", "Computing", self._computing),
            ("cache_bridge.near_cache.events", "{event}", "Near caches", self._near),
        ]:
            meter.create_observable_counter(
                name, callbacks=[callback], unit=unit, description=description
            )

    def start(self) -> Self:
        if self.histogram is not None and not self.running:
            add_listener(self._record)
        return super().start()

    def stop(self) -> None:
        if self.histogram is not None and self.running:
            remove_listener(self._record)
        super().stop()

    def _record(self, event: Event) -> None:
        if self.histogram is not None and isinstance(event, OperationEvent):
            attributes = {"operation": event.operation, "outcome": event.outcome}
            self.histogram.record(event.duration, attributes)

    def _observe(self, counts: dict[tuple[str, ...], float], names: tuple[str, ...]) -> list[Any]:
        observation = self._observation
        return [observation(n, dict(zip(names, key, strict=True))) for key, n in counts.items()]

    def _operations(self, options: Any) -> Iterable[Any]:
        counts: defaultdict[tuple[str, ...], float] = defaultdict(float)
        for (op, outcome, _, origin), row in self.counts().calls.items():
            counts[op, outcome, origin.adapter, origin.server, origin.prefix] += row[0]
        return self._observe(counts, ("operation", "outcome", "adapter", "server", "prefix"))

    def _reads(self, options: Any) -> Iterable[Any]:
        counts: defaultdict[tuple[str, ...], float] = defaultdict(float)
        for (op, _, hit, origin), row in self.counts().calls.items():
            if hit is not None:
                counts[op, "hit" if hit else "miss", origin.server, origin.prefix] += row[0]
        return self._observe(counts, ("operation", "result", "server", "prefix"))

    def _buckets(self, options: Any) -> Iterable[Any]:
        counts: defaultdict[tuple[str, ...], float] = defaultdict(float)
        bounds = (*self.bounds, float("inf"))
        for (op, _, _, origin), row in self.counts().calls.items():
            seen = 0.0
            for bound, n in zip(bounds, row[2:], strict=True):
                seen += n
                counts[op, origin.server, _le(bound)] += seen
        return self._observe(counts, ("operation", "server", "le"))

    def _seconds(self, options: Any) -> Iterable[Any]:
        counts: defaultdict[tuple[str, ...], float] = defaultdict(float)
        for (op, _, _, origin), row in self.counts().calls.items():
            counts[op, origin.server] += row[1]
        return self._observe(counts, ("operation", "server"))

    def _transitions(self, options: Any) -> Iterable[Any]:
        counts = {key: float(n) for key, n in self.counts().transitions.items()}
        return self._observe(counts, ("server", "state"))

    def _decisions(self, options: Any) -> Iterable[Any]:
        counts = {key: float(n) for key, n in self.counts().decisions.items()}
        return self._observe(counts, ("limit", "decision", "failed"))

    def _stampede(self, options: Any) -> Iterable[Any]:
        counts = {key: float(n) for key, n in self.counts().stampede.items()}
        return self._observe(counts, ("outcome", "server", "prefix"))

    def _near(self, options: Any) -> Iterable[Any]:
        counts = {key: float(n) for key, n in self.counts().near.items()}
        return self._observe(counts, ("event", "server"))

    def _computing(self, options: Any) -> Iterable[Any]:
        return self._observe(self.counts().compute_seconds, ("outcome", "server", "prefix"))


class OpenTelemetryTracing(Subscribed):
    """A listener that makes a span per cache operation with a tracer (from
    ``tracer_provider``, else the global one): named ``cache_bridge <operation>``, with the
    operation, outcome, hit, adapter, server and prefix (never the key), its real start and
    end, an error status when the call failed. With ``only_in_traces`` (the default), only
    inside a span that is being recorded (no trace of its own per cache call)."""

    def __init__(self, tracer_provider: Any = None, only_in_traces: bool = True) -> None:
        trace = _api("opentelemetry.trace")
        self._trace = trace
        self.tracer = trace.get_tracer("cache_bridge", tracer_provider=tracer_provider)
        self.only_in_traces = only_in_traces

    def __call__(self, event: Event) -> None:
        if not isinstance(event, OperationEvent):
            return
        if self.only_in_traces and not self._trace.get_current_span().is_recording():
            return
        end = time.time_ns()
        origin = event.origin
        attributes: dict[str, Any] = {
            "db.operation.name": event.operation,
            "cache_bridge.outcome": event.outcome,
            "cache_bridge.adapter": origin.adapter,
            "cache_bridge.server": origin.server,
            "cache_bridge.prefix": origin.prefix,
        }
        if event.hit is not None:
            attributes["cache_bridge.hit"] = event.hit
        if origin.server.startswith(("redis", "unix")):
            attributes["db.system.name"] = "redis"
        span = self.tracer.start_span(
            f"cache_bridge {event.operation}",
            kind=self._trace.SpanKind.CLIENT,
            attributes=attributes,
            start_time=end - int(event.duration * 1e9),
        )
        if event.outcome != "success":
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, event.outcome))
        span.end(end_time=end)
