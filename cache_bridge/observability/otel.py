"""OpenTelemetry metrics from the event stream (the ``otel`` extra: the API package only;
the application configures the SDK and its exporter).

Instruments (meter ``cache_bridge``; docs/observability.md):

- ``cache_bridge.operations`` (counter; ``operation``, ``outcome``, ``adapter``);
- ``cache_bridge.reads`` (counter; ``operation``, ``result``: ``hit`` or ``miss``);
- ``cache_bridge.operation.duration`` (histogram, seconds; ``operation``, ``outcome``);
- ``cache_bridge.breaker.transitions`` (counter; ``server``, ``state``);
- ``cache_bridge.ratelimit.decisions`` (counter; ``limit``, ``decision``, ``failed``).

Attributes are low-cardinality: never keys or values.
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

__all__ = ["OpenTelemetryMetrics"]


def _metrics_api() -> Any:
    try:
        return importlib.import_module("opentelemetry.metrics")
    except ImportError as exc:  # a message that says what to install
        raise ImportError(
            "OpenTelemetryMetrics needs opentelemetry-api: pip install 'cache-bridge[otel]'"
        ) from exc


class OpenTelemetryMetrics(Subscribed):
    """A listener that records the event stream with an OpenTelemetry meter (from
    ``meter_provider``, else the global one). Call :meth:`start` (or use ``with``)."""

    def __init__(self, meter_provider: Any = None) -> None:
        api = _metrics_api()
        meter = api.get_meter("cache_bridge", meter_provider=meter_provider)
        self.operations = meter.create_counter(
            "cache_bridge.operations", unit="{call}", description="Cache calls, by outcome"
        )
        self.reads = meter.create_counter(
            "cache_bridge.reads", unit="{call}", description="Successful reads, hit or miss"
        )
        self.duration = meter.create_histogram(
            "cache_bridge.operation.duration", unit="s", description="Cache call latency"
        )
        self.transitions = meter.create_counter(
            "cache_bridge.breaker.transitions", description="Circuit breaker openings, closings"
        )
        self.ratelimit = meter.create_counter(
            "cache_bridge.ratelimit.decisions", description="Rate-limit decisions"
        )

    def __call__(self, event: Event) -> None:
        match event:
            case OperationEvent(operation=op, outcome=outcome, hit=hit, adapter=adapter):
                self.operations.add(1, {"operation": op, "outcome": outcome, "adapter": adapter})
                self.duration.record(event.duration, {"operation": op, "outcome": outcome})
                if hit is not None:
                    self.reads.add(1, {"operation": op, "result": "hit" if hit else "miss"})
            case BreakerEvent(state=state, server=server):
                self.transitions.add(1, {"server": server, "state": state})
            case RateLimitEvent(limit=limit, allowed=allowed, failed=failed):
                decision = "allowed" if allowed else "refused"
                attributes = {"limit": limit, "decision": decision, "failed": failed or ""}
                self.ratelimit.add(1, attributes)
