"""A refused request costs no limit in Django: the middleware's rules are decided together,
stacked decorators together, and a decorator's refusal takes back what the middleware (or an
outer decorator) counted (Django's Client and AsyncClient, memory with a controlled clock and
the test-started Redis). Regression for issue 12 item 2 (every covering rule and decorator
counted the request before any refusal was looked at)."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpRequest
from django.test import AsyncClient, Client
from pytest_django import Settings as SettingsWrapper

from tests.support.clocks import ManualClock
from tests.support.django_helpers import alias, fresh_memory
from tests.support.ratelimit_clock import inside_one_minute

pytestmark = pytest.mark.urls("tests.django.django_ratelimit_urls")

#: The start of an hour.
HOUR = 1_700_006_400.0
MIDDLEWARE = ["django_cache_bridge.middleware.RateLimitMiddleware"]


class Clock(ManualClock):
    start = HOUR + 1


def everyone(request: HttpRequest) -> str:
    return "all"


@pytest.fixture
def clock(settings: SettingsWrapper, location: str, request: pytest.FixtureRequest) -> Clock:
    clock = Clock()
    options: dict[str, Any] = {"clock": clock} if location.startswith("memory://") else {}
    if not options:
        inside_one_minute(request.getfixturevalue("redis_client"))
    settings.CACHES = {"default": alias(location, KEY_PREFIX="site", OPTIONS=options)}
    return clock


def _configure(settings: SettingsWrapper, middleware: bool, **setting: Any) -> None:
    settings.MIDDLEWARE = MIDDLEWARE if middleware else []
    settings.CACHE_BRIDGE_RATELIMIT = setting


def _from(client: Client, address: str, path: str, n: int = 1) -> list[int]:
    return [client.get(path, REMOTE_ADDR=address).status_code for _ in range(n)]


GLOBAL_AND_PER_IP = [
    {"NAME": "global", "PATH": "/rl/", "RATE": "5/m", "KEY": everyone},
    {"NAME": "per-ip", "PATH": "/rl/api/", "RATE": "1/m"},
]


def test_middleware_rules_a_client_past_its_limit_leaves_the_global_one(
    settings: SettingsWrapper, clock: Clock
) -> None:
    _configure(settings, True, RULES=GLOBAL_AND_PER_IP)
    client = Client()
    assert _from(client, "198.51.100.1", "/rl/api/a/", 5) == [200] + [429] * 4
    others = [_from(client, f"198.51.100.{n}", "/rl/api/a/")[0] for n in range(2, 7)]
    assert others == [200, 200, 200, 200, 429]


async def test_middleware_rules_under_asgi(settings: SettingsWrapper, clock: Clock) -> None:
    # Clients told apart by a header: AsyncClient sends every request from one address.
    per_client = {"NAME": "per-client", "PATH": "/rl/api/", "RATE": "1/m", "KEY": "header:X-C"}
    _configure(settings, True, RULES=[GLOBAL_AND_PER_IP[0], per_client])
    client = AsyncClient()

    async def get(name: str) -> int:
        return (await client.get("/rl/api/async/", headers={"X-C": name})).status_code

    first = [await get("1") for _ in range(2)]
    others = [await get(str(n)) for n in range(2, 7)]
    assert first + others == [200, 429, 200, 200, 200, 200, 429]


@pytest.mark.parametrize("path", ["/rl/hour-and-minute/", "/rl/async-hour-and-minute/"])
def test_stacked_decorators_a_refusal_per_minute_keeps_the_hourly_quota(
    settings: SettingsWrapper, path: str
) -> None:
    # The hour's decorator is the outer one: it used to count before the minute's refused.
    clock = Clock()
    settings.CACHES = {"default": alias(fresh_memory(), OPTIONS={"clock": clock})}
    _configure(settings, False)
    client = Client()
    seen = []
    for minute in range(3):
        clock.now = HOUR + 1 + 60 * minute
        seen.append([client.get(path).status_code for _ in range(4)])
    assert seen == [[200, 200, 429, 429], [200, 200, 429, 429], [200, 429, 429, 429]]


def test_a_decorator_refusal_takes_back_the_middleware_count(
    settings: SettingsWrapper, clock: Clock
) -> None:
    _configure(settings, True, RULES=[{"NAME": "site", "PATH": "/rl/", "RATE": "3/m"}])
    client = Client()
    limited = [client.get("/rl/limited/").status_code for _ in range(4)]  # @ratelimit("2/m")
    assert limited == [200, 200, 429, 429]
    # The site rule counted only the two requests served: one more is allowed.
    assert [client.get("/rl/other/").status_code for _ in range(2)] == [200, 429]


async def test_a_decorator_refusal_takes_back_the_middleware_count_under_asgi(
    settings: SettingsWrapper, clock: Clock
) -> None:
    _configure(settings, True, RULES=[{"NAME": "site", "PATH": "/rl/", "RATE": "3/m"}])
    client = AsyncClient()
    limited = [(await client.get("/rl/async-limited/")).status_code for _ in range(4)]
    assert limited == [200, 200, 429, 429]
    assert [(await client.get("/rl/api/async/")).status_code for _ in range(2)] == [200, 429]
