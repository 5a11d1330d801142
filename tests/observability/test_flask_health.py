"""The Flask health blueprint (integrations/flask_cache_bridge/health.py), through Flask's
test client: ready (200) with a real Redis up, 503 with nothing listening, within the bound;
live is 200 either way."""

from __future__ import annotations

import socket

import pytest
from flask import Flask

from flask_cache_bridge import CacheBridge
from flask_cache_bridge.health import health_blueprint


def _app(url: str) -> tuple[Flask, CacheBridge]:
    app = Flask("health")
    app.config.update(TESTING=True, CACHE_BRIDGE_URL=url, CACHE_BRIDGE_KEY_PREFIX="health")
    bridge = CacheBridge(app)
    app.register_blueprint(health_blueprint(bound=2.0), url_prefix="/health")
    return app, bridge


def test_ready_with_the_cache_up(request: pytest.FixtureRequest) -> None:
    request.getfixturevalue("redis_client")
    app, bridge = _app(str(request.getfixturevalue("redis_url")))
    with app.test_client() as client:
        ready = client.get("/health/ready")
        live = client.get("/health/live")
    bridge.close(app)
    assert ready.status_code == 200
    assert ready.json is not None
    assert ready.json["status"] == "ready"
    assert ready.json["breaker"]["state"] == "closed"
    assert live.status_code == 200
    assert live.json == {"status": "alive"}


def test_unavailable_with_the_cache_down_but_still_alive() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app, bridge = _app(f"redis://:pw@127.0.0.1:{port}/0")
    with app.test_client() as client:
        ready = client.get("/health/ready")
        again = client.get("/health/ready")
        live = client.get("/health/live")
    bridge.close(app)
    assert ready.status_code == 503
    assert ready.json is not None
    assert ready.json["status"] == "unavailable"
    assert "pw" not in ready.get_data(as_text=True)
    assert again.status_code == 503
    assert live.status_code == 200


def test_memory_has_no_breaker() -> None:
    app, bridge = _app("memory://health-test")
    with app.test_client() as client:
        ready = client.get("/health/ready")
    bridge.close(app)
    assert ready.status_code == 200
    assert ready.json is not None
    assert ready.json["breaker"] is None
