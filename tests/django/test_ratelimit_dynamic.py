"""Dynamic limits and stacked decorators' headers in Django (issue 15 items 6 and 7) with
Django's Client and AsyncClient, on a memory alias and on the test-started Redis."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import AsyncClient, Client
from pytest_django import Settings as SettingsWrapper

from cache_bridge.ratelimit.dynamic import MAX_RATES, DynamicRate
from tests.support.django_helpers import alias
from tests.support.ratelimit_clock import inside_one_minute

pytestmark = pytest.mark.urls("tests.django.ratelimit_dynamic_urls")

START = 1_700_006_400.0


@pytest.fixture
def configured(
    settings: SettingsWrapper, location: str, request: pytest.FixtureRequest
) -> SettingsWrapper:
    options = {"clock": lambda: START + 1} if location.startswith("memory://") else {}
    if not options:
        inside_one_minute(request.getfixturevalue("redis_client"))
    settings.CACHES = {"default": alias(location, KEY_PREFIX="dynamic", OPTIONS=options)}
    settings.MIDDLEWARE = ["django_cache_bridge.middleware.RateLimitMiddleware"]
    settings.CACHE_BRIDGE_RATELIMIT = {"RULES": [{"NAME": "site", "PATH": "/", "RATE": "50/h"}]}
    return settings


def test_a_rate_per_plan(configured: SettingsWrapper) -> None:
    client = Client()
    free = {"X-Plan": "free", "X-User": "ann"}
    pro = {"X-Plan": "pro", "X-User": "bob"}
    assert [client.get("/api/", headers=free).status_code for _ in range(3)] == [200, 200, 429]
    codes = [client.get("/api/", headers=pro).status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    anonymous = [client.get("/api/", headers={"X-User": "cat"}) for _ in range(3)]
    assert [r.status_code for r in anonymous] == [200] * 3  # None: not limited
    assert '"api"' not in anonymous[0]["RateLimit-Policy"]


async def test_django_ratelimits_group_request_signature(configured: SettingsWrapper) -> None:
    client = AsyncClient()
    assert [(await client.get("/reports/")).status_code for _ in range(2)] == [200, 429]
    staff = [(await client.get("/reports/", headers={"X-Staff": "1"})).status_code]
    assert staff == [200]


def test_many_distinct_rates_stay_right(caplog: pytest.LogCaptureFixture) -> None:
    dynamic = DynamicRate(lambda n: f"{n}/h", "test")
    with caplog.at_level(logging.INFO, logger="cache_bridge.ratelimit"):
        for n in range(1, 2 * MAX_RATES + 1):
            (rate,) = dynamic.rates(n) or ()
            assert rate.limit == n
    assert "forgetting them" in caplog.text
    broken = DynamicRate(lambda: "100/M", "broken")
    with caplog.at_level(logging.WARNING, logger="cache_bridge.ratelimit"):
        assert broken.rates() == ()
    assert "ambiguous rate" in caplog.text


def test_stacked_decorators_and_a_rule_list_every_limit(configured: SettingsWrapper) -> None:
    response = Client().get("/stacked/")
    assert response.status_code == 200
    assert response["RateLimit-Policy"] == (
        '"site";q=50;w=3600, "inner";q=100;w=3600, "outer";q=10;w=60'
    )


async def test_stacked_async_decorators_list_every_limit(configured: SettingsWrapper) -> None:
    configured.MIDDLEWARE = []
    response = await AsyncClient().get("/astacked/")
    assert response.status_code == 200
    assert response["RateLimit-Policy"] == '"inner";q=100;w=3600, "outer";q=10;w=60'


# Before, the header flags were matched to the decisions one per decorator limit: a callable's
# decisions past its first rate pushed the limits above it out of the list, or took their flag.
PLAN = {'"plan";q=10;w=60', '"plan";q=100;w=3600', '"outer";q=50;w=60'}


def _policies(response: Any) -> set[str]:
    assert response.status_code == 200
    return {part.strip() for part in response["RateLimit-Policy"].split(",")}


def test_stacked_over_a_callable_of_two_rates_list_every_limit(
    configured: SettingsWrapper,
) -> None:
    configured.MIDDLEWARE = []
    client = Client()
    assert _policies(client.get("/over-plan/")) == PLAN
    # headers=False keeps a decorator's limits out, whatever the callable gives.
    assert _policies(client.get("/quiet-plan/")) == {'"inner";q=50;w=60'}
    assert _policies(client.get("/plan-over-quiet/")) == PLAN


async def test_async_stacked_over_a_callable_of_two_rates_list_every_limit(
    configured: SettingsWrapper,
) -> None:
    configured.MIDDLEWARE = []
    assert _policies(await AsyncClient().get("/aover-plan/")) == PLAN


# -- a rate callable that raises: DYNAMIC_FAIL_OPEN ------------------------------------------


def test_a_raising_rate_callable_fails_open_by_default(
    configured: SettingsWrapper, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="cache_bridge.ratelimit"):
        codes = [Client().get("/broken/").status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    assert "plans service down" in caplog.text
    assert "does not apply" in caplog.text


@pytest.mark.parametrize("path", ["/broken/", "/abroken/"])
async def test_a_raising_rate_callable_fails_closed_when_configured(
    configured: SettingsWrapper, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    configured.CACHE_BRIDGE_RATELIMIT = {
        **configured.CACHE_BRIDGE_RATELIMIT,
        "DYNAMIC_FAIL_OPEN": False,
    }
    with caplog.at_level(logging.WARNING, logger="cache_bridge.ratelimit"):
        response = await AsyncClient().get(path)
        sync_response = Client().get(path)
    assert response.status_code == sync_response.status_code == 503
    assert response["Retry-After"] == "1"
    assert "refused" in caplog.text
    assert "DYNAMIC_FAIL_OPEN" in caplog.text
