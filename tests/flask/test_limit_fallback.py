"""``CACHE_BRIDGE_RATELIMIT["FALLBACK"] = "memory"`` through the CacheBridge extension and
Flask's test client: with ``CACHE_BRIDGE_URL`` on a Redis where nothing listens, a limit keeps
holding (200, 200, 200, 429, with its headers) where ``FAIL_OPEN`` alone lets every request
through; mistakes in the setting fail at ``init_app``; flask-limiter's
``RATELIMIT_IN_MEMORY_FALLBACK(_ENABLED)`` point at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from cache_bridge import ConfigurationError
from cache_bridge.ratelimit import reset_fallback_store
from cache_bridge.testing.redis_server import free_port
from flask_cache_bridge import CacheBridge
from tests.support.flask_fixtures import (  # noqa: F401
    InitLogged,
    MakeApp,
    bridge_fixture,
    init_logged_fixture,
    make_app_fixture,
)

DEAD = {"timeout": 0.2, "connect_timeout": 0.2}


@pytest.fixture(autouse=True)
def fresh_store() -> Iterator[None]:
    reset_fallback_store()
    yield
    reset_fallback_store()


def _app(make_app: MakeApp, bridge: CacheBridge, **setting: Any) -> Flask:
    # A sliding window: no window boundary resets the count in the middle of the test.
    limits = {"ALGORITHM": "sliding-window", **setting}
    app = make_app(
        CACHE_BRIDGE_URL=f"redis://127.0.0.1:{free_port()}/0",
        CACHE_BRIDGE_OPTIONS=DEAD,
        CACHE_BRIDGE_RATELIMIT=limits,
    )

    @app.route("/api")
    @bridge.limit("3/minute")
    def api() -> str:
        return "api"

    @app.route("/async")
    @bridge.limit("3/minute")
    async def async_api() -> str:
        return "async"

    return app


@pytest.mark.parametrize("path", ["/api", "/async"])
def test_a_dead_cache_with_the_fallback_holds_the_limit(
    make_app: MakeApp, bridge: CacheBridge, path: str
) -> None:
    client = _app(make_app, bridge, FALLBACK="memory").test_client()
    responses = [client.get(path) for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert "r=0" in responses[2].headers["RateLimit"]  # the process's own count
    assert int(responses[3].headers["Retry-After"]) >= 1


def test_without_the_fallback_fail_open_lets_every_request_through(
    make_app: MakeApp, bridge: CacheBridge
) -> None:
    client = _app(make_app, bridge).test_client()
    assert [client.get("/api").status_code for _ in range(4)] == [200] * 4


@pytest.mark.parametrize(
    ("fallback", "message"),
    [("memroy", "Did you mean 'memory'"), (True, "not a rate-limit fallback")],
)
def test_a_wrong_fallback_fails_at_init_app(
    make_app: MakeApp, fallback: object, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        make_app(CACHE_BRIDGE_RATELIMIT={"FALLBACK": fallback})


def test_flask_limiters_fallback_keys_point_at_fallback(init_logged: InitLogged) -> None:
    [message] = init_logged(RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True)
    assert 'RATELIMIT_IN_MEMORY_FALLBACK_ENABLED (write CACHE_BRIDGE_RATELIMIT["FALLBACK"])' in (
        message
    )
    assert (
        init_logged(
            RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
            CACHE_BRIDGE_RATELIMIT={"FALLBACK": "memory"},
        )
        == []
    )
    # Other limits for the fallback have no counterpart: said even with FALLBACK set.
    [message] = init_logged(
        RATELIMIT_IN_MEMORY_FALLBACK=["10/m"], CACHE_BRIDGE_RATELIMIT={"FALLBACK": "memory"}
    )
    assert 'CACHE_BRIDGE_RATELIMIT["FALLBACK"] = "memory"' in message
    assert "the same limits" in message
