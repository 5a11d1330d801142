"""One round trip per request (issue 15 item 8): the middleware's rules and the view's
stacked ``@ratelimit`` limits are decided by one script run on Redis, counted with the
server's INFO commandstats; a request refused by any of them costs none of the others.
Headers (item 7): every limit that applied in ``RateLimit-Policy``, the tightest in
``RateLimit``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis
from django.test import AsyncClient, Client
from pytest_django import Settings as SettingsWrapper

from tests.django.ratelimit_round_trip_urls import SEEN
from tests.ratelimit.round_trips import (
    commands_since_reset,
    own_redis_url,  # noqa: F401 - the module's own server
    round_trips,
)
from tests.support.django_helpers import alias

pytestmark = [pytest.mark.urls("tests.django.ratelimit_round_trip_urls"), pytest.mark.redis]


@pytest.fixture
def on_redis(settings: SettingsWrapper, redis_url: str, redis_client: redis.Redis) -> redis.Redis:
    settings.CACHES = {"default": alias(redis_url, KEY_PREFIX="site")}
    settings.MIDDLEWARE = ["django_cache_bridge.middleware.RateLimitMiddleware"]
    # Hour-long sliding windows: no window boundary resets a count mid-test.
    settings.CACHE_BRIDGE_RATELIMIT = {
        "ALGORITHM": "sliding-window",
        "RULES": [{"NAME": "site", "PATH": "/rt/", "RATE": "10/h"}],
    }
    return redis_client


def _trips(client: redis.Redis, send: Callable[[], object]) -> int:
    return round_trips(client, send)


def test_rules_and_stacked_decorators_are_one_script_run(on_redis: redis.Redis) -> None:
    client = Client()
    client.get("/rt/plain/")  # the script is loaded: later requests are one EVALSHA each
    assert _trips(on_redis, lambda: client.get("/rt/stacked/")) == 1
    assert _trips(on_redis, lambda: client.get("/rt/class/")) == 1


async def test_async_rules_and_stacked_decorators_are_one_script_run(
    on_redis: redis.Redis,
) -> None:
    client = AsyncClient()
    await client.get("/rt/plain/")
    on_redis.config_resetstat()
    assert (await client.get("/rt/async-stacked/")).status_code == 200
    assert commands_since_reset(on_redis) == 1


def test_a_refusal_by_a_decorator_is_one_trip_and_costs_the_rule_nothing(
    on_redis: redis.Redis,
) -> None:
    client = Client()
    codes = [client.get("/rt/stacked/").status_code for _ in range(2)]
    refused: list[int] = []
    trips = _trips(on_redis, lambda: refused.append(client.get("/rt/stacked/").status_code))
    assert codes + refused == [200, 200, 429]
    assert trips == 1  # no refund: nothing was counted
    # The rule counted the two allowed requests only: 8 of 10 left before this one.
    assert '"site";r=7;' in client.get("/rt/plain/")["RateLimit"]


def test_every_limit_in_the_policy_and_the_tightest_in_ratelimit(on_redis: redis.Redis) -> None:
    response = Client().get("/rt/stacked/")
    policy = response["RateLimit-Policy"]
    assert policy.count(";q=") == 3
    assert '"site";q=10;w=3600' in policy
    assert '"tight";q=2;w=3600' in policy
    assert '"hourly";q=5;w=3600' in policy
    assert response["RateLimit"].startswith('"tight";r=1;t=')
    assert "," not in response["RateLimit"]


def test_two_stacked_decorators_without_rules_list_both(
    settings: SettingsWrapper, on_redis: redis.Redis
) -> None:
    settings.MIDDLEWARE = []
    response = Client().get("/rt/stacked/")
    assert response["RateLimit-Policy"].count(";q=") == 2
    assert response["RateLimit"].startswith('"tight";r=1;')


def test_a_view_that_never_runs_gives_back_what_its_limits_counted(
    settings: SettingsWrapper, on_redis: redis.Redis
) -> None:
    # The same view at a URL the rule does not cover... and one it does, where a later
    # middleware answers before the view: its limits must not keep the count.
    settings.MIDDLEWARE = [
        "django_cache_bridge.middleware.RateLimitMiddleware",
        "tests.django.ratelimit_round_trip_urls.Refuse",
    ]
    client = Client()
    assert client.get("/rt/stacked/", HTTP_X_REFUSE="1").status_code == 403
    settings.MIDDLEWARE = ["django_cache_bridge.middleware.RateLimitMiddleware"]
    assert client.get("/rt/stacked/")["RateLimit"].startswith('"tight";r=1;')


def test_soft_limits_keep_their_own_decision(on_redis: redis.Redis) -> None:
    client = Client()
    codes = [client.get("/rt/soft-and-hard/").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 200, 429]


def test_stacked_around_another_decorator_count_once_and_run_it(
    settings: SettingsWrapper, on_redis: redis.Redis
) -> None:
    """Directly stacked, the outermost @ratelimit calls the view under all of them; with
    another decorator in between, that decorator runs once per allowed request, and both
    limits are decided together, once, by the outermost."""
    settings.MIDDLEWARE = []
    client = Client()
    client.get("/rt/plain/")  # the script is loaded: later requests are one EVALSHA each
    SEEN.clear()
    responses: list[Any] = []
    assert _trips(on_redis, lambda: responses.append(client.get("/rt/between/"))) == 1
    responses += [client.get("/rt/between/") for _ in range(2)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert SEEN == ["/rt/between/"] * 2
    policy = responses[0]["RateLimit-Policy"]
    assert '"outer";q=5;w=3600' in policy
    assert '"under";q=2;w=3600' in policy
    assert responses[1]["RateLimit"].startswith('"under";r=0;')
