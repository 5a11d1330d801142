"""``HEADER_NAMES`` and ``RETRY_AFTER_FORMAT`` in Flask (Flask's test client; memory with a
controlled clock, a Redis port with no server for the 503): the ``X-RateLimit-*`` trio and
``Retry-After`` under other names, ``Retry-After`` as an HTTP date, on allowed and refused
responses, through werkzeug's 429 and an app's own 429 handler; mistakes fail at
``init_app``; flask-limiter's ``RATELIMIT_HEADER_*`` keys name them, and an app moved over
sends what flask-limiter sent."""

from __future__ import annotations

import time
import uuid
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from cache_bridge import ConfigurationError
from cache_bridge.adapters.redis import SyncRedisCache
from cache_bridge.testing.redis_server import free_port
from flask_cache_bridge import CacheBridge
from flask_cache_bridge.limits import install_limits, limit, make_limit
from tests.support.clocks import ManualClock
from tests.support.flask_fixtures import InitLogged, init_logged_fixture  # noqa: F401
from tests.support.header_names import DEFAULT_NAMES, RENAMED

START = 1_700_006_400.0  # the start of a minute


class Clock(ManualClock):
    start = START

    def __deepcopy__(self, memo: dict[int, Any]) -> Clock:
        return self  # init_app's snapshot of the config: the same clock, not a changed one


def _app(clock: Clock, handler: bool = False, **ratelimit: Any) -> Flask:
    """An app whose ``/two`` allows 2 requests a minute (``handler``: its own 429 answer)."""
    app = Flask(f"header_names_{uuid.uuid4().hex}")
    app.config["TESTING"] = True
    app.config["CACHE_BRIDGE_URL"] = f"memory://header-names-{uuid.uuid4().hex}"
    app.config["CACHE_BRIDGE_OPTIONS"] = {"clock": clock}
    app.config["CACHE_BRIDGE_RATELIMIT"] = ratelimit
    bridge = CacheBridge(app)

    @app.route("/two")
    @bridge.limit("2/minute")
    def two() -> str:
        return "two"

    if handler:

        @app.errorhandler(429)
        def too_many(error: Exception) -> tuple[dict[str, str], int]:
            return {"error": "slow down"}, 429

    return app


def _refused_after(
    app: Flask, clock: Clock, seconds: float, allowed: int = 2
) -> tuple[TestResponse, float, float]:
    """``allowed`` allowed requests, then ``seconds`` later a refused one, and the wall-clock
    times around it."""
    client = app.test_client()
    assert [client.get("/two").status_code for _ in range(allowed)] == [200] * allowed
    clock.now += seconds
    before = time.time()
    refused = client.get("/two")
    after = time.time()
    assert refused.status_code == 429
    return refused, before, after


def _moment(value: str) -> float:
    return parsedate_to_datetime(value).timestamp()


@pytest.mark.parametrize("handler", [False, True], ids=["werkzeug's 429", "the app's 429"])
def test_the_trio_and_retry_after_go_under_the_names_given(handler: bool) -> None:
    clock = Clock()
    app = _app(clock, handler, LEGACY_HEADERS=True, HEADER_NAMES=RENAMED)
    allowed = app.test_client().get("/two")
    assert allowed.status_code == 200
    assert allowed.headers["X-Quota-Limit"] == "2"
    assert allowed.headers["X-Quota-Left"] == "1"
    assert allowed.headers["X-Quota-Reset"] == "60"
    assert allowed.headers["RateLimit"] == '"two";r=1;t=60'  # the IETF names never change
    assert "X-Retry-In" not in allowed.headers  # only refusals say when to come back
    refused, _, _ = _refused_after(app, clock, 20, allowed=1)
    assert refused.headers["X-Retry-In"] == "40"
    assert refused.headers["X-Quota-Left"] == "0"
    assert refused.headers["RateLimit-Policy"] == '"two";q=2;w=60'
    assert not [name for name in DEFAULT_NAMES if name in refused.headers]


def test_only_retry_after_renamed_keeps_the_rest() -> None:
    clock = Clock()
    app = _app(clock, HEADER_NAMES={"RETRY_AFTER": "X-Retry-In"})
    refused, _, _ = _refused_after(app, clock, 20)
    assert refused.headers["X-Retry-In"] == "40"
    assert "Retry-After" not in refused.headers
    assert "X-RateLimit-Limit" not in refused.headers  # LEGACY_HEADERS still off


