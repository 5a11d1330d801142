"""Shared limits in Flask (issue 15 item 1) with Flask's test client, on memory and on the
test-started Redis: one counter across views (``scope``), blueprint limits covering nested
blueprints, ``exempt`` on a blueprint, APPLICATION_LIMITS, and ``override_defaults``."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from flask import Blueprint, Flask
from flask.testing import FlaskClient

from flask_cache_bridge import CacheBridge
from tests.support.ratelimit_clock import inside_one_minute

START = 1_700_006_400.0


def _app(location: str, **config: object) -> Flask:
    app = Flask(f"shared_{uuid.uuid4().hex}")
    app.config["TESTING"] = True
    app.config["CACHE_BRIDGE_URL"] = location
    app.config["CACHE_BRIDGE_RATELIMIT"] = config
    if location.startswith("memory://"):
        app.config["CACHE_BRIDGE_OPTIONS"] = {"clock": lambda: START + 1}
    bridge = CacheBridge(app)
    searches = bridge.limit("3/h", scope="search")

    @app.route("/search/web")
    @searches
    def web() -> str:
        return "web"

    @app.route("/search/images")
    @searches
    def images() -> str:
        return "images"

    @app.route("/per-endpoint/<name>")
    @bridge.limit("1/h", scope=lambda endpoint: f"family:{endpoint}")
    def family(name: str) -> str:
        return name

    @app.route("/login", methods=["GET", "POST"])
    @bridge.limit("5/h", methods=["POST"])
    def login() -> str:
        return "login"

    @app.route("/open")
    def open_route() -> str:
        return "open"

    api = Blueprint("api", __name__, url_prefix="/api")
    v2 = Blueprint("v2", __name__, url_prefix="/v2")
    health = Blueprint("health", __name__, url_prefix="/health")

    @api.route("/items")
    def items() -> str:
        return "items"

    @v2.route("/items")
    def items_v2() -> str:
        return "items v2"

    @health.route("/")
    def ping() -> str:
        return "ok"

    bridge.limit("2/h")(api)  # type: ignore[type-var]
    bridge.exempt(health)  # type: ignore[type-var]
    api.register_blueprint(v2)
    app.register_blueprint(api)
    app.register_blueprint(health)
    return app


@pytest.fixture
def make(location: str, request: pytest.FixtureRequest) -> Callable[..., FlaskClient]:
    if not location.startswith("memory://"):
        inside_one_minute(request.getfixturevalue("redis_client"))
    return lambda **config: _app(location, **config).test_client()


def _codes(client: FlaskClient, *paths: str, method: str = "GET") -> list[int]:
    return [client.open(path, method=method).status_code for path in paths]


def test_two_views_share_one_counter(make: Callable[..., FlaskClient]) -> None:
    client = make()
    paths = ["/search/web", "/search/images", "/search/web", "/search/images"]
    assert _codes(client, *paths) == [200, 200, 200, 429]
    assert _codes(client, "/search/web") == [429]


def test_a_scope_callable_names_the_counter_per_request(
    make: Callable[..., FlaskClient],
) -> None:
    client = make()
    assert _codes(client, "/per-endpoint/a", "/per-endpoint/b") == [200, 429]  # one endpoint


def test_a_blueprint_limit_covers_its_nested_blueprints(make: Callable[..., FlaskClient]) -> None:
    client = make()
    assert _codes(client, "/api/items", "/api/v2/items", "/api/items") == [200, 200, 429]
    assert _codes(client, "/open") == [200]


def test_an_exempt_blueprint_escapes_the_default_and_application_limits(
    make: Callable[..., FlaskClient],
) -> None:
    client = make(DEFAULT_LIMITS=["1/h"], APPLICATION_LIMITS=["2/h"])
    assert _codes(client, *["/health/"] * 4) == [200] * 4


def test_application_limits_count_every_route_together(
    make: Callable[..., FlaskClient],
) -> None:
    client = make(APPLICATION_LIMITS=["3/h"])
    response = client.get("/open")
    assert response.headers["RateLimit-Policy"] == '"application0";q=3;w=3600'
    assert _codes(client, "/login", "/search/web", "/open") == [200, 200, 429]


def test_route_limits_add_to_the_defaults_unless_they_override_them(
    make: Callable[..., FlaskClient],
) -> None:
    # The default (kept from earlier versions): default limits and route limits both apply.
    client = make(DEFAULT_LIMITS=["1/h"])
    assert _codes(client, "/search/web", "/search/web") == [200, 429]
    # flask-limiter's default: a route limit replaces the defaults ...
    client = make(DEFAULT_LIMITS=["1/h"], OVERRIDE_DEFAULTS=True, KEY_PREFIX="second")
    assert _codes(client, "/search/web", "/search/web", "/search/web") == [200, 200, 200]
    # ... unless it does not apply to the request's method: then the defaults come back.
    assert _codes(client, "/login", "/login") == [200, 429]
    assert _codes(client, "/login", method="POST") == [200]
