"""``CACHE_BRIDGE_RATELIMIT["FALLBACK"] = "memory"`` with Django's test Client and AsyncClient:
with the rate-limit alias's ``LOCATION`` on a Redis where nothing listens, the middleware's
rules and the decorator keep holding (200, 200, 200, 429, with their headers) where
``FAIL_OPEN`` alone lets every request through; a wrong value is an ImproperlyConfigured."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import AsyncClient, Client
from pytest_django import Settings as SettingsWrapper

from cache_bridge.ratelimit.memory_fallback import reset_fallback_store
from django_cache_bridge.ratelimit_config import current_config
from tests.support.django_helpers import DEAD_OPTIONS, alias, dead_redis_url, fresh_memory

pytestmark = pytest.mark.urls("tests.django.django_ratelimit_urls")

MIDDLEWARE = ["django_cache_bridge.middleware.RateLimitMiddleware"]


@pytest.fixture(autouse=True)
def dead(settings: SettingsWrapper) -> Iterator[None]:
    reset_fallback_store()
    settings.CACHES = {
        "default": alias(fresh_memory()),
        "dead": alias(dead_redis_url(), KEY_PREFIX="dead", OPTIONS=DEAD_OPTIONS),
    }
    yield
    reset_fallback_store()


def configure(settings: SettingsWrapper, **setting: Any) -> None:
    settings.MIDDLEWARE = MIDDLEWARE
    # A sliding window: no window boundary resets the count in the middle of the test.
    settings.CACHE_BRIDGE_RATELIMIT = {
        "CACHE": "dead",
        "ALGORITHM": "sliding-window",
        "RULES": [{"PATH": "/rl/api/", "RATE": "3/m"}],
        **setting,
    }


def test_a_dead_cache_with_the_fallback_holds_a_rule(settings: SettingsWrapper) -> None:
    configure(settings, FALLBACK="memory")
    client = Client()
    responses = [client.get("/rl/api/a/") for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert "r=0" in responses[2]["RateLimit"]  # the process's own count
    assert int(responses[3]["Retry-After"]) >= 1


def test_without_the_fallback_fail_open_lets_every_request_through(
    settings: SettingsWrapper,
) -> None:
    configure(settings)
    client = Client()
    assert [client.get("/rl/api/a/").status_code for _ in range(4)] == [200] * 4


def test_the_decorator_holds_its_limit_too(settings: SettingsWrapper) -> None:
    configure(settings, FALLBACK="memory", RULES=[])
    client = Client()
    assert [client.get("/rl/limited/").status_code for _ in range(3)] == [200, 200, 429]


async def test_under_asgi(settings: SettingsWrapper) -> None:
    configure(settings, FALLBACK="memory")
    client = AsyncClient()
    codes = [(await client.get("/rl/api/async/")).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


@pytest.mark.parametrize(
    ("fallback", "message"),
    [("memroy", "Did you mean 'memory'"), (True, "not a rate-limit fallback")],
)
def test_a_wrong_fallback_says_what_to_write(
    settings: SettingsWrapper, fallback: object, message: str
) -> None:
    settings.CACHE_BRIDGE_RATELIMIT = {"FALLBACK": fallback}
    with pytest.raises(ImproperlyConfigured, match=message):
        current_config()
