"""Stacked Flask limits with Flask's test client, on memory (a controlled clock) and on the
test-started Redis (its clock): each limit keeps its own state, for every algorithm.
Regression for issue 12 item 1 (two limits on one view shared one state key)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from flask import Flask

from cache_bridge.engine.limit_algorithms import ALGORITHMS
from flask_cache_bridge import CacheBridge
from tests.support.ratelimit_clock import inside_one_minute

#: The start of a minute (and of an hour): minute windows on this clock hold the test.
START = 1_700_006_400.0


def _app(location: str, algorithm: str, rates: tuple[str, str]) -> Flask:
    app = Flask(f"stacked_{uuid.uuid4().hex}")
    app.config["TESTING"] = True
    app.config["CACHE_BRIDGE_URL"] = location
    app.config["CACHE_BRIDGE_RATELIMIT"] = {"ALGORITHM": algorithm}
    if location.startswith("memory://"):
        app.config["CACHE_BRIDGE_OPTIONS"] = {"clock": lambda: START + 1}
    bridge = CacheBridge(app)

    @app.route("/login", methods=["POST"])
    @bridge.limit(rates[0])
    @bridge.limit(rates[1])
    def login() -> str:
        return "ok"

    return app


@pytest.fixture
def make_app(location: str, request: pytest.FixtureRequest) -> Callable[..., Flask]:
    if not location.startswith("memory://"):
        inside_one_minute(request.getfixturevalue("redis_client"))
    return lambda algorithm, *rates: _app(location, algorithm, rates)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_minute_and_an_hour_limit_on_one_view(
    make_app: Callable[..., Flask], algorithm: str
) -> None:
    client = make_app(algorithm, "2/minute", "5/hour").test_client()
    assert [client.post("/login").status_code for _ in range(4)] == [200, 200, 429, 429]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_five_and_ten_per_minute_allow_exactly_five(
    make_app: Callable[..., Flask], algorithm: str
) -> None:
    client = make_app(algorithm, "5/minute", "10/minute").test_client()
    codes = [client.post("/login").status_code for _ in range(12)]
    assert codes == [200] * 5 + [429] * 7
