"""Exemptions in Flask (issue 15 item 4) with Flask's test client, on memory and on the
test-started Redis: an EXEMPT allowlist matched after trusted proxies, a forged
X-Forwarded-For still limited, EXEMPT_WHEN (flask-limiter's request_filter), exempt_when for
one limit, and static files never limited."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from flask import Blueprint, Flask, request
from flask.testing import FlaskClient

from cache_bridge import ConfigurationError
from flask_cache_bridge import CacheBridge
from tests.support.ratelimit_clock import inside_one_minute

START = 1_700_006_400.0


def _app(location: str, static: Path, **more: object) -> Flask:
    app = Flask(f"exempt_{uuid.uuid4().hex}", static_folder=str(static), static_url_path="/static")
    app.config["TESTING"] = True
    app.config["CACHE_BRIDGE_URL"] = location
    app.config["CACHE_BRIDGE_RATELIMIT"] = {
        "DEFAULT_LIMITS": ["2/hour"],
        "EXEMPT": ["10.0.0.0/8"],
        "TRUSTED_PROXIES": ["192.0.2.1"],
        "EXEMPT_WHEN": lambda: request.headers.get("User-Agent") == "monitor",
        **more,
    }
    if location.startswith("memory://"):
        app.config["CACHE_BRIDGE_OPTIONS"] = {"clock": lambda: START + 1}
    bridge = CacheBridge(app)

    @app.route("/api")
    def api() -> str:
        return "ok"

    @app.route("/search")
    @bridge.exempt
    @bridge.limit("1/h", exempt_when=lambda: request.args.get("internal") == "yes")
    def search() -> str:
        return "ok"

    bp = Blueprint(
        "files", __name__, static_folder=str(static), static_url_path="/static", url_prefix="/bp"
    )
    app.register_blueprint(bp)
    return app


@pytest.fixture
def make(location: str, request: pytest.FixtureRequest, tmp_path: Path) -> object:
    if not location.startswith("memory://"):
        inside_one_minute(request.getfixturevalue("redis_client"))
    (tmp_path / "app.css").write_text("body {}")
    return lambda **more: _app(location, tmp_path, **more).test_client()


def _codes(client: FlaskClient, path: str, n: int, **environ: str) -> list[int]:
    return [client.get(path, environ_base=environ).status_code for _ in range(n)]


def test_an_allowlisted_address_is_never_limited(make: object) -> None:
    client: FlaskClient = make()  # type: ignore[operator]
    response = client.get("/api", environ_base={"REMOTE_ADDR": "10.0.0.5"})
    assert "RateLimit" not in response.headers
    assert _codes(client, "/api", 4, REMOTE_ADDR="10.0.0.5") == [200] * 4
    via_proxy = {"REMOTE_ADDR": "192.0.2.1", "HTTP_X_FORWARDED_FOR": "10.9.9.9"}
    assert _codes(client, "/api", 3, **via_proxy) == [200] * 3


def test_a_forged_forwarded_for_is_still_limited(make: object) -> None:
    client: FlaskClient = make()  # type: ignore[operator]
    forged = {"REMOTE_ADDR": "203.0.113.9", "HTTP_X_FORWARDED_FOR": "10.0.0.5"}
    assert _codes(client, "/api", 3, **forged) == [200, 200, 429]


def test_exempt_when_and_per_limit_exempt_when(make: object) -> None:
    client: FlaskClient = make()  # type: ignore[operator]
    monitor = {"REMOTE_ADDR": "203.0.113.9", "HTTP_USER_AGENT": "monitor"}
    assert _codes(client, "/api", 3, **monitor) == [200] * 3
    assert _codes(client, "/search?internal=yes", 3, REMOTE_ADDR="203.0.113.9") == [200] * 3
    assert _codes(client, "/search", 2, REMOTE_ADDR="203.0.113.9") == [200, 429]


def test_static_files_are_not_limited_unless_asked(make: object) -> None:
    client: FlaskClient = make()  # type: ignore[operator]
    assert _codes(client, "/static/app.css", 4, REMOTE_ADDR="203.0.113.9") == [200] * 4
    assert _codes(client, "/bp/static/app.css", 4, REMOTE_ADDR="203.0.113.9") == [200] * 4
    limited: FlaskClient = make(EXEMPT_STATIC=False)  # type: ignore[operator]
    assert _codes(limited, "/static/app.css", 3, REMOTE_ADDR="203.0.113.7") == [200, 200, 429]


def test_mistakes_are_reported() -> None:
    app = Flask("exempt_bad")
    app.config["CACHE_BRIDGE_RATELIMIT"] = {"EXEMPT": ["nope"]}
    with pytest.raises(ConfigurationError, match="EXEMPT entry 'nope'"):
        CacheBridge(app)
    with pytest.raises(ConfigurationError, match="exempt_when must be a callable"):
        CacheBridge().limit("1/h", exempt_when=True)
