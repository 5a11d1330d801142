"""``HEADER_NAMES`` and ``RETRY_AFTER_FORMAT`` in Django (Django's Client and AsyncClient; a
memory alias with a controlled clock, a Redis port with no server for the 503): the
``X-RateLimit-*`` trio and ``Retry-After`` under other names, ``Retry-After`` as an HTTP date,
on the middleware's and ``@ratelimit``'s allowed and refused responses and on a custom
``VIEW``'s; mistakes fail on first use and in ``manage.py check`` (E010)."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.test import AsyncClient, Client
from pytest_django import Settings as SettingsWrapper

from cache_bridge.ratelimit import Decision
from django_cache_bridge.ratelimit_config import check_ratelimit, current_config
from tests.support.clocks import ManualClock
from tests.support.django_helpers import clocked_aliases
from tests.support.header_names import DEFAULT_NAMES, RENAMED

pytestmark = pytest.mark.urls("tests.django.django_ratelimit_urls")

START = 1_700_006_400.0  # the start of a minute
MIDDLEWARE = ["django_cache_bridge.middleware.RateLimitMiddleware"]
API = {"NAME": "api", "PATH": "/rl/api/", "RATE": "2/m"}


class Clock(ManualClock):
    start = START


@pytest.fixture
def clock(settings: SettingsWrapper) -> Clock:
    clock = Clock()
    settings.CACHES = clocked_aliases(clock)
    settings.MIDDLEWARE = MIDDLEWARE
    return clock


def _moment(value: str) -> float:
    return parsedate_to_datetime(value).timestamp()


def _defaults_in(response: HttpResponseBase) -> list[str]:
    return [name for name in DEFAULT_NAMES if name in response]


def test_the_middleware_sends_the_trio_and_retry_after_under_the_names_given(
    settings: SettingsWrapper, clock: Clock
) -> None:
    settings.CACHE_BRIDGE_RATELIMIT = {
        "LEGACY_HEADERS": True,
        "HEADER_NAMES": RENAMED,
        "RULES": [API],
    }
    client = Client()
    allowed = client.get("/rl/api/a/")
    assert allowed.status_code == 200
    assert (allowed["X-Quota-Limit"], allowed["X-Quota-Left"], allowed["X-Quota-Reset"]) == (
        "2",
        "1",
        "60",
    )
    assert allowed["RateLimit"] == '"api";r=1;t=60'  # the IETF names never change
    assert "X-Retry-In" not in allowed
    assert _defaults_in(allowed) == []
    client.get("/rl/api/a/")
    clock.now += 20
    refused = client.get("/rl/api/a/")
    assert refused.status_code == 429
    assert refused["X-Retry-In"] == "40"
    assert refused["X-Quota-Left"] == "0"
    assert refused["RateLimit-Policy"] == '"api";q=2;w=60'
    assert _defaults_in(refused) == []


async def test_the_middleware_under_asgi_writes_retry_after_as_an_http_date(
    settings: SettingsWrapper, clock: Clock
) -> None:
    settings.CACHE_BRIDGE_RATELIMIT = {
        "RETRY_AFTER_FORMAT": "http-date",
        "HEADER_NAMES": {"RETRY_AFTER": "X-Retry-In"},
        "RULES": [API],
    }
    client = AsyncClient()
    assert [(await client.get("/rl/api/async/")).status_code for _ in range(2)] == [200, 200]
    clock.now += 20
    before = time.time()
    refused = await client.get("/rl/api/async/")
    after = time.time()
    assert refused.status_code == 429
    assert before + 40 <= _moment(refused["X-Retry-In"]) <= after + 41  # the wait, rounded up
    assert "Retry-After" not in refused


def test_a_decorated_view_writes_retry_after_as_an_http_date(
    settings: SettingsWrapper, clock: Clock
) -> None:
    settings.CACHE_BRIDGE_RATELIMIT = {"RETRY_AFTER_FORMAT": "http-date"}
    settings.MIDDLEWARE = []
    client = Client()
    assert [client.get("/rl/limited/").status_code for _ in range(2)] == [200, 200]
    clock.now += 20
    before = time.time()
    refused = client.get("/rl/limited/")
    after = time.time()
    assert refused.status_code == 429
    assert refused["Retry-After"].endswith(" GMT")
    assert before + 40 <= _moment(refused["Retry-After"]) <= after + 41
    assert refused["RateLimit"].endswith(";r=0;t=40")  # t stays in seconds


def test_the_default_is_whole_seconds_under_retry_after(
    settings: SettingsWrapper, clock: Clock
) -> None:
    settings.CACHE_BRIDGE_RATELIMIT = {"RULES": [API]}
    client = Client()
    client.get("/rl/api/a/")
    client.get("/rl/api/a/")
    clock.now += 20
    assert client.get("/rl/api/a/")["Retry-After"] == "40"


def answer(request: HttpRequest, decisions: list[Decision]) -> HttpResponse:
    return HttpResponse("wait", status=429)


def answer_with_its_own(request: HttpRequest, decisions: list[Decision]) -> HttpResponse:
    response = HttpResponse("wait", status=429)
    response["X-Retry-In"] = "soon"
    return response


@pytest.mark.parametrize(("view", "expected"), [(answer, "40"), (answer_with_its_own, "soon")])
def test_a_custom_view_gets_the_named_retry_after_unless_it_set_it(
    settings: SettingsWrapper, clock: Clock, view: Any, expected: str
) -> None:
    settings.CACHE_BRIDGE_RATELIMIT = {
        "VIEW": view,
        "HEADER_NAMES": {"RETRY_AFTER": "X-Retry-In"},
        "RULES": [API],
    }
    client = Client()
    client.get("/rl/api/a/")
    client.get("/rl/api/a/")
    clock.now += 20
    refused = client.get("/rl/api/a/")
    assert (refused.status_code, refused.content) == (429, b"wait")
    assert refused["X-Retry-In"] == expected
    assert "Retry-After" not in refused


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ({}, ("Retry-After", "1")),
        ({"HEADER_NAMES": {"RETRY_AFTER": "X-Retry-In"}}, ("X-Retry-In", "1")),
        ({"RETRY_AFTER_FORMAT": "http-date"}, ("Retry-After", "date")),
    ],
)
def test_the_503_of_a_limit_failing_closed_follows_the_settings(
    settings: SettingsWrapper, clock: Clock, setting: dict[str, Any], expected: tuple[str, str]
) -> None:
    settings.CACHE_BRIDGE_RATELIMIT = {
        "CACHE": "dead",
        "FAIL_OPEN": False,
        "RULES": [API],
        **setting,
    }
    before = time.time()
    response = Client().get("/rl/api/a/")
    after = time.time()
    assert response.status_code == 503
    name, value = expected
    if value == "date":
        assert before + 1 <= _moment(response[name]) <= after + 2
    else:
        assert response[name] == value
    assert _defaults_in(response) == (["Retry-After"] if name == "Retry-After" else [])


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"HEADER_NAME": {}}, "did you mean 'HEADER_NAMES'"),
        ({"LEGACY_HEADERS": True, "HEADER_NAMES": {"LIMT": "X-Q"}}, "Did you mean 'LIMIT'"),
        ({"HEADER_NAMES": {"retry_after": "X-Q"}}, "Did you mean 'RETRY_AFTER'"),
        ({"HEADER_NAMES": {"POLICY": "X-Q"}}, "RateLimit-Policy are standard names"),
        ({"HEADER_NAMES": {"RESET": "X-Q"}}, "only with LEGACY_HEADERS: True"),
        ({"HEADER_NAMES": {"RETRY_AFTER": "Retry:After"}}, "must be a header name"),
        ({"HEADER_NAMES": {"RETRY_AFTER": "RateLimit-Policy"}}, "the name of another header"),
        ({"HEADER_NAMES": "X-Q"}, "HEADER_NAMES must be a dict"),
        ({"RETRY_AFTER_FORMAT": "delta-seconds"}, "Did you mean 'seconds'"),
        ({"RETRY_AFTER_FORMAT": "http_date"}, "Did you mean 'http-date'"),
        ({"RETRY_AFTER_FORMAT": "HTTP-date"}, "Did you mean 'http-date'"),  # RFC 9110's case
    ],
)
def test_mistakes_fail_on_first_use_and_in_the_system_check(
    settings: SettingsWrapper, setting: dict[str, Any], message: str
) -> None:
    settings.CACHE_BRIDGE_RATELIMIT = setting
    with pytest.raises(ImproperlyConfigured, match=message) as raised:
        current_config()
    assert str(raised.value).startswith("CACHE_BRIDGE_RATELIMIT")
    (error,) = check_ratelimit()
    assert error.id == "django_cache_bridge.E010"
    assert message in error.msg
