"""Stampede outcomes (StampedeEvent) in the metrics: read back from a prometheus_client
registry (PrometheusMetrics and MultiprocessPrometheusMetrics, same names and labels) and
through the OpenTelemetry SDK's in-memory reader, on memory:// and a real Redis."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from cache_bridge import create_sync_cache
from cache_bridge.observability.otel import OpenTelemetryMetrics
from cache_bridge.observability.prometheus import (
    MultiprocessPrometheusMetrics,
    PrometheusMetrics,
)
from cache_bridge.stampede import StampedeSettings, get_or_compute
from tests.support.clocks import ManualClock

prometheus_client = pytest.importorskip("prometheus_client")


class Clock(ManualClock):
    start = 1_000_000.0


def _three_calls(url: str) -> None:
    """computed, fresh, then (past its fresh time) refresh; prefix ``st``."""
    clock = Clock()
    settings = StampedeSettings(stale_ttl=60, clock=clock)
    key = f"m-{uuid.uuid4().hex}"
    cache: Any = create_sync_cache(url, key_prefix="st")  # a SyncCache face
    try:
        get_or_compute(cache, key, lambda: 1, ttl=10, settings=settings)
        get_or_compute(cache, key, lambda: 2, ttl=10, settings=settings)
        clock.now += 11
        get_or_compute(cache, key, lambda: 3, ttl=10, settings=settings)
    finally:
        cache.close()


def _url(where: str, request: pytest.FixtureRequest) -> str:
    if where == "memory":
        return f"memory://stampede-{uuid.uuid4().hex[:8]}"
    request.getfixturevalue("redis_client")
    return str(request.getfixturevalue("redis_url"))


@pytest.mark.parametrize("kind", [PrometheusMetrics, MultiprocessPrometheusMetrics])
@pytest.mark.parametrize("where", ["memory", "redis"])
def test_prometheus_counts_outcomes_and_seconds(
    kind: Any, where: str, request: pytest.FixtureRequest
) -> None:
    url = _url(where, request)
    registry = prometheus_client.CollectorRegistry()
    with kind(registry):
        _three_calls(url)
    _three_calls(url)  # stopped: not counted
    for outcome in ("computed", "fresh", "refresh"):
        labels = {"outcome": outcome, "server": url, "prefix": "st"}
        assert registry.get_sample_value("cache_bridge_stampede_calls_total", labels) == 1
    seconds = "cache_bridge_stampede_compute_seconds_total"
    computed = {"outcome": "computed", "server": url, "prefix": "st"}
    fresh = {"outcome": "fresh", "server": url, "prefix": "st"}
    assert registry.get_sample_value(seconds, computed) >= 0
    assert not registry.get_sample_value(seconds, fresh)  # no computation: nothing counted


@pytest.mark.parametrize("where", ["memory", "redis"])
def test_opentelemetry_counts_outcomes_and_seconds(
    where: str, request: pytest.FixtureRequest
) -> None:
    sdk_metrics = pytest.importorskip("opentelemetry.sdk.metrics")
    sdk_export = pytest.importorskip("opentelemetry.sdk.metrics.export")
    url = _url(where, request)
    reader = sdk_export.InMemoryMetricReader()
    provider = sdk_metrics.MeterProvider(metric_readers=[reader])
    with OpenTelemetryMetrics(provider):
        _three_calls(url)
    points = {
        (metric.name, point.attributes["outcome"]): point.value
        for resource in reader.get_metrics_data().resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name.startswith("cache_bridge.stampede")
        for point in metric.data.data_points
        if point.attributes["server"] == url and point.attributes["prefix"] == "st"
    }
    calls = {outcome: n for (name, outcome), n in points.items() if name.endswith("calls")}
    assert calls == {"computed": 1, "fresh": 1, "refresh": 1}
    seconds = {o for (name, o) in points if name == "cache_bridge.stampede.compute.duration.sum"}
    assert seconds == {"computed", "refresh"}
