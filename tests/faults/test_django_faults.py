"""A Django site on Redis through a FaultProxy, with Django's test Client: while the link is
half-open, pages keep answering (cache misses), rate limits fail open or closed as configured,
every request is bounded, and after the fault the same process serves from the cache again."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core.cache import caches
from django.test import Client
from pytest_django import Settings as SettingsWrapper

from cache_bridge.resilience.breaker import CircuitBreaker
from cache_bridge.testing.proxy import FaultProxy
from django_cache_bridge.cache import BridgeCache
from tests.faults.scenario import BOUND, COOLDOWN, FAST, FRAMEWORK

pytestmark = [pytest.mark.urls("tests.faults.django_fault_urls"), pytest.mark.redis]

PAGES = ["/page/", "/async-page/"]


@pytest.fixture
def site(settings: SettingsWrapper, proxy: FaultProxy) -> CircuitBreaker:
    """The default alias on the proxy; returns the breaker of its blocking adapter."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django_cache_bridge.cache.BridgeCache",
            "LOCATION": proxy.url(),
            "KEY_PREFIX": "site",
            "OPTIONS": dict(FRAMEWORK),
        }
    }
    settings.CACHE_BRIDGE_RATELIMIT = {}
    cache = caches["default"]
    assert isinstance(cache, BridgeCache)
    breaker = cache.adapters().sync.breaker
    assert breaker is not None
    assert (breaker.threshold, breaker.cooldown) == (FAST["breaker_threshold"], COOLDOWN)
    return breaker


def _get(client: Client, path: str, bound: float) -> Any:
    started = time.monotonic()
    response = client.get(path)
    seconds = time.monotonic() - started
    assert seconds < bound, f"{path} took {seconds:.2f}s (bound {bound}s)"
    return response


def test_a_django_site_answers_through_a_half_open_link_and_recovers(
    site: CircuitBreaker, proxy: FaultProxy
) -> None:
    client = Client()
    assert [_get(client, p, BOUND).json()["hit"] for p in PAGES] == [False, True]
    assert [_get(client, "/open/", BOUND).status_code for _ in range(2)] == [200, 429]
    assert [_get(client, "/closed/", BOUND).status_code for _ in range(2)] == [200, 429]

    proxy.blackhole()
    # A page does up to two cache calls, each bounded by the timeouts, until the breaker
    # opens; then it does none.
    for _ in range(3):
        for path in PAGES:
            assert _get(client, path, 2 * BOUND).json() == {"hit": False}
        assert _get(client, "/open/", 2 * BOUND).status_code == 200  # fails open
        closed = _get(client, "/closed/", 2 * BOUND)
        assert closed.status_code == 503  # fails closed
    assert site.stats().opened_total >= 1

    proxy.restore()
    # The sync and async views use the alias's two adapters, each with its own breaker.
    for path in PAGES:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if _get(client, path, BOUND).json()["hit"]:
                break  # the data written before the fault is read again
            time.sleep(COOLDOWN / 5)
        else:
            pytest.fail(f"{path} did not read from the cache again within 10 s")
    # The counters are back too.
    assert _get(client, "/open/", BOUND).status_code == 429
    assert _get(client, "/closed/", BOUND).status_code == 429
    assert site.state == "closed"
