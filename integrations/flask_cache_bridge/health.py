"""Health endpoints for a Flask app with CacheBridge: ``/live`` (always 200: the app fails
open, so a cache outage does not make it dead) and ``/ready`` (200 when the cache answers a
PING within the bound, 503 otherwise), both JSON, with the circuit breaker's state."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from cache_bridge.observability.health import DEFAULT_BOUND, LIVE, readiness
from flask_cache_bridge.state import EXTENSION_KEY, AppCache

__all__ = ["health_blueprint"]


def health_blueprint(name: str = "cache_health", bound: float = DEFAULT_BOUND) -> Blueprint:
    """A blueprint with ``GET /live`` and ``GET /ready``; register it with a prefix, e.g.
    ``app.register_blueprint(health_blueprint(), url_prefix="/health")``."""
    blueprint = Blueprint(name, __name__)

    @blueprint.get("/live")
    def live() -> ResponseReturnValue:
        return jsonify(LIVE)

    @blueprint.get("/ready")
    def ready() -> ResponseReturnValue:
        state = current_app.extensions.get(EXTENSION_KEY)
        if not isinstance(state, AppCache):
            return jsonify({"status": "unavailable", "error": "CacheBridge not initialised"}), 503
        report = readiness(state.cache, bound)
        report["cache"] = state.description
        return jsonify(report), 200 if report["status"] == "ready" else 503

    return blueprint
