"""The Flask metrics route (integrations/flask_cache_bridge/metrics.py), through Flask's test
client: the Prometheus exposition of a registry with the metrics of the app's calls."""

from __future__ import annotations

import pytest
from flask import Flask

from cache_bridge.observability.prometheus import PrometheusMetrics
from flask_cache_bridge import CacheBridge
from flask_cache_bridge.metrics import add_metrics_route

prometheus_client = pytest.importorskip("prometheus_client")
parser = pytest.importorskip("prometheus_client.parser")


@pytest.mark.parametrize("where", ["memory", "redis"])
def test_the_route_exposes_the_app_calls(where: str, request: pytest.FixtureRequest) -> None:
    url = "memory://flask-metrics"
    if where == "redis":
        url = str(request.getfixturevalue("redis_url"))
    if where == "redis":
        request.getfixturevalue("redis_client")
    registry = prometheus_client.CollectorRegistry()
    app = Flask("metrics")
    app.config.update(TESTING=True, CACHE_BRIDGE_URL=url, CACHE_BRIDGE_KEY_PREFIX="fm")
    bridge = CacheBridge(app)
    add_metrics_route(app, registry=registry)

    @app.get("/page")
    def page() -> str:
        bridge.cache.set("k", "v")
        return str(bridge.cache.get("k").unwrap())

    with PrometheusMetrics(registry), app.test_client() as client:
        assert client.get("/page").data == b"v"
        response = client.get("/metrics")
    bridge.close(app)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    samples = {
        (s.name, s.labels.get("operation"), s.labels.get("result")): s.value
        for family in parser.text_string_to_metric_families(response.get_data(as_text=True))
        for s in family.samples
        if s.labels.get("server") == url
    }
    assert samples["cache_bridge_reads_total", "get", "hit"] == 1
    assert samples["cache_bridge_operation_duration_seconds_count", "set", None] == 1
