"""A ``/metrics`` route for a Flask app without a Prometheus exporter: the text exposition of
this process's registry (docs/observability.md)."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request

from cache_bridge.observability.exposition import exposition

__all__ = ["add_metrics_route"]


def add_metrics_route(
    app: Flask, rule: str = "/metrics", registry: Any = None, endpoint: str = "cache_metrics"
) -> None:
    """Serve the Prometheus exposition of ``registry`` (default: the process's default
    registry, or every worker's in prometheus_client's multiprocess mode) at ``GET rule``;
    it answers 501 with what to install when prometheus_client is missing."""

    def metrics() -> Response:
        status, content_type, body = exposition(request.headers.get("Accept", ""), registry)
        response = Response(body, status=status, content_type=content_type)
        response.headers["Cache-Control"] = "no-store"
        return response

    app.add_url_rule(rule, endpoint, metrics, methods=["GET"])
