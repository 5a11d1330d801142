"""Near-cache events (NearCacheEvent, from cache_bridge/adapters/redis/near_cache.py) on a
real Redis, read back from a prometheus_client registry (both classes) and through the
OpenTelemetry SDK's in-memory reader: local hits, invalidation pushes, evictions and the
reset after the invalidation connection is lost; nothing made while nobody listens."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import redis
from returns.result import Success

from cache_bridge import SyncRedisCache
from cache_bridge.observability import NearCacheEvent, events
from cache_bridge.observability.otel import OpenTelemetryMetrics
from cache_bridge.observability.prometheus import (
    MultiprocessPrometheusMetrics,
    PrometheusMetrics,
)

prometheus_client = pytest.importorskip("prometheus_client")

BOUND = 10  # seconds before a wait is called a failure (never a measurement)


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + BOUND
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def _near(url: str, **options: Any) -> SyncRedisCache:
    cache = SyncRedisCache(url, near_cache=True, **options)
    near = cache.near_cache
    assert near is not None
    _until(lambda: near.ready, "tracking")
    return cache


def _hit(cache: SyncRedisCache, key: str, value: str) -> None:
    """Read ``key`` until the near cache answered it (a read may go to the server while a
    push is being applied)."""
    near = cache.near_cache
    assert near is not None
    before = near.stats()["hits"]
    _until(lambda: cache.get(key) == Success(value) and near.stats()["hits"] > before, "a hit")


def _scenario(url: str, client: redis.Redis, counted: Callable[[str], float]) -> None:
    """A hit, an invalidation by another client, evictions, a reset after the invalidation
    connection is killed; ``counted(event)`` reads the exporter back."""
    key, other = f"near-{uuid.uuid4().hex}", f"near-{uuid.uuid4().hex}"
    cache = _near(url, near_cache_max_entries=1)
    try:
        assert cache.set(key, "v1") == Success(None)
        _hit(cache, key, "v1")
        assert counted("hit") >= 1
        client.set(key, "v2")  # another client's write: a push
        _until(lambda: counted("invalidation") >= 1, "the invalidation push counted")
        _hit(cache, key, "v2")
        cache.set(other, "w")
        _hit(cache, other, "w")  # one entry at most: the first key is evicted
        assert counted("eviction") >= 1
        client.client_kill_filter(_type="pubsub")  # the invalidation connection is lost
        _until(lambda: counted("reset") >= 1, "the reset counted")
    finally:
        cache.close()


@pytest.mark.parametrize("kind", [PrometheusMetrics, MultiprocessPrometheusMetrics])
def test_prometheus_counts_near_cache_events(
    kind: Any, redis_url: str, redis_client: redis.Redis
) -> None:
    registry = prometheus_client.CollectorRegistry()

    def counted(event: str) -> float:
        labels = {"event": event, "server": redis_url}
        return registry.get_sample_value("cache_bridge_near_cache_events_total", labels) or 0.0

    with kind(registry):
        _scenario(redis_url, redis_client, counted)


def test_opentelemetry_counts_near_cache_events(redis_url: str, redis_client: redis.Redis) -> None:
    sdk_metrics = pytest.importorskip("opentelemetry.sdk.metrics")
    sdk_export = pytest.importorskip("opentelemetry.sdk.metrics.export")
    reader = sdk_export.InMemoryMetricReader()
    provider = sdk_metrics.MeterProvider(metric_readers=[reader])

    def counted(event: str) -> float:
        return float(
            sum(
                point.value
                for resource in reader.get_metrics_data().resource_metrics
                for scope in resource.scope_metrics
                for metric in scope.metrics
                if metric.name == "cache_bridge.near_cache.events"
                for point in metric.data.data_points
                if point.attributes == {"event": event, "server": redis_url}
            )
        )

    with OpenTelemetryMetrics(provider):
        _scenario(redis_url, redis_client, counted)


def test_a_flush_counts_the_local_entries_it_emptied(
    redis_url: str, redis_client: redis.Redis
) -> None:
    heard: list[NearCacheEvent] = []
    cache = _near(redis_url)
    remove = events.add_listener(
        lambda event: heard.append(event) if isinstance(event, NearCacheEvent) else None
    )
    try:
        key = f"near-{uuid.uuid4().hex}"
        cache.set(key, "v")
        _hit(cache, key, "v")
        redis_client.flushdb()
        _until(lambda: any(e.kind == "invalidation" for e in heard), "the flush's push")
    finally:
        remove()
        cache.close()
    flushed = [e for e in heard if e.kind == "invalidation"]
    assert flushed[0].count >= 1  # at least the key read above
    assert {e.server for e in heard} == {redis_url}


def test_nothing_is_made_while_nobody_listens(
    redis_url: str, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[Any] = []
    monkeypatch.setattr(events, "NearCacheEvent", lambda *args: made.append(args))
    assert events.listeners == ()
    cache = _near(redis_url, near_cache_max_entries=1)
    try:
        key = f"near-{uuid.uuid4().hex}"
        cache.set(key, "v")
        _hit(cache, key, "v")
        assert cache.get_many([key]) == Success({key: "v"})  # through NearCache.execute
        redis_client.set(key, "w")
        _until(lambda: cache.get(key) == Success("w"), "the invalidation")
    finally:
        cache.close()
    assert made == []
