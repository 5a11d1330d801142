"""Cost and deduct_when in Django (issue 15 item 2) with Django's Client and AsyncClient, on a
memory alias (a controlled clock) and on the test-started Redis: failed logins counted only,
costs from the request, rules with COST and DEDUCT_WHEN, and configuration mistakes."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import AsyncClient, Client
from pytest_django import Settings as SettingsWrapper

from django_cache_bridge.ratelimit import ratelimit
from django_cache_bridge.ratelimit_config import check_ratelimit
from tests.support.django_helpers import alias
from tests.support.ratelimit_clock import inside_one_minute

pytestmark = pytest.mark.urls("tests.django.ratelimit_cost_urls")

START = 1_700_006_400.0


@pytest.fixture
def configured(
    settings: SettingsWrapper, location: str, request: pytest.FixtureRequest
) -> SettingsWrapper:
    options = {"clock": lambda: START + 1} if location.startswith("memory://") else {}
    if not options:
        inside_one_minute(request.getfixturevalue("redis_client"))
    settings.CACHES = {"default": alias(location, KEY_PREFIX="cost", OPTIONS=options)}
    settings.MIDDLEWARE = ["django_cache_bridge.middleware.RateLimitMiddleware"]
    settings.CACHE_BRIDGE_RATELIMIT = {
        "RULES": [
            {
                "NAME": "api",
                "PATH": "/api/",
                "RATE": "2/h",
                "DEDUCT_WHEN": "tests.django.test_ratelimit_cost.not_found",
            },
            {"NAME": "api-units", "PATH": "/api/", "RATE": "12/h", "COST": 3},
        ]
    }
    return settings


def not_found(response: object) -> bool:
    return getattr(response, "status_code", 0) == 404


def test_only_failed_logins_count(configured: SettingsWrapper) -> None:
    client = Client()
    for _ in range(5):
        assert client.post("/login/", {"password": "right"}).status_code == 200
    codes = [client.post("/login/", {"password": "wrong"}).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    assert client.post("/login/", {"password": "right"}).status_code == 429


async def test_only_failed_logins_count_async(configured: SettingsWrapper) -> None:
    client = AsyncClient()
    for _ in range(5):
        assert (await client.post("/alogin/", {"password": "right"})).status_code == 200
    codes = [(await client.post("/alogin/", {"password": "x"})).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]


def test_a_cost_from_the_request_and_headers_in_units(configured: SettingsWrapper) -> None:
    client = Client()
    first = client.get("/export/?rows=4")
    assert first.status_code == 200
    assert first["RateLimit"].startswith('"export";r=6;t=')
    assert client.get("/export/?rows=7").status_code == 429  # 7 > 6 left: nothing counted
    assert client.get("/export/?rows=6").status_code == 200


async def test_a_static_cost(configured: SettingsWrapper) -> None:
    client = AsyncClient()
    codes = [(await client.get("/heavy/")).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_rules_with_cost_and_deduct_when(configured: SettingsWrapper) -> None:
    client = Client()
    # The 404s count in "api" (2/h); every request costs 3 of "api-units" (12/h, room for 4).
    assert client.get("/api/ok/").status_code == 200
    assert client.get("/api/missing/").status_code == 404
    assert client.get("/api/missing/").status_code == 404
    refused = client.get("/api/ok/")
    assert refused.status_code == 429  # "api" is spent: 2 404s
    assert refused["RateLimit"].startswith('"api";r=0;t=')


def test_a_cost_callable_that_raises_refuses_the_request(configured: SettingsWrapper) -> None:
    client = Client()
    response = client.get("/export/?rows=many")
    assert response.status_code == 429


def test_configuration_mistakes(settings: SettingsWrapper) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"cost 5 is larger than the limit of rate 3/h"):
        ratelimit("3/h", cost=5)(lambda request: None)
    with pytest.raises(ImproperlyConfigured, match="cost must be an int"):
        ratelimit("3/h", cost=-1)(lambda request: None)
    with pytest.raises(ImproperlyConfigured, match="deduct_when must be a callable"):
        ratelimit("3/h", deduct_when=404)(lambda request: None)  # type: ignore[arg-type]
    settings.CACHE_BRIDGE_RATELIMIT = {"RULES": [{"PATH": "/", "RATE": "2/m;10/h", "COST": 3}]}
    (error,) = check_ratelimit()
    assert "cost 3 is larger than the limit of rate 2/m" in error.msg
