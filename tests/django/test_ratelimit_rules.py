"""Middleware rules by URL name and by view, shared limits and APPLICATION_LIMITS (issue 15
item 1), with Django's Client and AsyncClient, on a memory alias and on the test-started
Redis."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import AsyncClient, Client
from pytest_django import Settings as SettingsWrapper

from django_cache_bridge.ratelimit_config import check_ratelimit
from tests.django.ratelimit_rules_urls import Report
from tests.support.django_helpers import alias
from tests.support.ratelimit_clock import inside_one_minute

pytestmark = pytest.mark.urls("tests.django.ratelimit_rules_urls")

START = 1_700_006_400.0


@pytest.fixture
def configure(
    settings: SettingsWrapper, location: str, request: pytest.FixtureRequest
) -> Callable[..., None]:
    options = {"clock": lambda: START + 1} if location.startswith("memory://") else {}
    if not options:
        inside_one_minute(request.getfixturevalue("redis_client"))
    settings.CACHES = {"default": alias(location, KEY_PREFIX="rules", OPTIONS=options)}
    settings.MIDDLEWARE = ["django_cache_bridge.middleware.RateLimitMiddleware"]

    def apply(**setting: object) -> None:
        settings.CACHE_BRIDGE_RATELIMIT = setting

    return apply


def _codes(client: Client, *paths: str) -> list[int]:
    return [client.get(path).status_code for path in paths]


def test_a_rule_by_namespaced_url_name(configure: Callable[..., None]) -> None:
    configure(RULES=[{"URL_NAME": "shop:cart", "RATE": "1/h"}])
    client = Client()
    assert _codes(client, "/shop/cart/", "/shop/cart/") == [200, 429]
    assert _codes(client, "/shop/checkout/", "/search/") == [200, 200]


def test_a_rule_by_view_path_and_by_class(configure: Callable[..., None]) -> None:
    configure(
        RULES=[
            {"VIEW": "tests.django.ratelimit_rules_urls.search", "RATE": "2/h", "NAME": "s"},
            {"VIEW": Report, "RATE": "1/h"},
        ]
    )
    client = Client()
    # One view behind two URLs: one counter.
    assert _codes(client, "/search/", "/find/", "/search/") == [200, 200, 429]
    assert _codes(client, "/report/", "/report/") == [200, 429]


async def test_rules_of_one_name_share_a_counter(configure: Callable[..., None]) -> None:
    configure(
        RULES=[
            {"NAME": "shop", "URL_NAME": ["shop:cart"], "RATE": "3/h"},
            {"NAME": "shop", "PATH": "/shop/checkout/", "RATE": "3/h"},
        ]
    )
    client = AsyncClient()
    paths = ["/shop/cart/", "/shop/checkout/", "/shop/cart/", "/shop/checkout/"]
    assert [(await client.get(p)).status_code for p in paths] == [200, 200, 200, 429]


def test_a_not_found_url_gets_path_rules_only(configure: Callable[..., None]) -> None:
    configure(
        RULES=[
            {"PATH": "/shop/", "RATE": "1/h", "NAME": "prefix"},
            {"URL_NAME": "shop:cart", "RATE": "1/h", "NAME": "cart"},
        ]
    )
    client = Client()
    response = client.get("/shop/nowhere/")
    assert response.status_code == 404
    assert response["RateLimit-Policy"] == '"prefix";q=1;w=3600'
    assert _codes(client, "/shop/nowhere/") == [429]


def test_application_limits_cover_every_request(configure: Callable[..., None]) -> None:
    configure(APPLICATION_LIMITS=["3/h"])
    client = Client()
    assert _codes(client, "/search/", "/report/", "/nowhere/", "/shop/cart/") == [
        200,
        200,
        404,
        429,
    ]


def test_mistakes_are_reported(settings: SettingsWrapper) -> None:
    settings.CACHE_BRIDGE_RATELIMIT = {"RULES": [{"VIEW": "no.such.view", "RATE": "1/h"}]}
    (error,) = check_ratelimit()
    assert "VIEW 'no.such.view' cannot be imported" in error.msg
    settings.CACHE_BRIDGE_RATELIMIT = {"RULES": [{"URL_NAME": 5, "RATE": "1/h"}]}
    (error,) = check_ratelimit()
    assert "URL_NAME" in error.msg
    settings.CACHE_BRIDGE_RATELIMIT = {"APPLICATION_LIMITS": ["1/M"]}
    (error,) = check_ratelimit()
    assert "APPLICATION_LIMITS'][0]: ambiguous rate" in error.msg
