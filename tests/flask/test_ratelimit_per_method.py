"""flask-limiter's ``per_method`` and the failure policy of a dynamic limit whose rate
callable raises (``DYNAMIC_FAIL_OPEN``), with Flask's test client on a memory store."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from flask import Flask

from cache_bridge.errors import ConfigurationError
from flask_cache_bridge import CacheBridge
from flask_cache_bridge.limits import decisions

START = 1_700_006_400.0


def _app(**ratelimit: Any) -> tuple[Flask, CacheBridge]:
    app = Flask(f"per_method_{uuid.uuid4().hex}")
    app.config["TESTING"] = True
    app.config["CACHE_BRIDGE_URL"] = f"memory://{uuid.uuid4().hex}"
    app.config["CACHE_BRIDGE_OPTIONS"] = {"clock": lambda: START + 1}
    app.config["CACHE_BRIDGE_RATELIMIT"] = ratelimit
    return app, CacheBridge(app)


def test_per_method_counts_each_method_apart() -> None:
    app, bridge = _app()

    @app.route("/each", methods=["GET", "POST"])
    @bridge.limit("1/hour", per_method=True)
    def each() -> str:
        return "ok"

    @app.route("/all", methods=["GET", "POST"])
    @bridge.limit("1/hour")
    def together() -> str:
        return "ok"

    client = app.test_client()
    each_codes = [client.get("/each"), client.get("/each"), client.post("/each")]
    assert [r.status_code for r in each_codes] == [200, 429, 200]
    assert client.post("/each").status_code == 429
    assert [client.get("/all").status_code, client.post("/all").status_code] == [200, 429]


def test_per_method_in_default_limits() -> None:
    app, _ = _app(DEFAULT_LIMITS=[{"RATE": "1/hour", "PER_METHOD": True}])

    @app.route("/d", methods=["GET", "POST"])
    def view() -> str:
        return "ok"

    client = app.test_client()
    codes = [client.get("/d"), client.post("/d"), client.get("/d")]
    assert [r.status_code for r in codes] == [200, 200, 429]


def test_per_method_must_be_a_flag() -> None:
    _, bridge = _app()
    with pytest.raises(ConfigurationError, match="per_method"):
        bridge.limit("1/hour", per_method="yes")


def _broken() -> str:
    raise RuntimeError("plans service down")


def test_a_raising_rate_callable_fails_open_by_default(caplog: pytest.LogCaptureFixture) -> None:
    app, bridge = _app()

    @app.route("/plan")
    @bridge.limit(_broken, name="plan")
    def plan() -> str:
        assert decisions() == []
        return "ok"

    with caplog.at_level(logging.WARNING, logger="cache_bridge.ratelimit"):
        codes = [app.test_client().get("/plan").status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    assert "plans service down" in caplog.text
    assert "does not apply" in caplog.text


def test_a_raising_rate_callable_fails_closed_when_configured(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, bridge = _app(DYNAMIC_FAIL_OPEN=False, DEFAULT_LIMITS=["100/hour"])

    @app.route("/plan")
    @bridge.limit(_broken, name="plan")
    def plan() -> str:
        return "ok"

    with caplog.at_level(logging.WARNING, logger="cache_bridge.ratelimit"):
        response = app.test_client().get("/plan")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert "refused" in caplog.text
    assert "DYNAMIC_FAIL_OPEN" in caplog.text
    assert app.test_client().get("/plan").status_code == 503


def test_dynamic_fail_open_must_be_a_flag() -> None:
    with pytest.raises(ConfigurationError, match="DYNAMIC_FAIL_OPEN"):
        _app(DYNAMIC_FAIL_OPEN="no")
