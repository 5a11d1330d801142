"""The Django metrics view (integrations/django_cache_bridge/health.py ``metrics``, included
on its own from django_cache_bridge.metrics_urls), through Django's test client: the
Prometheus exposition of the process's default registry with the cache_bridge metrics of the
calls made, read back with prometheus_client's parser; 501 and what to install without
prometheus_client. The health include (mounted on public load-balancer paths) does not
serve it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.cache import caches
from django.test import Client
from django.urls import include, path, reverse
from pytest_django import Settings as SettingsWrapper

from cache_bridge.observability.prometheus import PrometheusMetrics
from tests.support.django_helpers import alias, fresh_memory

prometheus_client = pytest.importorskip("prometheus_client")
parser = pytest.importorskip("prometheus_client.parser")

# A site's URLs: the health include on a public path, the metrics include on purpose apart
urlpatterns = [
    path("health/", include("django_cache_bridge.urls")),
    path("internal/metrics/", include("django_cache_bridge.metrics_urls")),
]

pytestmark = pytest.mark.urls(__name__)


@pytest.fixture
def metrics() -> Iterator[PrometheusMetrics]:
    listener = PrometheusMetrics().start()  # the default registry, as a site would
    yield listener
    listener.stop()
    listener.unregister()


def _samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in parser.text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def test_the_view_exposes_the_calls_of_both_aliases(
    settings: SettingsWrapper,
    client: Client,
    request: pytest.FixtureRequest,
    metrics: PrometheusMetrics,
) -> None:
    request.getfixturevalue("redis_client")
    redis_url = str(request.getfixturevalue("redis_url"))
    memory = fresh_memory()
    settings.CACHES = {
        "default": alias(redis_url, KEY_PREFIX="site"),
        "local": alias(memory),
    }
    caches["default"].set("k", "v")
    caches["default"].get("k")
    caches["local"].get("absent")
    response = client.get("/internal/metrics/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    reads = _samples(text, "cache_bridge_reads_total")
    # KEY_PREFIX is part of a Django key (its key function), not an adapter prefix
    hit = (("operation", "get"), ("prefix", ""), ("result", "hit"), ("server", redis_url))
    assert reads[hit] == 1
    assert [v for k, v in reads.items() if ("server", memory) in k and ("result", "miss") in k], (
        reads
    )
    assert "cache_bridge_operation_duration_seconds_bucket" in text
    assert "k" not in {label for key in reads for _, label in key}


def test_openmetrics_when_asked_for(client: Client, metrics: PrometheusMetrics) -> None:
    response = client.get(
        "/internal/metrics/", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/openmetrics-text")
    assert response.content.decode().endswith("# EOF\n")


def test_without_prometheus_client_it_says_what_to_install(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "prometheus_client.exposition", None)
    response = client.get("/internal/metrics/")
    assert response.status_code == 501
    assert "pip install 'cache-bridge[prometheus]'" in response.content.decode()


def test_multiprocess_mode_serves_the_workers_files(
    client: Client,
    metrics: PrometheusMetrics,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # prometheus_client's multiprocess mode: the view reads the workers' files (here none);
    # the tally-based cache_bridge metrics are per process, so they are not among them
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    caches["default"].get("k")
    response = client.get("/internal/metrics/")
    assert response.status_code == 200
    assert "cache_bridge_" not in response.content.decode()


def test_the_health_include_does_not_serve_the_metrics(
    client: Client, metrics: PrometheusMetrics
) -> None:
    assert client.get("/health/ready/").status_code == 200
    assert client.get("/health/metrics/").status_code == 404
    assert reverse("cache_bridge_metrics:metrics") == "/internal/metrics/"
    response = client.get("/internal/metrics/")
    assert response.status_code == 200
    assert "cache_bridge_" in response.content.decode()
