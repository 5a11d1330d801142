"""Dynamic limits in Flask (issue 15 item 6) with Flask's test client, on memory and on the
test-started Redis: a rate per plan from a callable (no argument, as flask-limiter's, or the
request), ``None`` for unlimited, in a route limit and in DEFAULT_LIMITS."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from flask import Flask, Request, request
from flask.testing import FlaskClient

from flask_cache_bridge import CacheBridge
from tests.support.ratelimit_clock import inside_one_minute

START = 1_700_006_400.0
PLANS = {"free": "2/h", "pro": "5 per hour; 100 per day"}


def _by_plan(req: Request) -> str | None:
    return PLANS.get(req.headers.get("X-Plan", ""))


def _app(location: str) -> Flask:
    app = Flask(f"dynamic_{uuid.uuid4().hex}")
    app.config["TESTING"] = True
    app.config["CACHE_BRIDGE_URL"] = location
    app.config["CACHE_BRIDGE_RATELIMIT"] = {
        "KEY": "header:X-User",
        "DEFAULT_LIMITS": [lambda: "1/h" if request.headers.get("X-Slow") else None],
    }
    if location.startswith("memory://"):
        app.config["CACHE_BRIDGE_OPTIONS"] = {"clock": lambda: START + 1}
    bridge = CacheBridge(app)

    @app.route("/api")
    @bridge.limit(_by_plan, name="api")
    def api() -> str:
        return "ok"

    @app.route("/plain")
    @bridge.limit(lambda: PLANS.get(request.headers.get("X-Plan", "")), name="plain")
    def plain() -> str:
        return "ok"

    return app


@pytest.fixture
def client(location: str, request: pytest.FixtureRequest) -> FlaskClient:
    if not location.startswith("memory://"):
        inside_one_minute(request.getfixturevalue("redis_client"))
    return _app(location).test_client()


def _codes(client: FlaskClient, path: str, n: int, **headers: str) -> list[int]:
    return [client.get(path, headers=headers).status_code for _ in range(n)]


@pytest.mark.parametrize("path", ["/api", "/plain"])
def test_a_rate_per_plan(client: FlaskClient, path: str) -> None:
    free: Callable[[int], list[int]] = lambda n: _codes(  # noqa: E731
        client, path, n, **{"X-Plan": "free", "X-User": "ann"}
    )
    assert free(3) == [200, 200, 429]
    assert _codes(client, path, 6, **{"X-Plan": "pro", "X-User": "bob"}) == [200] * 5 + [429]
    assert _codes(client, path, 3, **{"X-User": "cat"}) == [200] * 3  # None: not limited


def test_a_dynamic_default_limit(client: FlaskClient) -> None:
    assert _codes(client, "/plain", 2, **{"X-User": "dan", "X-Slow": "1"}) == [200, 429]
