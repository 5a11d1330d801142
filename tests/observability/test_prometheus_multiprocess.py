"""MultiprocessPrometheusMetrics (cache_bridge/observability/prometheus.py) under
prometheus_client's multiprocess mode: a worker process records its calls in the shared
directory, and the Django metrics view of another process serves them (and the same
metrics, read from a plain registry, match PrometheusMetrics's names and labels)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.test import Client

from cache_bridge import create_sync_cache
from cache_bridge.observability import RateLimitEvent, emit
from cache_bridge.observability.prometheus import MultiprocessPrometheusMetrics
from cache_bridge.resilience.breaker import CircuitBreaker

prometheus_client = pytest.importorskip("prometheus_client")
parser = pytest.importorskip("prometheus_client.parser")

ROOT = Path(__file__).resolve().parents[2]

WORKER = textwrap.dedent(
    """
    from cache_bridge import create_sync_cache
    from cache_bridge.observability.prometheus import MultiprocessPrometheusMetrics

    metrics = MultiprocessPrometheusMetrics().start()
    cache = create_sync_cache("memory://worker", key_prefix="w")
    cache.set("k", "v")
    cache.get("k")
    cache.get("absent")
    """
)


@pytest.mark.urls("tests.observability.health_urls")
def test_a_workers_calls_served_by_the_view(
    tmp_path: Path, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "integrations")]),
    }
    for _ in range(2):  # two workers
        subprocess.run([sys.executable, "-c", WORKER], env=env, check=True, timeout=60)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    response = client.get("/health/metrics/")
    assert response.status_code == 200
    reads = {
        sample.labels["result"]: sample.value
        for family in parser.text_string_to_metric_families(response.content.decode())
        for sample in family.samples
        if sample.name == "cache_bridge_reads_total" and sample.labels.get("prefix") == "w"
    }
    assert reads == {"hit": 2, "miss": 2}


def test_the_same_metrics_as_prometheus_metrics() -> None:
    registry = prometheus_client.CollectorRegistry()
    with MultiprocessPrometheusMetrics(registry):
        cache = create_sync_cache("memory://mp-names", key_prefix="n")
        cache.get("absent")
        cache.get("absent")
        breaker = CircuitBreaker(server="redis://mp-example:6379/0")
        breaker.failed()
        emit(RateLimitEvent("login", allowed=False, failed="closed"))
    cache.get("absent")  # stopped
    miss = {"operation": "get", "result": "miss", "server": "memory://mp-names", "prefix": "n"}
    assert registry.get_sample_value("cache_bridge_reads_total", miss) == 2
    count = {"operation": "get", "server": "memory://mp-names"}
    assert registry.get_sample_value("cache_bridge_operation_duration_seconds_count", count) == 2
    opened = {"server": "redis://mp-example:6379/0"}
    assert registry.get_sample_value("cache_bridge_breaker_open", opened) == 1
    refused = {"limit": "login", "decision": "refused", "failed": "closed"}
    assert registry.get_sample_value("cache_bridge_ratelimit_decisions_total", refused) == 1
