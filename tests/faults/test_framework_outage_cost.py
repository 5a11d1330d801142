"""What an outage costs a request through the frameworks: a Django alias and a Flask app each
build a blocking and an async adapter of one configuration, which share one circuit breaker.
The first cache call that meets the outage waits its bound; every call after it, in that
request and the next ones, on either face, fails at once. Redis sits behind a FaultProxy
that is blackholed (connections accepted, nothing answered).

A time bound is the point here, so it is asserted, generously: before the shared breaker, a
cache_page request cost a timeout per cache call (1.5 s at these settings), each face paying
its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.test import Client
from flask import Flask
from pytest_django import Settings as SettingsWrapper

from cache_bridge.testing.proxy import FaultProxy
from django_cache_bridge.cache import BridgeCache
from flask_cache_bridge import CacheBridge

pytestmark = pytest.mark.redis

TIMEOUT = 0.5
#: The promised cost of an outage to one request: one connect_timeout + timeout.
PROMISED = 2 * TIMEOUT
OPTIONS: dict[str, Any] = {"timeout": TIMEOUT, "connect_timeout": TIMEOUT}


def _requests(get: Callable[[str], int], paths: list[str]) -> list[float]:
    """Each path requested in turn (each answered 200); the seconds each took."""
    times = []
    for path in paths:
        started = time.monotonic()
        assert get(path) == 200
        times.append(time.monotonic() - started)
    return times


def _check(times: list[float]) -> None:
    # The first request met the outage: it waited (at most) one bound, once.
    assert times[0] < PROMISED + 0.5, times
    # Every later request, on either face, met the open breaker: none waited a timeout.
    assert all(seconds < TIMEOUT for seconds in times[1:]), times
    assert sum(times) < PROMISED + 0.5, times


@pytest.mark.urls("tests.faults.django_outage_urls")
def test_a_django_alias_pays_one_timeout_per_outage(
    settings: SettingsWrapper, proxy: FaultProxy
) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django_cache_bridge.cache.BridgeCache",
            "LOCATION": proxy.url(),
            "KEY_PREFIX": "outage",
            "OPTIONS": dict(OPTIONS),
        }
    }
    settings.CACHE_BRIDGE_RATELIMIT = {}
    cache = caches["default"]
    assert isinstance(cache, BridgeCache)
    adapters = cache.adapters()
    assert adapters.sync.breaker is adapters.async_.breaker
    client = Client()
    assert _requests(lambda p: client.get(p).status_code, ["/cached/", "/async/"])
    proxy.blackhole()
    _check(_requests(lambda p: client.get(p).status_code, ["/cached/", "/async/"] * 3))
    proxy.restore()


@pytest.fixture
def flask_app(proxy: FaultProxy) -> Iterator[Flask]:
    bridge = CacheBridge()
    app = Flask("outage")
    app.config.update(
        TESTING=True,
        CACHE_BRIDGE_URL=proxy.url(),
        CACHE_BRIDGE_KEY_PREFIX="outage",
        CACHE_BRIDGE_OPTIONS=dict(OPTIONS),
    )
    bridge.init_app(app)

    @app.get("/cached")
    @bridge.cached(ttl=60)
    def cached() -> str:
        return "rendered"

    @app.get("/async")
    async def async_page() -> dict[str, bool]:
        hit = (await bridge.async_cache.get("async-page")).value_or(None) is not None
        if not hit:
            await bridge.async_cache.set("async-page", "rendered", ttl=300)
            await bridge.async_cache.set("async-page-meta", "m", ttl=300)
        return {"hit": hit}

    with app.app_context():
        sync_breaker = bridge.cache.breaker  # type: ignore[attr-defined]
        async_breaker = bridge.async_cache.breaker  # type: ignore[attr-defined]
    assert sync_breaker is not None
    assert sync_breaker is async_breaker
    yield app
    bridge.close(app)


def test_a_flask_app_pays_one_timeout_per_outage(flask_app: Flask, proxy: FaultProxy) -> None:
    client = flask_app.test_client()
    assert _requests(lambda p: client.get(p).status_code, ["/cached", "/async"])
    proxy.blackhole()
    _check(_requests(lambda p: client.get(p).status_code, ["/cached", "/async"] * 3))
    proxy.restore()
