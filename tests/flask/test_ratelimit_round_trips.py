"""One round trip per request in Flask (issue 15 item 8): application, default, blueprint and
stacked route limits are decided by one script run on the test-started Redis (counted with
its INFO commandstats); a refused request costs no other limit. Headers (item 7): every limit
in ``RateLimit-Policy``, the tightest in ``RateLimit``."""

from __future__ import annotations

import uuid

import pytest
import redis
from flask import Blueprint, Flask

from flask_cache_bridge import CacheBridge
from tests.ratelimit.round_trips import (
    own_redis_url,  # noqa: F401 - the module's own server
    round_trips,
)

pytestmark = pytest.mark.redis


def _app(redis_url: str) -> Flask:
    app = Flask(f"round_trips_{uuid.uuid4().hex}")
    app.config["TESTING"] = True
    app.config["CACHE_BRIDGE_URL"] = redis_url
    # Hour-long sliding windows: no window boundary resets a count mid-test.
    app.config["CACHE_BRIDGE_RATELIMIT"] = {
        "ALGORITHM": "sliding-window",
        "APPLICATION_LIMITS": ["100/hour"],
        "DEFAULT_LIMITS": ["50/hour"],
    }
    bridge = CacheBridge(app)
    api = Blueprint("api", __name__)
    bridge.limit("20/hour")(api)  # type: ignore[type-var]

    @api.route("/stacked")
    @bridge.limit("5/hour", name="hourly")
    @bridge.limit("2/hour", name="tight")
    def stacked() -> str:
        return "ok"

    @app.route("/plain")
    def plain() -> str:
        return "ok"

    app.register_blueprint(api, url_prefix="/api")
    return app


@pytest.fixture
def app(redis_url: str, redis_client: redis.Redis) -> Flask:
    return _app(redis_url)


def test_every_kind_of_limit_is_one_script_run(app: Flask, redis_client: redis.Redis) -> None:
    client = app.test_client()
    client.get("/plain")  # the script is loaded: later requests are one EVALSHA each
    assert round_trips(redis_client, lambda: client.get("/plain")) == 1
    assert round_trips(redis_client, lambda: client.get("/api/stacked")) == 1


def test_a_refusal_is_one_trip_and_costs_no_other_limit(
    app: Flask, redis_client: redis.Redis
) -> None:
    client = app.test_client()
    codes = [client.get("/api/stacked").status_code for _ in range(2)]
    refused: list[int] = []
    trips = round_trips(
        redis_client, lambda: refused.append(client.get("/api/stacked").status_code)
    )
    assert codes + refused == [200, 200, 429]
    assert trips == 1  # no refund: nothing was counted


def test_every_limit_in_the_policy_and_the_tightest_in_ratelimit(app: Flask) -> None:
    response = app.test_client().get("/api/stacked")
    policy = response.headers["RateLimit-Policy"]
    assert policy.count(";q=") == 5
    for entry in ('";q=100;w=3600', '";q=50;w=3600', '"api";q=20;w=3600', '"hourly";q=5;'):
        assert entry in policy
    assert response.headers["RateLimit"].startswith('"tight";r=1;t=')
    assert "," not in response.headers["RateLimit"]
