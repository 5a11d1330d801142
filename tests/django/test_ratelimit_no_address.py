"""Requests without a usable client address (REMOTE_ADDR "" from gunicorn on a Unix socket,
or none at all) under "ip" limits, with Django's Client: the middleware and the decorator.
Regression for issue 12 item 3 (they were never counted, and a Unix-socket proxy could not
be trusted to read X-Forwarded-For)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory
from pytest_django import Settings as SettingsWrapper

from django_cache_bridge.ratelimit_config import current_config
from tests.support.django_helpers import alias, fresh_memory

pytestmark = pytest.mark.urls("tests.django.django_ratelimit_urls")

START = 1_700_006_400.0 + 1800  # mid-hour
LOGIN = {"NAME": "login", "PATH": "/rl/login/", "RATE": "3/h", "FAIL_OPEN": False}


@pytest.fixture
def configure(settings: SettingsWrapper) -> Any:
    def configure(middleware: bool = True, **setting: Any) -> None:
        settings.CACHES = {"default": alias(fresh_memory(), OPTIONS={"clock": lambda: START})}
        settings.MIDDLEWARE = ["django_cache_bridge.middleware.RateLimitMiddleware"] * middleware
        settings.CACHE_BRIDGE_RATELIMIT = setting

    return configure


def _codes(path: str, n: int, **extra: Any) -> list[int]:
    client = Client()
    return [client.post(path, **extra).status_code for _ in range(n)]


def _no_address_lines(caplog: pytest.LogCaptureFixture) -> int:
    return sum("no usable client address" in r.getMessage() for r in caplog.records)


def test_middleware_counts_requests_without_an_address_in_one_bucket(
    configure: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="cache_bridge.ratelimit")
    configure(RULES=[LOGIN])
    assert _codes("/rl/login/", 10, REMOTE_ADDR="") == [200] * 3 + [429] * 7
    assert _no_address_lines(caplog) == 1


def test_decorator_counts_requests_without_an_address_in_one_bucket(
    configure: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="cache_bridge.ratelimit")
    configure(middleware=False)
    assert _codes("/rl/limited/", 4, REMOTE_ADDR="") == [200, 200, 429, 429]  # 2/m
    assert _no_address_lines(caplog) == 1


def test_a_request_with_no_remote_addr_at_all_is_counted(configure: Any) -> None:
    # An ASGI server on a Unix socket gives no client: Django sets no REMOTE_ADDR.
    configure(RULES=[LOGIN])
    config = current_config()
    from django_cache_bridge.ratelimit import check_all

    request = RequestFactory().post("/rl/login/")
    del request.META["REMOTE_ADDR"]
    decisions = [check_all(request, [config.rules[0].spec], config)[0] for _ in range(4)]
    assert [d is not None and d.allowed for d in decisions] == [True, True, True, False]


def test_a_unix_socket_proxy_can_be_trusted(configure: Any) -> None:
    configure(TRUSTED_PROXIES=["unix", "10.0.0.0/8"], RULES=[LOGIN])
    client = Client()

    def post(forwarded: str, remote: str = "") -> int:
        response = client.post("/rl/login/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
        return int(response.status_code)

    assert [post("198.51.100.1") for _ in range(4)] == [200, 200, 200, 429]
    assert post("198.51.100.1, 198.51.100.2, 10.0.0.3") == 200  # another client, one more hop
    assert post("198.51.100.2", remote="192.0.2.1") == 200  # an untrusted peer is the client


def test_the_deny_policy(configure: Any) -> None:
    configure(UNKNOWN_CLIENT="deny", RULES=[LOGIN])
    assert _codes("/rl/login/", 1, REMOTE_ADDR="") == [429]
    assert _codes("/rl/login/", 1, REMOTE_ADDR="198.51.100.7") == [200]


def test_a_policy_that_is_neither_is_improperly_configured(configure: Any) -> None:
    configure(UNKNOWN_CLIENT="allow", RULES=[LOGIN])
    with pytest.raises(ImproperlyConfigured, match=r"UNKNOWN_CLIENT.*shared.*deny"):
        current_config()