@pytest.mark.parametrize("handler", [False, True], ids=["werkzeug's 429", "the app's 429"])
def test_retry_after_as_an_http_date_is_now_plus_the_wait(handler: bool) -> None:
    clock = Clock()
    app = _app(clock, handler, RETRY_AFTER_FORMAT="http-date")
    refused, before, after = _refused_after(app, clock, 20)
    value = refused.headers["Retry-After"]
    assert value.endswith(" GMT")
    assert before + 40 <= _moment(value) <= after + 41  # the wait, rounded up to a second
    assert refused.headers["RateLimit"] == '"two";r=0;t=40'  # t stays in seconds


def test_the_default_is_whole_seconds_under_retry_after() -> None:
    clock = Clock()
    refused, _, _ = _refused_after(_app(clock), clock, 20)
    assert refused.headers["Retry-After"] == "40"
    assert refused.headers.getlist("Retry-After") == ["40"]


@pytest.mark.parametrize(
    ("ratelimit", "expected"),
    [
        ({}, "1"),
        ({"HEADER_NAMES": {"RETRY_AFTER": "X-Retry-In"}}, "1"),
        ({"RETRY_AFTER_FORMAT": "http-date"}, "date"),
    ],
)
def test_the_503_of_a_limit_failing_closed_follows_the_settings(
    ratelimit: dict[str, Any], expected: str
) -> None:
    cache = SyncRedisCache(f"redis://127.0.0.1:{free_port()}/0", timeout=0.2, connect_timeout=0.2)
    app = Flask(f"header_names_dead_{uuid.uuid4().hex}")
    app.config["CACHE_BRIDGE_RATELIMIT"] = {"FAIL_OPEN": False, **ratelimit}
    install_limits(app, lambda: cache)

    @app.route("/dead")
    def dead() -> str:
        return "never"

    limit(dead, make_limit("test", "1/m"))
    try:
        before = time.time()
        response = app.test_client().get("/dead")
        after = time.time()
    finally:
        cache.close()
    assert response.status_code == 503
    name = ratelimit.get("HEADER_NAMES", {}).get("RETRY_AFTER", "Retry-After")
    assert response.headers.getlist(name) == [response.headers[name]]
    if name != "Retry-After":
        assert "Retry-After" not in response.headers
    if expected == "date":
        assert before + 1 <= _moment(response.headers[name]) <= after + 2
    else:
        assert response.headers[name] == expected


@pytest.mark.parametrize(
    ("ratelimit", "message"),
    [
        ({"HEADER_NAME": {}}, "Did you mean 'HEADER_NAMES'"),
        ({"LEGACY_HEADERS": True, "HEADER_NAMES": {"LIMT": "X-Q"}}, "Did you mean 'LIMIT'"),
        ({"HEADER_NAMES": {"retry_after": "X-Q"}}, "Did you mean 'RETRY_AFTER'"),
        ({"HEADER_NAMES": {"POLICY": "X-Q"}}, "RateLimit-Policy are standard names"),
        ({"HEADER_NAMES": {"LIMIT": "X-Q"}}, "only with LEGACY_HEADERS: True"),
        ({"HEADER_NAMES": {"RETRY_AFTER": "Retry After"}}, "must be a header name"),
        ({"HEADER_NAMES": {"RETRY_AFTER": "ratelimit"}}, "the name of another header"),
        ({"HEADER_NAMES": ["X-Q"]}, "HEADER_NAMES must be a dict"),
        ({"HEADER_NAMES": []}, "HEADER_NAMES must be a dict"),
        ({"RETRY_AFTER_FORMAT": "delta-seconds"}, "Did you mean 'seconds'"),
        ({"RETRY_AFTER_FORMAT": "http_date"}, "Did you mean 'http-date'"),
    ],
)
def test_mistakes_fail_at_init_app_saying_what_to_write(
    ratelimit: dict[str, Any], message: str
) -> None:
    app = Flask(f"header_names_bad_{uuid.uuid4().hex}")
    app.config["CACHE_BRIDGE_URL"] = "memory://"
    app.config["CACHE_BRIDGE_RATELIMIT"] = ratelimit
    with pytest.raises(ConfigurationError, match=message) as raised:
        CacheBridge(app)
    assert "CACHE_BRIDGE_RATELIMIT" in str(raised.value)


