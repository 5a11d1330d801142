"""OpenTelemetry metrics (cache_bridge/observability/otel.py), read back through the SDK's
in-memory reader: hits, misses and latency on memory:// and a real Redis, errors and breaker
opening, rate-limit refusals."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from cache_bridge import create_sync_cache
from cache_bridge.observability import RateLimitEvent, emit
from cache_bridge.observability.otel import OpenTelemetryMetrics
from cache_bridge.resilience.breaker import CircuitBreaker

sdk_metrics = pytest.importorskip("opentelemetry.sdk.metrics")
sdk_export = pytest.importorskip("opentelemetry.sdk.metrics.export")


def _provider() -> tuple[Any, Any]:
    reader = sdk_export.InMemoryMetricReader()
    return sdk_metrics.MeterProvider(metric_readers=[reader]), reader


def _points(reader: Any, name: str) -> list[tuple[dict[str, Any], Any]]:
    """(attributes, point) of every data point of the metric ``name``."""
    data = reader.get_metrics_data()
    return [
        (dict(point.attributes), point)
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == name
        for point in metric.data.data_points
    ]


def _sum(reader: Any, name: str, **attributes: str) -> float:
    points = _points(reader, name)
    return float(sum(p.value for a, p in points if attributes.items() <= a.items()))


@pytest.mark.parametrize("where", ["memory", "redis"])
def test_hits_misses_and_latency(where: str, request: pytest.FixtureRequest) -> None:
    url = "memory://" if where == "memory" else str(request.getfixturevalue("redis_url"))
    if where == "redis":
        request.getfixturevalue("redis_client")
    provider, reader = _provider()
    cache = create_sync_cache(url, key_prefix="otel")
    with OpenTelemetryMetrics(provider):
        cache.set("k", "v")
        cache.get("k")
        cache.get("absent")
    cache.close()
    assert _sum(reader, "cache_bridge.reads", operation="get", result="hit") == 1
    assert _sum(reader, "cache_bridge.reads", operation="get", result="miss") == 1
    assert _sum(reader, "cache_bridge.operations", operation="get", outcome="success") == 2
    assert _sum(reader, "cache_bridge.reads", result="hit", prefix="otel") == 1
    server = "memory://" if where == "memory" else url
    # cumulative buckets: every get took at most 2.5 s, and at most +Inf
    buckets = "cache_bridge.operation.duration.bucket"
    assert _sum(reader, buckets, operation="get", server=server, le="2.5") == 2
    assert _sum(reader, buckets, operation="get", server=server, le="+Inf") == 2
    assert _sum(reader, "cache_bridge.operation.duration.sum", operation="get") > 0
    assert _points(reader, "cache_bridge.operation.duration") == []  # not asked for


def test_the_histogram_when_asked_for() -> None:
    provider, reader = _provider()
    cache = create_sync_cache("memory://", key_prefix="otel")
    with OpenTelemetryMetrics(provider, histogram=True):
        cache.get("k")
        cache.get("k")
    durations = _points(reader, "cache_bridge.operation.duration")
    assert [p.count for a, p in durations if a["operation"] == "get"] == [2]


def test_errors_breaker_and_rate_limit_refusals() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider, reader = _provider()
    cache = create_sync_cache(f"redis://127.0.0.1:{port}/0")
    with OpenTelemetryMetrics(provider):
        cache.get("k")
        emit(RateLimitEvent("login", allowed=False))
        emit(RateLimitEvent("login", allowed=True, failed="open"))
        other = CircuitBreaker(server="redis://otel-example:6379/0")
        other.failed()
        other.succeeded()
    cache.close()
    # operation="get": the breaker's background probe (a ping) may fail meanwhile too.
    assert (
        _sum(reader, "cache_bridge.operations", operation="get", outcome="CacheConnectionError")
        == 1
    )
    server = f"redis://127.0.0.1:{port}/0"
    assert _sum(reader, "cache_bridge.breaker.transitions", server=server, state="open") == 1
    assert _sum(reader, "cache_bridge.ratelimit.decisions", decision="refused") == 1
    assert _sum(reader, "cache_bridge.ratelimit.decisions", failed="open") == 1
    closed = {"server": "redis://otel-example:6379/0", "state": "closed"}
    assert _sum(reader, "cache_bridge.breaker.transitions", **closed) == 1
