"""Limit strings in Flask (issue 15 item 5) with Flask's test client, on memory (a controlled
clock) and on the test-started Redis (its clock): flask-limiter's ``"200 per day; 50 per
hour"`` in DEFAULT_LIMITS and in ``bridge.limit``, lists, and ambiguous letters refused."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from flask import Flask

from cache_bridge import ConfigurationError
from flask_cache_bridge import CacheBridge
from tests.support.ratelimit_clock import inside_one_minute

START = 1_700_006_400.0


def _app(location: str, defaults: object) -> Flask:
    app = Flask(f"strings_{uuid.uuid4().hex}")
    app.config["TESTING"] = True
    app.config["CACHE_BRIDGE_URL"] = location
    app.config["CACHE_BRIDGE_RATELIMIT"] = {"DEFAULT_LIMITS": defaults}
    if location.startswith("memory://"):
        app.config["CACHE_BRIDGE_OPTIONS"] = {"clock": lambda: START + 1}
    bridge = CacheBridge(app)

    @app.route("/home")
    def home() -> str:
        return "ok"

    @app.route("/login", methods=["POST"])
    @bridge.exempt
    @bridge.limit("2 per minute; 5 per hour", name="login")
    def login() -> str:
        return "ok"

    @app.route("/search")
    @bridge.exempt
    @bridge.limit(["3/m", (4, 3600)], name="search")
    def search() -> str:
        return "ok"

    return app


@pytest.fixture
def make_app(location: str, request: pytest.FixtureRequest) -> Callable[[object], Flask]:
    if not location.startswith("memory://"):
        inside_one_minute(request.getfixturevalue("redis_client"))
    return lambda defaults: _app(location, defaults)


def test_default_limits_as_one_string(make_app: Callable[[object], Flask]) -> None:
    client = make_app("3 per minute;4 per day").test_client()
    responses = [client.get("/home") for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert responses[0].headers["RateLimit-Policy"] == (
        '"default0";q=3;w=60, "default0";q=4;w=86400'
    )


def test_a_route_limit_as_one_string_and_as_a_list(make_app: Callable[[object], Flask]) -> None:
    client = make_app([]).test_client()
    assert [client.post("/login").status_code for _ in range(3)] == [200, 200, 429]
    responses = [client.get("/search") for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert responses[0].headers["RateLimit-Policy"] == '"search";q=3;w=60, "search";q=4;w=3600'


def test_an_ambiguous_letter_is_refused_with_what_to_write() -> None:
    with pytest.raises(ConfigurationError, match=r"bridge\.limit: ambiguous rate .*'month'"):
        CacheBridge().limit("100/M")
    app = Flask("strings_bad")
    app.config["CACHE_BRIDGE_RATELIMIT"] = {"DEFAULT_LIMITS": ["10/s; 100/M"]}
    with pytest.raises(ConfigurationError, match=r"DEFAULT_LIMITS'\]\[0\]: ambiguous"):
        CacheBridge(app)


def test_the_product_rule_is_checked_at_decoration() -> None:
    with pytest.raises(ConfigurationError, match="product rule"):
        CacheBridge().limit("1000000/year", algorithm="sliding-window")
    CacheBridge().limit("1000000/year")
