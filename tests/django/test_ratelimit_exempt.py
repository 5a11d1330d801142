"""Exemptions in Django (issue 15 item 4) with Django's Client and AsyncClient, on a memory
alias and on the test-started Redis: an EXEMPT allowlist matched after trusted proxies, a
forged X-Forwarded-For still limited, staff users with EXEMPT_STAFF, EXEMPT_WHEN for the
whole request and exempt_when for one limit. An exempt request gets no RateLimit headers."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import AsyncClient, Client
from pytest_django import Settings as SettingsWrapper

from django_cache_bridge.ratelimit_config import check_ratelimit
from tests.support.django_helpers import alias
from tests.support.ratelimit_clock import inside_one_minute

pytestmark = pytest.mark.urls("tests.django.ratelimit_exempt_urls")

START = 1_700_006_400.0


def from_monitor(request: object) -> bool:
    return getattr(request, "META", {}).get("HTTP_USER_AGENT") == "monitor"


@pytest.fixture
def configured(
    settings: SettingsWrapper, location: str, request: pytest.FixtureRequest
) -> SettingsWrapper:
    options = {"clock": lambda: START + 1} if location.startswith("memory://") else {}
    if not options:
        inside_one_minute(request.getfixturevalue("redis_client"))
    settings.CACHES = {"default": alias(location, KEY_PREFIX="exempt", OPTIONS=options)}
    settings.MIDDLEWARE = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django_cache_bridge.middleware.RateLimitMiddleware",
    ]
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    settings.CACHE_BRIDGE_RATELIMIT = {
        "EXEMPT": ["10.0.0.0/8", "2001:db8::/32"],
        "EXEMPT_WHEN": "tests.django.test_ratelimit_exempt.from_monitor",
        "TRUSTED_PROXIES": ["192.0.2.1"],
        "RULES": [{"NAME": "all", "PATH": "/", "RATE": "2/h"}],
    }
    return settings


def test_an_allowlisted_address_is_never_limited(configured: SettingsWrapper) -> None:
    client = Client(REMOTE_ADDR="10.0.0.5")
    responses = [client.get("/health/") for _ in range(5)]
    assert [r.status_code for r in responses] == [200] * 5
    assert "RateLimit" not in responses[0]
    v6 = Client(REMOTE_ADDR="2001:db8::7")
    assert [v6.get("/health/").status_code for _ in range(3)] == [200] * 3


def test_behind_a_trusted_proxy_the_forwarded_client_is_matched(
    configured: SettingsWrapper,
) -> None:
    client = Client(REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.1.2.3")
    assert [client.get("/api/").status_code for _ in range(3)] == [200] * 3


def test_a_forged_forwarded_for_is_still_limited(configured: SettingsWrapper) -> None:
    client = Client(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="10.0.0.5")
    assert [client.get("/api/").status_code for _ in range(3)] == [200, 200, 429]


def test_exempt_when_for_the_whole_request(configured: SettingsWrapper) -> None:
    client = Client(REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="monitor")
    assert [client.get("/api/").status_code for _ in range(3)] == [200] * 3


async def test_exempt_when_for_one_limit(configured: SettingsWrapper) -> None:
    configured.CACHE_BRIDGE_RATELIMIT = {}
    client = AsyncClient(REMOTE_ADDR="203.0.113.9")
    codes = [(await client.get("/search/", headers={"X-Internal": "yes"})).status_code]
    codes += [(await client.get("/search/")).status_code for _ in range(2)]
    assert codes == [200, 200, 429]


@pytest.mark.django_db
def test_staff_users_with_exempt_staff(configured: SettingsWrapper) -> None:
    configured.CACHE_BRIDGE_RATELIMIT = {
        **configured.CACHE_BRIDGE_RATELIMIT,
        "EXEMPT_STAFF": True,
    }
    staff = Client(REMOTE_ADDR="203.0.113.9")
    staff.force_login(User.objects.create_user("admin", is_staff=True))
    assert [staff.get("/api/").status_code for _ in range(3)] == [200] * 3
    member = Client(REMOTE_ADDR="203.0.113.10")
    member.force_login(User.objects.create_user("member"))
    assert [member.get("/api/").status_code for _ in range(3)] == [200, 200, 429]


@pytest.mark.django_db(transaction=True)
async def test_staff_users_in_async_code(configured: SettingsWrapper) -> None:
    configured.CACHE_BRIDGE_RATELIMIT = {
        **configured.CACHE_BRIDGE_RATELIMIT,
        "EXEMPT_STAFF": True,
    }
    user = await User.objects.acreate(username="admin", is_staff=True)
    client = AsyncClient(REMOTE_ADDR="203.0.113.9")
    await client.aforce_login(user)
    assert [(await client.get("/api/")).status_code for _ in range(3)] == [200] * 3


def test_mistakes_are_reported(settings: SettingsWrapper) -> None:
    settings.CACHE_BRIDGE_RATELIMIT = {"EXEMPT": ["10.0.0.0/33"]}
    (error,) = check_ratelimit()
    assert "EXEMPT entry '10.0.0.0/33' is not an IP address or CIDR" in error.msg
    settings.CACHE_BRIDGE_RATELIMIT = {"EXEMPT_WHEN": 5}
    (error,) = check_ratelimit()
    assert "EXEMPT_WHEN must be a callable" in error.msg