# -- coming from flask-limiter -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("theirs", "ours"),
    [
        ("RATELIMIT_HEADER_LIMIT", 'CACHE_BRIDGE_RATELIMIT["HEADER_NAMES"]["LIMIT"]'),
        ("RATELIMIT_HEADER_REMAINING", 'CACHE_BRIDGE_RATELIMIT["HEADER_NAMES"]["REMAINING"]'),
        ("RATELIMIT_HEADER_RESET", 'CACHE_BRIDGE_RATELIMIT["HEADER_NAMES"]["RESET"]'),
        ("RATELIMIT_HEADER_RETRY_AFTER", 'CACHE_BRIDGE_RATELIMIT["HEADER_NAMES"]["RETRY_AFTER"]'),
        ("RATELIMIT_HEADER_RETRY_AFTER_VALUE", 'CACHE_BRIDGE_RATELIMIT["RETRY_AFTER_FORMAT"]'),
    ],
)
def test_flask_limiters_header_keys_name_their_counterparts(
    init_logged: InitLogged, theirs: str, ours: str
) -> None:
    [message] = init_logged(**{theirs: "X-Something"})
    assert f"{theirs} (write {ours})" in message


def test_a_header_key_whose_name_is_set_is_not_warned_about(init_logged: InitLogged) -> None:
    [message] = init_logged(
        RATELIMIT_HEADER_RETRY_AFTER="X-Retry-In",
        RATELIMIT_HEADER_RESET="X-Quota-Reset",
        CACHE_BRIDGE_RATELIMIT={"HEADER_NAMES": {"RETRY_AFTER": "X-Retry-In"}},
    )
    assert "RATELIMIT_HEADER_RETRY_AFTER " not in message
    assert "RATELIMIT_HEADER_RESET (write" in message
    assert (
        init_logged(
            RATELIMIT_HEADER_RETRY_AFTER_VALUE="http-date",
            CACHE_BRIDGE_RATELIMIT={"RETRY_AFTER_FORMAT": "http-date"},
        )
        == []
    )


def test_an_app_moved_from_flask_limiter_sends_the_same_header_names() -> None:
    from flask_limiter import Limiter
    from flask_limiter.util import get_remote_address

    theirs = Flask(f"flask_limiter_{uuid.uuid4().hex}")
    theirs.config.update(
        RATELIMIT_HEADERS_ENABLED=True,
        RATELIMIT_HEADER_LIMIT="X-Quota-Limit",
        RATELIMIT_HEADER_REMAINING="X-Quota-Left",
        RATELIMIT_HEADER_RESET="X-Quota-Reset",
        RATELIMIT_HEADER_RETRY_AFTER="X-Retry-In",
        RATELIMIT_HEADER_RETRY_AFTER_VALUE="http-date",
    )
    limiter = Limiter(get_remote_address, app=theirs, storage_uri="memory://")

    @theirs.route("/two")
    @limiter.limit("2/minute")
    def two() -> str:
        return "two"

    clock = Clock()
    ours = _app(clock, LEGACY_HEADERS=True, HEADER_NAMES=RENAMED, RETRY_AFTER_FORMAT="http-date")
    client = theirs.test_client()
    before = time.time()
    assert [client.get("/two").status_code for _ in range(2)] == [200, 200]
    their_refusal = client.get("/two")
    our_refusal, _, after = _refused_after(ours, clock, 0)
    assert their_refusal.status_code == 429
    names = [*RENAMED.values()]
    assert [n for n in names if n in their_refusal.headers] == names
    assert [n for n in names if n in our_refusal.headers] == names
    for refusal in (their_refusal, our_refusal):
        assert not [name for name in DEFAULT_NAMES if name in refusal.headers]
        # Both an HTTP date within the minute; theirs from its window's start, ours from the
        # wait (a fixed window here ends on the minute of the controlled clock: 60 s).
        assert before <= _moment(refusal.headers["X-Retry-In"]) <= after + 61
