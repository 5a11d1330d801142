"""System check django_cache_bridge.W005: rate limiting (the middleware's rules or @ratelimit
views) counts requests in a memory:// alias, which each worker process has to itself."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import checks
from pytest_django import Settings as SettingsWrapper

from django_cache_bridge.checks import check_ratelimit_store
from tests.django.ratelimited_urls import ClassViews, FunctionViews, NoLimits
from tests.support.django_helpers import alias

MIDDLEWARE = "django_cache_bridge.middleware.RateLimitMiddleware"
REDIS = alias("redis://127.0.0.1:6379/0", KEY_PREFIX="site")


def _w005(settings: SettingsWrapper, **changes: Any) -> list[checks.CheckMessage]:
    for name, value in changes.items():
        setattr(settings, name, value)
    found = check_ratelimit_store()
    assert all(m.id == "django_cache_bridge.W005" for m in found), found
    return found


@pytest.mark.parametrize("urlconf", [FunctionViews, ClassViews])
def test_rate_limited_views_on_a_memory_alias_are_w005(
    settings: SettingsWrapper, urlconf: type
) -> None:
    [warning] = _w005(settings, ROOT_URLCONF=urlconf, CACHES={"default": alias("memory://limits")})
    assert warning.level == checks.WARNING
    assert "CACHES['default']" in warning.msg
    assert "@ratelimit" in warning.msg
    assert warning.hint is not None
    assert "CACHE_BRIDGE_RATELIMIT['CACHE']" in warning.hint
    assert warning.id in [m.id for m in checks.run_checks(tags=[checks.Tags.caches])]


def test_rate_limited_views_on_redis_pass(settings: SettingsWrapper) -> None:
    assert _w005(settings, ROOT_URLCONF=FunctionViews, CACHES={"default": REDIS}) == []


def test_no_rate_limiting_no_warning(settings: SettingsWrapper) -> None:
    assert _w005(settings, ROOT_URLCONF=NoLimits, CACHES={"default": alias("memory://")}) == []


def test_the_middlewares_rules_on_a_memory_alias_are_w005(settings: SettingsWrapper) -> None:
    found = _w005(
        settings,
        ROOT_URLCONF=NoLimits,
        MIDDLEWARE=[MIDDLEWARE],
        CACHES={"default": REDIS, "limits": alias("memory://limits")},
        CACHE_BRIDGE_RATELIMIT={
            "CACHE": "default",
            "RULES": [{"PATH": "/api/", "RATE": "10/m", "CACHE": "limits"}],
        },
    )
    assert [m.msg.split(",")[0] for m in found] == [
        "rate limiting counts requests in CACHES['limits'] (memory://limits)"
    ]
    assert "RateLimitMiddleware" in found[0].msg
    settings.MIDDLEWARE = []  # the rules apply only through the middleware
    assert check_ratelimit_store() == []


def test_a_broken_urlconf_is_left_to_djangos_own_check(settings: SettingsWrapper) -> None:
    assert (
        _w005(settings, ROOT_URLCONF="no.such.urls", CACHES={"default": alias("memory://")}) == []
    )
