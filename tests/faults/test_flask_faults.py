"""A Flask app on Redis through a FaultProxy, with Flask's test client: while the server is
killed, views keep answering (cache misses, views rendered afresh), rate limits fail open or
closed as configured, every request is bounded, and once the server is back on the same port
the same app serves from the cache again."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from cache_bridge.resilience.breaker import CircuitBreaker
from cache_bridge.testing.faulty_server import FaultyRedisServer
from cache_bridge.testing.proxy import FaultProxy
from flask_cache_bridge import CacheBridge
from tests.faults.scenario import BOUND, COOLDOWN, FRAMEWORK

pytestmark = pytest.mark.redis

PAGES = ["/page", "/async-page"]


@pytest.fixture
def bridge() -> CacheBridge:
    return CacheBridge()


@pytest.fixture
def app(proxy: FaultProxy, bridge: CacheBridge) -> Iterator[Flask]:
    app = Flask("faults")
    app.config.update(
        TESTING=True,
        CACHE_BRIDGE_URL=proxy.url(),
        CACHE_BRIDGE_KEY_PREFIX="shop",
        CACHE_BRIDGE_OPTIONS=dict(FRAMEWORK),
        # An hour-long sliding window: no window boundary resets a count mid-test.
        CACHE_BRIDGE_RATELIMIT={"ALGORITHM": "sliding-window"},
    )
    bridge.init_app(app)
    renders = {"n": 0}

    @app.get("/page")
    def page() -> dict[str, Any]:
        hit = bridge.cache.get("page").value_or(None) is not None
        if not hit:
            bridge.cache.set("page", "rendered", ttl=300)
        return {"hit": hit}

    @app.get("/async-page")
    async def async_page() -> dict[str, Any]:
        hit = (await bridge.async_cache.get("page")).value_or(None) is not None
        if not hit:
            await bridge.async_cache.set("page", "rendered", ttl=300)
        return {"hit": hit}

    @app.get("/rendered")
    @bridge.cached(ttl=300)
    def rendered() -> str:
        renders["n"] += 1
        return f"render {renders['n']}"

    @app.get("/open")
    @bridge.limit("1/hour", fail_open=True)
    def limited_open() -> str:
        return "ok"

    @app.get("/closed")
    @bridge.limit("1/hour", fail_open=False)
    def limited_closed() -> str:
        return "ok"

    yield app
    bridge.close(app)


def _get(app: Flask, path: str, bound: float) -> Any:
    started = time.monotonic()
    response = app.test_client().get(path)
    seconds = time.monotonic() - started
    assert seconds < bound, f"{path} took {seconds:.2f}s (bound {bound}s)"
    return response


def _breakers(app: Flask, bridge: CacheBridge) -> list[CircuitBreaker]:
    """The breakers of the app's blocking and async adapters."""
    with app.app_context():
        found = [bridge.cache.breaker, bridge.async_cache.breaker]  # type: ignore[attr-defined]
    assert all(isinstance(b, CircuitBreaker) for b in found), found
    return found


def test_a_flask_app_answers_while_redis_is_killed_and_recovers(
    app: Flask, bridge: CacheBridge, server: FaultyRedisServer
) -> None:
    assert [_get(app, p, BOUND).json["hit"] for p in PAGES] == [False, True]
    assert [_get(app, "/rendered", BOUND).text for _ in range(2)] == ["render 1"] * 2
    assert [_get(app, "/open", BOUND).status_code for _ in range(2)] == [200, 429]
    assert [_get(app, "/closed", BOUND).status_code for _ in range(2)] == [200, 429]

    server.kill()
    for round_ in range(3):
        for path in PAGES:
            assert _get(app, path, 2 * BOUND).json == {"hit": False}
        assert _get(app, "/rendered", 2 * BOUND).text == f"render {2 + round_}"
        assert _get(app, "/open", 2 * BOUND).status_code == 200  # fails open
        assert _get(app, "/closed", 2 * BOUND).status_code == 503  # fails closed
    assert all(b.stats().opened_total >= 1 for b in _breakers(app, bridge))

    server.start()  # the same port, and empty: nothing persists
    for path in PAGES:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if _get(app, path, BOUND).json["hit"]:
                break  # the value the view stored after the restart is read back
            time.sleep(COOLDOWN / 5)
        else:
            pytest.fail(f"{path} did not read from the cache again within 10 s")
    assert [_get(app, "/open", BOUND).status_code for _ in range(2)] == [200, 429]
    assert [_get(app, "/closed", BOUND).status_code for _ in range(2)] == [200, 429]
    assert [_get(app, "/rendered", BOUND).text for _ in range(2)] == ["render 5"] * 2
    assert [b.state for b in _breakers(app, bridge)] == ["closed", "closed"]
