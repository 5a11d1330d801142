"""Logging in through the admin while Redis is down: the cached_db session engine keeps
working; the cache session engine, which cannot keep a session anywhere, fails at once with
a message that names the fix, instead of trying 10,000 session keys."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.sessions.backends.cache import SessionStore as CacheSessionStore
from django.core import checks
from django.test import Client
from pytest_django import Settings as SettingsWrapper

from cache_bridge.resilience.breaker import CircuitBreaker
from cache_bridge.testing.faulty_server import FaultyRedisServer
from django_cache_bridge.checks import check_sessions
from tests.support.django_helpers import alias, bridge

pytestmark = [
    pytest.mark.redis,
    pytest.mark.django_db,
    pytest.mark.urls("tests.django.outage_urls"),
]

TIMEOUT = 0.2
THRESHOLD = 3
OPTIONS = {"timeout": TIMEOUT, "connect_timeout": TIMEOUT, "breaker_threshold": THRESHOLD}
#: Each call fails within connect_timeout + timeout until the breaker opens; then at once.
BOUND = THRESHOLD * 2 * TIMEOUT
CACHE_ENGINE = "django.contrib.sessions.backends.cache"
CACHED_DB_ENGINE = "django.contrib.sessions.backends.cached_db"
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]


@pytest.fixture
def redis_down(settings: SettingsWrapper) -> Iterator[CircuitBreaker]:
    """The default alias on a test-started redis-server that has been killed; the breaker of
    the alias's blocking adapter."""
    server = FaultyRedisServer()
    try:
        server.start()
        settings.CACHES = {"default": alias(server.url, KEY_PREFIX="site", OPTIONS=OPTIONS)}
        settings.MIDDLEWARE = MIDDLEWARE
        cache = bridge()
        cache.set("warm", "up")
        server.kill()
        breaker = cache.adapters().sync.breaker
        assert breaker is not None
        yield breaker
    finally:
        server.cleanup()


def _log_in(client: Client) -> Any:
    return client.post("/admin/login/?next=/admin/", {"username": "admin", "password": "password"})


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.WARNING]


def test_cached_db_sessions_log_in_while_redis_is_down(
    redis_down: CircuitBreaker,
    settings: SettingsWrapper,
    admin_user: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings.SESSION_ENGINE = CACHED_DB_ENGINE
    client = Client()
    with caplog.at_level(logging.DEBUG):
        response = _log_in(client)
        assert response.status_code == 302
        assert response["Location"] == "/admin/"
        assert client.get("/admin/").status_code == 200  # signed in: the session was kept
    assert len(_lines(caplog)) <= 3, _lines(caplog)


def test_cache_sessions_fail_at_once_naming_cached_db(
    redis_down: CircuitBreaker,
    settings: SettingsWrapper,
    admin_user: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings.SESSION_ENGINE = CACHE_ENGINE
    client = Client()
    started = time.monotonic()
    with caplog.at_level(logging.DEBUG), pytest.raises(RuntimeError, match="cached_db"):
        _log_in(client)
    seconds = time.monotonic() - started
    stats = redis_down.stats()
    # The breaker opened after THRESHOLD failures; after that one call, not 20,000, was
    # turned away before the login gave up.
    assert stats.failures_total <= THRESHOLD
    assert stats.rejected_total <= 2, stats
    assert seconds < 3 * BOUND, seconds
    assert len(_lines(caplog)) <= 4, _lines(caplog)


@pytest.mark.skipif(not hasattr(CacheSessionStore, "acreate"), reason="Django 5.0+")
async def test_the_async_session_create_fails_at_once_too(
    redis_down: CircuitBreaker, settings: SettingsWrapper
) -> None:
    settings.SESSION_ENGINE = CACHE_ENGINE
    store = CacheSessionStore()
    with pytest.raises(RuntimeError, match="cached_db"):
        await store.acreate()
    assert bridge().adapters().async_.breaker is not None
    async_stats = bridge().adapters().async_.breaker.stats()  # type: ignore[union-attr]
    assert async_stats.rejected_total <= 2, async_stats


def test_a_session_create_on_a_live_cache_is_unchanged(settings: SettingsWrapper) -> None:
    settings.SESSION_ENGINE = CACHE_ENGINE
    settings.CACHES = {"default": alias("memory://sessions-live")}
    store = CacheSessionStore()
    store["user"] = 7
    store.create()
    assert CacheSessionStore(store.session_key).load() == {"user": 7}
    store["user"] = 8
    store.save()
    assert CacheSessionStore(store.session_key).load() == {"user": 8}


def test_the_cache_engine_on_a_bridge_alias_is_w004(settings: SettingsWrapper) -> None:
    settings.CACHES = {
        "default": alias("redis://127.0.0.1:6379/0", KEY_PREFIX="s"),
        "locmem": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    settings.SESSION_ENGINE = CACHE_ENGINE
    [warning] = check_sessions()
    assert warning.id == "django_cache_bridge.W004"
    assert warning.level == checks.WARNING
    assert "CACHES['default']" in warning.msg
    assert warning.hint is not None
    assert CACHED_DB_ENGINE in warning.hint
    assert warning.id in [m.id for m in checks.run_checks(tags=[checks.Tags.caches])]

    settings.SESSION_ENGINE = CACHED_DB_ENGINE
    assert check_sessions() == []
    settings.SESSION_ENGINE = CACHE_ENGINE
    settings.SESSION_CACHE_ALIAS = "locmem"
    assert check_sessions() == []
