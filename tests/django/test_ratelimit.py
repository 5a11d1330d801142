"""RateLimitMiddleware and @ratelimit with Django's test Client and AsyncClient, on a memory
alias with a controlled clock, on Redis, and on a Redis that is not there."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client, RequestFactory
from pytest_django import Settings as SettingsWrapper

from cache_bridge.ratelimit import Decision
from django_cache_bridge.ratelimit import ratelimit
from django_cache_bridge.ratelimit_config import current_config
from tests.support.clocks import ManualClock
from tests.support.django_helpers import (
    alias,
    clocked_aliases,
    fresh_memory,
)

pytestmark = pytest.mark.urls("tests.django.django_ratelimit_urls")

START = 1_700_006_400.0  # the start of a minute (and of a day)
MIDDLEWARE = ["django_cache_bridge.middleware.RateLimitMiddleware"]


class Clock(ManualClock):
    start = START


@pytest.fixture
def clock(settings: SettingsWrapper) -> Clock:
    clock = Clock()
    settings.CACHES = clocked_aliases(clock)
    settings.CACHE_BRIDGE_RATELIMIT = {}
    return clock


def configure(settings: SettingsWrapper, middleware: bool = True, **setting: Any) -> None:
    settings.MIDDLEWARE = MIDDLEWARE if middleware else []
    settings.CACHE_BRIDGE_RATELIMIT = setting


def statuses(client: Client, path: str, n: int, **extra: Any) -> list[int]:
    return [client.get(path, **extra).status_code for _ in range(n)]


# -- the middleware ---------------------------------------------------------------------------


def test_middleware_limits_a_path_prefix_with_headers_on_200_and_429(
    settings: SettingsWrapper, clock: Clock
) -> None:
    configure(settings, RULES=[{"NAME": "api", "PATH": "/rl/api/", "RATE": "2/m"}])
    client = Client()
    first = client.get("/rl/api/a/")
    assert first.status_code == 200
    assert first["RateLimit-Policy"] == '"api";q=2;w=60'
    assert first["RateLimit"] == '"api";r=1;t=60'
    assert "X-RateLimit-Limit" not in first
    assert client.get("/rl/api/a/").status_code == 200
    clock.now += 20
    denied = client.get("/rl/api/a/")
    assert denied.status_code == 429
    assert denied["Retry-After"] == "40"
    assert denied["RateLimit"] == '"api";r=0;t=40'
    assert statuses(client, "/rl/other/", 5) == [200] * 5  # not covered
    assert "RateLimit" not in client.get("/rl/other/")
    clock.now = START + 60
    assert client.get("/rl/api/a/").status_code == 200


async def test_middleware_under_asgi(settings: SettingsWrapper, clock: Clock) -> None:
    configure(
        settings,
        LEGACY_HEADERS=True,
        RULES=[{"PATH": "/rl/api/", "RATE": "1/m", "ALGORITHM": "token-bucket"}],
    )
    client = AsyncClient()
    ok = await client.get("/rl/api/async/")
    assert ok.status_code == 200
    assert ok["X-RateLimit-Remaining"] == "0"
    denied = await client.get("/rl/api/async/")
    assert denied.status_code == 429
    assert denied["Retry-After"] == "60"
    assert denied["X-RateLimit-Limit"] == "1"


def test_methods_and_regex_rules(settings: SettingsWrapper, clock: Clock) -> None:
    configure(
        settings,
        HEADERS=False,
        RULES=[{"REGEX": r"^/rl/log[a-z]+/$", "METHODS": ["post"], "RATE": "1/h"}],
    )
    client = Client()
    assert statuses(client, "/rl/login/", 3) == [200] * 3
    first = client.post("/rl/login/")
    assert first.status_code == 200
    assert "RateLimit" not in first  # HEADERS off: only refusals carry them
    refused = client.post("/rl/login/")
    assert refused.status_code == 429
    assert "RateLimit" in refused


def test_every_covering_rule_counts_and_headers_list_each_and_the_tightest(
    settings: SettingsWrapper, clock: Clock
) -> None:
    configure(
        settings,
        RULES=[
            {"NAME": "all", "PATH": "/rl/", "RATE": "10/m"},
            {"NAME": "api", "PATH": "/rl/api/", "RATE": "1/m"},
        ],
    )
    response = Client().get("/rl/api/a/")
    assert response["RateLimit-Policy"] == '"all";q=10;w=60, "api";q=1;w=60'
    assert response["RateLimit"] == '"api";r=0;t=60'


# -- the decorator ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/rl/limited/", "/rl/async-limited/", "/rl/sync-class/", "/rl/async-class/"]
)
def test_decorated_views_with_the_sync_client(
    settings: SettingsWrapper, clock: Clock, path: str
) -> None:
    configure(settings, middleware=False)
    client = Client()
    responses = [client.get(path) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert "RateLimit" in responses[0]
    assert int(responses[2]["Retry-After"]) >= 1


@pytest.mark.parametrize(
    "path", ["/rl/limited/", "/rl/async-limited/", "/rl/sync-class/", "/rl/async-class/"]
)
async def test_decorated_views_with_the_async_client(
    settings: SettingsWrapper, clock: Clock, path: str
) -> None:
    configure(settings, middleware=False)
    client = AsyncClient()
    codes = [(await client.get(path)).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_decorator_methods_header_callable_and_soft_keys(
    settings: SettingsWrapper, clock: Clock
) -> None:
    configure(settings, middleware=False)
    client = Client()
    assert statuses(client, "/rl/post-only/", 3) == [200] * 3
    assert [client.post("/rl/post-only/").status_code for _ in range(2)] == [200, 429]
    # A missing header: the limit does not apply.
    assert statuses(client, "/rl/by-header/", 3) == [200] * 3
    assert statuses(client, "/rl/by-header/", 2, HTTP_X_API_KEY="k1") == [200, 429]
    assert statuses(client, "/rl/by-header/", 1, HTTP_X_API_KEY="k2") == [200]
    assert statuses(client, "/rl/by-callable/?tenant=a", 2) == [200, 429]
    assert statuses(client, "/rl/by-callable/?tenant=b", 1) == [200]
    assert [client.get("/rl/soft/").json()["allowed"] for _ in range(2)] == [[True], [False]]


class User:
    is_authenticated = True

    def __init__(self, pk: int) -> None:
        self.pk = pk


class Anonymous:
    is_authenticated = False
    pk = None


def _view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


async def _async_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def test_user_keys(settings: SettingsWrapper, clock: Clock) -> None:
    configure(settings, middleware=False)
    by_user = ratelimit("1/m", key="user", name="u")(_view)
    either = ratelimit("1/m", key="user-or-ip", name="uip")(_view)
    factory = RequestFactory()

    def call(view: Any, user: Any, ip: str = "10.0.0.1") -> int:
        request = factory.get("/", REMOTE_ADDR=ip)
        request.user = user
        return int(view(request).status_code)

    assert [call(by_user, User(1)) for _ in range(2)] == [200, 429]
    assert call(by_user, User(2)) == 200
    assert [call(by_user, Anonymous()) for _ in range(3)] == [200] * 3  # not counted
    assert [call(either, Anonymous()) for _ in range(2)] == [200, 429]
    assert call(either, Anonymous(), ip="10.0.0.2") == 200
    assert call(either, User(1)) == 200


async def test_user_keys_from_async_views(settings: SettingsWrapper, clock: Clock) -> None:
    configure(settings, middleware=False)
    view = ratelimit("1/m", key="user", name="au")(_async_view)
    request = RequestFactory().get("/")

    async def auser() -> User:
        return User(9)

    request.auser = auser  # type: ignore[assignment]
    assert (await view(request)).status_code == 200
    assert (await view(request)).status_code == 429


# -- client addresses ---------------------------------------------------------------------------


def test_spoofed_forwarded_for_is_ignored_without_trusted_proxies(
    settings: SettingsWrapper, clock: Clock
) -> None:
    configure(settings, RULES=[{"PATH": "/rl/api/", "RATE": "2/m"}])
    client = Client()
    codes = [
        client.get("/rl/api/a/", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code
        for i in range(3)
    ]
    assert codes == [200, 200, 429]  # one client (REMOTE_ADDR), whatever it claims


def test_forwarded_for_is_walked_from_the_right_past_trusted_proxies(
    settings: SettingsWrapper, clock: Clock
) -> None:
    configure(
        settings,
        TRUSTED_PROXIES=["127.0.0.1", "10.0.0.0/8"],
        RULES=[{"PATH": "/rl/api/", "RATE": "1/m"}],
    )
    client = Client()  # REMOTE_ADDR 127.0.0.1: a trusted proxy

    def get(forwarded: str) -> int:
        return int(client.get("/rl/api/a/", HTTP_X_FORWARDED_FOR=forwarded).status_code)

    assert get("198.51.100.7, 10.1.2.3") == 200
    # The client prepends a fake address; the proxies appended the real one.
    assert get("6.6.6.6, 198.51.100.7, 10.9.9.9") == 429
    assert get("198.51.100.8") == 200  # another client
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR="1.2.3.4")
    from django_cache_bridge.ratelimit import client_ip

    assert client_ip(request) == "198.51.100.1"  # not from a trusted proxy: header ignored


def test_ipv6_clients_are_grouped_by_prefix(settings: SettingsWrapper, clock: Clock) -> None:
    configure(settings, RULES=[{"PATH": "/rl/api/", "RATE": "2/m"}])
    client = Client()
    assert client.get("/rl/api/a/", REMOTE_ADDR="2001:db8:1:2::1").status_code == 200
    assert client.get("/rl/api/a/", REMOTE_ADDR="2001:db8:1:2:ffff::9").status_code == 200
    assert client.get("/rl/api/a/", REMOTE_ADDR="2001:db8:1:2::abcd").status_code == 429
    assert client.get("/rl/api/a/", REMOTE_ADDR="2001:db8:1:3::1").status_code == 200
    configure(settings, IPV6_PREFIX=128, RULES=[{"PATH": "/rl/api/", "RATE": "1/m"}])
    client = Client()
    assert client.get("/rl/api/a/", REMOTE_ADDR="2001:db8:9::1").status_code == 200
    assert client.get("/rl/api/a/", REMOTE_ADDR="2001:db8:9::2").status_code == 200


# -- failure policy ----------------------------------------------------------------------------


def test_dead_cache_fails_open_or_closed_per_rule(settings: SettingsWrapper, clock: Clock) -> None:
    configure(
        settings,
        CACHE="dead",
        RULES=[
            {"PATH": "/rl/api/", "RATE": "1/m"},
            {"PATH": "/rl/login/", "RATE": "1/m", "FAIL_OPEN": False},
        ],
    )
    client = Client()
    open_ = [client.get("/rl/api/a/") for _ in range(3)]
    assert [r.status_code for r in open_] == [200] * 3
    assert "RateLimit" not in open_[0]
    closed = client.get("/rl/login/")
    assert closed.status_code == 503
    assert closed["Retry-After"] == "1"


async def test_dead_cache_fails_closed_under_asgi(settings: SettingsWrapper, clock: Clock) -> None:
    configure(settings, CACHE="dead", FAIL_OPEN=False, RULES=[{"PATH": "/rl/", "RATE": "1/m"}])
    assert (await AsyncClient().get("/rl/api/async/")).status_code == 503


# -- customised responses and configuration mistakes ------------------------------------------


def too_many(request: HttpRequest, decisions: list[Decision]) -> HttpResponse:
    return HttpResponse(f"slow down, {decisions[0].name}", status=429)


def test_custom_view_and_template(settings: SettingsWrapper, clock: Clock) -> None:
    configure(
        settings, VIEW=f"{__name__}.too_many", RULES=[{"NAME": "x", "PATH": "/rl/", "RATE": "1/m"}]
    )
    client = Client()
    client.get("/rl/other/")
    response = client.get("/rl/other/")
    assert (response.status_code, response.content) == (429, b"slow down, x")
    assert response["Retry-After"] == "60"
    settings.TEMPLATES = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "OPTIONS": {
                "loaders": [
                    (
                        "django.template.loaders.locmem.Loader",
                        {"429.html": "wait {{ retry_after }}s"},
                    )
                ]
            },
        }
    ]
    configure(settings, TEMPLATE="429.html", RULES=[{"NAME": "y", "PATH": "/rl/", "RATE": "1/m"}])
    client.get("/rl/other/")
    response = client.get("/rl/other/")
    assert (response.status_code, response.content) == (429, b"wait 60s")


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"RULEZ": []}, "did you mean 'RULES'"),
        ({"RULES": [{"PATH": "/"}]}, "has no RATE"),
        ({"RULES": [{"RATE": "5/fortnight"}]}, "malformed rate"),
        ({"RULES": [{"RATE": "5/m", "ALGORITHM": "leaky"}]}, "ALGORITHM 'leaky'"),
        ({"RULES": [{"RATE": "5/m", "KEY": "cookie"}]}, "KEY 'cookie'"),
        ({"RULES": [{"RATE": "5/m", "METHOD": ["GET"]}]}, "did you mean 'METHODS'"),
        ({"RULES": [{"RATE": "5/m", "REGEX": "("}]}, "does not compile"),
        ({"TRUSTED_PROXIES": ["not-a-net"]}, "not an IP address or CIDR"),
        ({"RULES": [{"RATE": "5/m", "FAIL_OPEN": "no"}]}, "FAIL_OPEN must be"),
    ],
)
def test_configuration_mistakes_say_what_to_write(
    settings: SettingsWrapper, setting: dict[str, Any], message: str
) -> None:
    settings.CACHE_BRIDGE_RATELIMIT = setting
    with pytest.raises(ImproperlyConfigured, match=message):
        current_config()


def test_system_checks_report_rate_limit_mistakes(settings: SettingsWrapper) -> None:
    from django_cache_bridge.ratelimit_config import check_ratelimit

    settings.CACHE_BRIDGE_RATELIMIT = {"RULES": [{"RATE": "5/fortnight"}]}
    (error,) = check_ratelimit()
    assert error.id == "django_cache_bridge.E010"
    assert "malformed rate" in error.msg
    settings.CACHES = {
        "default": alias(fresh_memory()),
        "locmem": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    settings.CACHE_BRIDGE_RATELIMIT = {"RULES": [{"RATE": "5/m", "CACHE": "locmem"}]}
    (error,) = check_ratelimit()
    assert error.id == "django_cache_bridge.E011"
    settings.CACHE_BRIDGE_RATELIMIT = {"RULES": [{"RATE": "5/m"}]}
    assert check_ratelimit() == []


def test_middleware_and_decorator_share_one_set_of_headers(
    settings: SettingsWrapper, clock: Clock
) -> None:
    configure(settings, RULES=[{"NAME": "site", "PATH": "/rl/", "RATE": "10/m"}])
    response = Client().get("/rl/limited/")
    assert response.status_code == 200
    policy = response["RateLimit-Policy"]
    assert policy.startswith(
        '"site";q=10;w=60, "tests.django.django_ratelimit_urls.limited";q=2;w=60'
    )


def test_method_decorator_on_sync_and_async_handlers(
    settings: SettingsWrapper, clock: Clock
) -> None:
    configure(settings, middleware=False)
    client = Client()
    assert statuses(client, "/rl/method/", 2) == [200, 429]
    assert statuses(client, "/rl/async-method/", 2) == [200, 429]
