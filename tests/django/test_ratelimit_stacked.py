"""Stacked ``@ratelimit`` decorators with Django's Client and AsyncClient, on a memory alias
(a controlled clock) and on the test-started Redis (its clock): each limit keeps its own
state, for every algorithm. Regression for issue 12 item 1 (two decorators without a name
shared one state key)."""

from __future__ import annotations

import pytest
from django.test import AsyncClient, Client
from pytest_django import Settings as SettingsWrapper

from cache_bridge.engine.limit_algorithms import ALGORITHMS
from tests.support.django_helpers import alias
from tests.support.ratelimit_clock import inside_one_minute

pytestmark = pytest.mark.urls("tests.django.django_ratelimit_urls")

#: The start of a minute (and of an hour).
START = 1_700_006_400.0


@pytest.fixture(params=ALGORITHMS)
def configured(
    settings: SettingsWrapper, location: str, request: pytest.FixtureRequest
) -> SettingsWrapper:
    options = {"clock": lambda: START + 1} if location.startswith("memory://") else {}
    if not options:
        inside_one_minute(request.getfixturevalue("redis_client"))
    settings.CACHES = {"default": alias(location, KEY_PREFIX="site", OPTIONS=options)}
    settings.MIDDLEWARE = []
    settings.CACHE_BRIDGE_RATELIMIT = {"ALGORITHM": request.param}
    return settings


def test_a_minute_and_an_hour_limit_on_one_view(configured: SettingsWrapper) -> None:
    client = Client()
    codes = [client.get("/rl/minute-and-hour/").status_code for _ in range(4)]
    assert codes == [200, 200, 429, 429]


async def test_five_and_ten_per_minute_allow_exactly_five(configured: SettingsWrapper) -> None:
    client = AsyncClient()
    codes = [(await client.get("/rl/five-and-ten/")).status_code for _ in range(12)]
    assert codes == [200] * 5 + [429] * 7
