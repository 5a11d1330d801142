"""Limit strings in Django (issue 15 item 5) with Django's Client and AsyncClient, on a
memory alias (a controlled clock) and on the test-started Redis (its clock): a rate string or
list of several limits on a decorator and on a middleware rule; every limit is counted and
listed in the headers; an ambiguous single letter fails at configuration."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import AsyncClient, Client
from pytest_django import Settings as SettingsWrapper

from django_cache_bridge.ratelimit import ratelimit
from django_cache_bridge.ratelimit_config import check_ratelimit
from tests.support.django_helpers import alias
from tests.support.ratelimit_clock import inside_one_minute

pytestmark = pytest.mark.urls("tests.django.ratelimit_strings_urls")

#: The start of a minute (and of an hour).
START = 1_700_006_400.0


@pytest.fixture
def configured(
    settings: SettingsWrapper, location: str, request: pytest.FixtureRequest
) -> SettingsWrapper:
    options = {"clock": lambda: START + 1} if location.startswith("memory://") else {}
    if not options:
        inside_one_minute(request.getfixturevalue("redis_client"))
    settings.CACHES = {"default": alias(location, KEY_PREFIX="strings", OPTIONS=options)}
    settings.MIDDLEWARE = ["django_cache_bridge.middleware.RateLimitMiddleware"]
    settings.CACHE_BRIDGE_RATELIMIT = {
        "RULES": [{"NAME": "api", "PATH": "/api/", "RATE": "2/minute;3 per hour"}]
    }
    return settings


def test_a_decorator_with_two_limits_in_one_string(configured: SettingsWrapper) -> None:
    client = Client()
    responses = [client.get("/rl/login/") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[0]["RateLimit-Policy"] == '"login";q=2;w=60, "login";q=5;w=3600'


async def test_an_async_view_with_a_list_and_a_pair(configured: SettingsWrapper) -> None:
    client = AsyncClient()
    responses = [await client.get("/rl/search/") for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert responses[0]["RateLimit-Policy"] == '"search";q=3;w=60, "search";q=4;w=3600'


def test_a_rule_with_two_limits_in_one_string(configured: SettingsWrapper) -> None:
    client = Client()
    responses = [client.get("/api/plain/") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[0]["RateLimit-Policy"] == '"api";q=2;w=60, "api";q=3;w=3600'


def test_an_ambiguous_letter_fails_at_configuration(settings: SettingsWrapper) -> None:
    settings.CACHE_BRIDGE_RATELIMIT = {"RULES": [{"PATH": "/", "RATE": "100/M"}]}
    (error,) = check_ratelimit()
    assert error.id == "django_cache_bridge.E010"
    assert "'m' or 'minute'" in error.msg
    assert "'month'" in error.msg
    with pytest.raises(ImproperlyConfigured, match=r"@ratelimit on v: ambiguous rate '5/M'"):
        ratelimit("5/M", name="v")(lambda request: None)


def test_the_product_rule_fails_at_configuration(settings: SettingsWrapper) -> None:
    settings.CACHE_BRIDGE_RATELIMIT = {
        "RULES": [{"PATH": "/", "RATE": "1000000/year", "ALGORITHM": "token-bucket"}]
    }
    (error,) = check_ratelimit()
    assert "product rule" in error.msg
    settings.CACHE_BRIDGE_RATELIMIT = {"RULES": [{"PATH": "/", "RATE": "1000000/year"}]}
    assert check_ratelimit() == []
