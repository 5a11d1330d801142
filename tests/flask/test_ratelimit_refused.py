"""A refused request costs no limit in Flask: default limits and route limits are decided
together, all or nothing (Flask's test client, memory with a controlled clock and the
test-started Redis). Regression for issue 12 item 2 (every limit counted the request before
any refusal was looked at: a client past its per-IP limit used up the shared global limit,
and a client refused per minute burned its per-hour quota)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_cache_bridge import CacheBridge
from tests.support.clocks import ManualClock
from tests.support.ratelimit_clock import inside_one_minute

#: The start of an hour.
HOUR = 1_700_006_400.0


class Clock(ManualClock):
    start = HOUR + 1


def _app(location: str, clock: Clock | None, **ratelimit: Any) -> tuple[Flask, CacheBridge]:
    app = Flask(f"refused_{uuid.uuid4().hex}")
    app.config["TESTING"] = True
    app.config["CACHE_BRIDGE_URL"] = location
    app.config["CACHE_BRIDGE_RATELIMIT"] = ratelimit
    if clock is not None:
        app.config["CACHE_BRIDGE_OPTIONS"] = {"clock": clock}
    return app, CacheBridge(app)


def _from(client: FlaskClient, address: str, path: str, n: int = 1) -> list[int]:
    return [client.get(path, environ_base={"REMOTE_ADDR": address}).status_code for _ in range(n)]


def test_a_client_past_its_own_limit_does_not_use_up_the_global_one(
    location: str, request: pytest.FixtureRequest
) -> None:
    if not location.startswith("memory://"):
        inside_one_minute(request.getfixturevalue("redis_client"))
    app, bridge = _app(
        location,
        Clock() if location.startswith("memory://") else None,
        DEFAULT_LIMITS=[
            {"NAME": "global", "RATE": "5/m", "KEY": lambda: "all", "PER_ROUTE": False}
        ],
    )

    @app.route("/search")
    @bridge.limit("1/m", key="ip")
    def search() -> str:
        return "ok"

    client = app.test_client()
    assert _from(client, "198.51.100.1", "/search", 5) == [200] + [429] * 4
    # The four refused requests cost the global limit nothing: four other clients get in.
    others = [_from(client, f"198.51.100.{n}", "/search")[0] for n in range(2, 7)]
    assert others == [200, 200, 200, 200, 429]


def test_a_request_refused_per_minute_keeps_the_hourly_quota() -> None:
    clock = Clock()
    app, bridge = _app(f"memory://refused-{uuid.uuid4().hex}", clock)

    @app.route("/login")
    @bridge.limit("2/minute")
    @bridge.limit("5/hour")
    def login() -> str:
        return "ok"

    client = app.test_client()
    seen = []
    for minute in range(3):
        clock.now = HOUR + 1 + 60 * minute
        seen.append([client.get("/login").status_code for _ in range(4)])
    assert seen == [[200, 200, 429, 429], [200, 200, 429, 429], [200, 429, 429, 429]]
    # The hour's limit lists its remaining quota on the refusals too.
    refused = client.get("/login")
    assert '"login";r=0' in refused.headers["RateLimit"]
