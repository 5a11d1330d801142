"""Cost and deduct_when in Flask (issue 15 item 2) with Flask's test client, on memory (a
controlled clock) and on the test-started Redis: failed logins counted only (sync and async
views, error-handler responses too), costs from the request, default limits with COST and
DEDUCT_WHEN, and configuration mistakes."""

from __future__ import annotations

import uuid

import pytest
from flask import Flask, abort, request
from flask.testing import FlaskClient

from cache_bridge import ConfigurationError
from cache_bridge.ratelimit import when_status
from flask_cache_bridge import CacheBridge
from tests.support.ratelimit_clock import inside_one_minute

START = 1_700_006_400.0


def _app(location: str) -> Flask:
    app = Flask(f"cost_{uuid.uuid4().hex}")
    app.config["TESTING"] = True
    app.config["CACHE_BRIDGE_URL"] = location
    app.config["CACHE_BRIDGE_RATELIMIT"] = {
        "DEFAULT_LIMITS": [{"RATE": "2/h", "DEDUCT_WHEN": when_status(404), "NAME": "misses"}]
    }
    if location.startswith("memory://"):
        app.config["CACHE_BRIDGE_OPTIONS"] = {"clock": lambda: START + 1}
    bridge = CacheBridge(app)
    failed = when_status(400, 499)

    @app.route("/login", methods=["POST"])
    @bridge.exempt
    @bridge.limit("3/h", name="login", deduct_when=failed)
    def login() -> tuple[str, int]:
        ok = request.form.get("password") == "right"
        return ("welcome", 200) if ok else ("wrong password", 401)

    @app.route("/alogin", methods=["POST"])
    @bridge.exempt
    @bridge.limit("3/h", name="alogin", deduct_when=failed)
    async def alogin() -> str:
        if request.form.get("password") != "right":
            abort(403)  # an error handler's response is counted too
        return "welcome"

    @app.route("/export")
    @bridge.exempt
    @bridge.limit("10/h", name="export", cost=lambda: int(request.args.get("rows", "1")))
    def export() -> str:
        return "rows"

    @app.route("/page/<name>")
    def page(name: str) -> tuple[str, int]:
        return ("page", 404 if name == "missing" else 200)

    return app


@pytest.fixture
def client(location: str, request: pytest.FixtureRequest) -> FlaskClient:
    if not location.startswith("memory://"):
        inside_one_minute(request.getfixturevalue("redis_client"))
    return _app(location).test_client()


@pytest.mark.parametrize("path", ["/login", "/alogin"])
def test_only_failed_logins_count(client: FlaskClient, path: str) -> None:
    post = client.post
    for _ in range(5):
        assert post(path, data={"password": "right"}).status_code == 200
    codes = [post(path, data={"password": "x"}).status_code for _ in range(4)]
    assert codes[3] == 429
    assert codes[:3] in ([401] * 3, [403] * 3)


def test_a_cost_from_the_request(client: FlaskClient) -> None:
    get = client.get
    first = get("/export?rows=4")
    assert first.status_code == 200
    assert first.headers["RateLimit"].startswith('"export";r=6;t=')
    assert get("/export?rows=7").status_code == 429
    assert get("/export?rows=6").status_code == 200
    assert get("/export?rows=oops").status_code == 429


def test_default_limits_counting_only_not_found(client: FlaskClient) -> None:
    get = client.get
    assert [get("/page/ok").status_code for _ in range(3)] == [200] * 3
    assert [get("/page/missing").status_code for _ in range(3)] == [404, 404, 429]


def test_configuration_mistakes() -> None:
    bridge = CacheBridge()
    with pytest.raises(ConfigurationError, match="cost 5 is larger than the limit of rate 3/h"):
        bridge.limit("3/h", cost=5)
    with pytest.raises(ConfigurationError, match="deduct_when must be a callable"):
        bridge.limit("3/h", deduct_when=404)
    app = Flask("cost_bad")
    app.config["CACHE_BRIDGE_RATELIMIT"] = {"DEFAULT_LIMITS": [{"RATE": "2/m", "COST": 3}]}
    with pytest.raises(ConfigurationError, match=r"DEFAULT_LIMITS'\]\[0\]: cost 3"):
        CacheBridge(app)
