"""Prometheus metrics (cache_bridge/observability/prometheus.py), read back from a
prometheus_client registry: hits, misses and errors on memory:// and a real Redis, breaker
opening and closing, rate-limit refusals."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from cache_bridge import create_sync_cache
from cache_bridge.observability import RateLimitEvent, emit
from cache_bridge.observability.prometheus import PrometheusMetrics
from cache_bridge.resilience.breaker import CircuitBreaker

prometheus_client = pytest.importorskip("prometheus_client")


def _value(registry: Any, name: str, **labels: str) -> float:
    """The sum of the samples ``name`` whose labels include ``labels``."""
    return sum(
        float(sample.value)
        for metric in registry.collect()
        for sample in metric.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


@pytest.mark.parametrize("where", ["memory", "redis"])
def test_hits_misses_and_latency(where: str, request: pytest.FixtureRequest) -> None:
    url = "memory://" if where == "memory" else str(request.getfixturevalue("redis_url"))
    if where == "redis":
        request.getfixturevalue("redis_client")
    registry = prometheus_client.CollectorRegistry()
    cache = create_sync_cache(url, key_prefix="prom")
    with PrometheusMetrics(registry):
        cache.set("k", "v")
        cache.get("k")
        cache.get("absent")
    cache.close()
    assert _value(registry, "cache_bridge_reads_total", operation="get", result="hit") == 1
    assert _value(registry, "cache_bridge_reads_total", operation="get", result="miss") == 1
    count = "cache_bridge_operation_duration_seconds_count"
    assert _value(registry, count, operation="get") == 2
    total = "cache_bridge_operations_total"
    assert _value(registry, total, operation="get", outcome="success") == 2


def test_errors_and_breaker_transitions() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    registry = prometheus_client.CollectorRegistry()
    cache = create_sync_cache(f"redis://127.0.0.1:{port}/0")
    server = f"redis://127.0.0.1:{port}/0"
    with PrometheusMetrics(registry):
        cache.get("k")
        breaker = CircuitBreaker(server="redis://example:6379/0")
        breaker.failed()
        breaker.succeeded()
    cache.close()
    failed = _value(
        registry,
        "cache_bridge_operations_total",
        operation="get",
        outcome="CacheConnectionError",
        adapter="SyncRedisCache",
    )
    assert failed == 1
    opened = "cache_bridge_breaker_transitions_total"
    assert _value(registry, opened, server=server, state="open") == 1
    assert _value(registry, "cache_bridge_breaker_open", server=server) == 1
    assert _value(registry, opened, server="redis://example:6379/0", state="closed") == 1
    assert _value(registry, "cache_bridge_breaker_open", server="redis://example:6379/0") == 0


def test_rate_limit_refusals() -> None:
    registry = prometheus_client.CollectorRegistry()
    with PrometheusMetrics(registry):
        emit(RateLimitEvent("login", allowed=False))
    name = "cache_bridge_ratelimit_decisions_total"
    assert _value(registry, name, limit="login", decision="refused", failed="") == 1
