"""django-ratelimit parity (issue 15): ``CACHE_BRIDGE_RATELIMIT["ENABLED"]`` (its
``RATELIMIT_ENABLE``), one shared setting with Flask: ``False`` turns the middleware's rules
and every ``@ratelimit`` off (no cache command, no header, no refusal); ``request.limited``
after a limit decided a request; and the system check that names our key for each
django-ratelimit setting left in settings.py. On the test-started Redis, commands counted by
the server's ``INFO commandstats``."""

from __future__ import annotations

import functools
from typing import Any

import pytest
import redis
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client, RequestFactory
from django.urls import path
from pytest_django import Settings as SettingsWrapper

from django_cache_bridge.ratelimit import ratelimit
from django_cache_bridge.ratelimit_config import check_ratelimit, current_config
from tests.ratelimit.round_trips import (
    commands_since_reset,
    own_redis_url,  # noqa: F401 - the module's own server
    round_trips,
    sent_since_reset,
)
from tests.support.django_helpers import alias

pytestmark = [pytest.mark.urls("tests.django.test_ratelimit_enabled"), pytest.mark.redis]


MIDDLEWARE = ["django_cache_bridge.middleware.RateLimitMiddleware"]
#: Hour-long sliding windows: no window boundary resets a count mid-test.
RULES = [{"NAME": "site", "PATH": "/en/", "RATE": "1/h"}]
UNSET = "unset"


def _limited(request: HttpRequest) -> HttpResponse:
    """What the view sees of ``request.limited``."""
    return HttpResponse(str(getattr(request, "limited", UNSET)))


def plain(request: HttpRequest) -> HttpResponse:
    return _limited(request)


@ratelimit("1/h", name="one")
def one(request: HttpRequest) -> HttpResponse:
    return _limited(request)


@ratelimit("5/h", name="outer")
@ratelimit("1/h", name="inner")
def stacked(request: HttpRequest) -> HttpResponse:
    return _limited(request)


@ratelimit("1/h", name="async-one")
async def async_one(request: HttpRequest) -> HttpResponse:
    return _limited(request)


@ratelimit("2/h", name="soft", block=False)
def soft(request: HttpRequest) -> HttpResponse:
    return _limited(request)


@ratelimit("2/h", name="async-soft", block=False)
async def async_soft(request: HttpRequest) -> HttpResponse:
    return _limited(request)


@ratelimit("1/h", name="soft-inside", block=False)
@ratelimit("5/h", name="hard-outside")
def soft_and_hard(request: HttpRequest) -> HttpResponse:
    return _limited(request)


@ratelimit(lambda request: None, name="never")
def unlimited(request: HttpRequest) -> HttpResponse:
    return _limited(request)


@ratelimit("1/h", name="keyless", key=lambda request: None, block=False)
def keyless(request: HttpRequest) -> HttpResponse:
    return _limited(request)


urlpatterns = [
    path("en/plain/", plain),
    path("en/one/", one),
    path("en/stacked/", stacked),
    path("en/async-one/", async_one),
    path("off/plain/", plain),
    path("off/one/", one),
    path("off/soft/", soft),
    path("off/async-soft/", async_soft),
    path("off/soft-and-hard/", soft_and_hard),
    path("off/unlimited/", unlimited),
    path("off/keyless/", keyless),
]


@pytest.fixture
def on_redis(settings: SettingsWrapper, redis_url: str, redis_client: redis.Redis) -> redis.Redis:
    settings.CACHES = {"default": alias(redis_url, KEY_PREFIX="site")}
    settings.MIDDLEWARE = MIDDLEWARE
    settings.CACHE_BRIDGE_RATELIMIT = {"ALGORITHM": "sliding-window", "RULES": RULES}
    return redis_client


def disable(settings: SettingsWrapper) -> None:
    settings.CACHE_BRIDGE_RATELIMIT = {**settings.CACHE_BRIDGE_RATELIMIT, "ENABLED": False}


def answers(client: Client, url: str, n: int = 3) -> list[tuple[int, bool]]:
    """Status and whether any RateLimit header came, for ``n`` requests."""
    found = []
    for _ in range(n):
        response = client.get(url)
        names = [name.lower() for name in response.headers]
        headers = any(name.startswith(("ratelimit", "x-ratelimit")) for name in names)
        found.append((response.status_code, headers or "Retry-After" in response))
    return found


# -- ENABLED ----------------------------------------------------------------------------------


def test_enabled_is_read_once_per_settings_change(
    settings: SettingsWrapper, on_redis: redis.Redis
) -> None:
    assert current_config().enabled is True
    disable(settings)  # override_settings under the hood: the setting_changed signal
    assert current_config().enabled is False
    assert current_config() is current_config()  # parsed once, not per request


def test_enabled_must_be_a_flag(settings: SettingsWrapper, on_redis: redis.Redis) -> None:
    settings.CACHE_BRIDGE_RATELIMIT = {"ENABLED": "no"}
    with pytest.raises(ImproperlyConfigured, match=r"\['ENABLED'\] must be True or False"):
        current_config()


def limited_again(settings: SettingsWrapper, url: str) -> None:
    """With ``ENABLED`` back to ``True``, ``url`` is limited (the route does have a limit)."""
    settings.CACHE_BRIDGE_RATELIMIT = {**settings.CACHE_BRIDGE_RATELIMIT, "ENABLED": True}
    assert answers(Client(), url, 2) == [(200, True), (429, True)]


def test_disabled_middleware_rule_refuses_nothing_and_adds_no_headers(
    settings: SettingsWrapper, on_redis: redis.Redis
) -> None:
    disable(settings)
    assert answers(Client(), "/en/plain/") == [(200, False)] * 3
    limited_again(settings, "/en/plain/")


def test_disabled_decorator_refuses_nothing_and_adds_no_headers(
    settings: SettingsWrapper, on_redis: redis.Redis
) -> None:
    disable(settings)
    settings.MIDDLEWARE = []
    assert answers(Client(), "/off/one/") == [(200, False)] * 3
    limited_again(settings, "/off/one/")


def test_disabled_decorator_called_directly(
    settings: SettingsWrapper, on_redis: redis.Redis
) -> None:
    disable(settings)
    requests = RequestFactory()
    for _ in range(3):
        request = requests.get("/off/one/")
        response = one(request)
        assert response.status_code == 200
        assert "RateLimit" not in response
        assert "ratelimit_decisions" not in request.__dict__
        assert request.limited is False  # type: ignore[attr-defined]  # as django-ratelimit


def test_disabled_stacked_decorators_under_a_rule(
    settings: SettingsWrapper, on_redis: redis.Redis
) -> None:
    disable(settings)
    assert answers(Client(), "/en/stacked/") == [(200, False)] * 3
    settings.MIDDLEWARE = []
    assert answers(Client(), "/en/stacked/") == [(200, False)] * 3
    limited_again(settings, "/en/stacked/")


async def test_disabled_async_view_and_async_middleware(
    settings: SettingsWrapper, on_redis: redis.Redis
) -> None:
    disable(settings)
    client = AsyncClient()
    for _ in range(3):
        response = await client.get("/en/async-one/")
        assert response.status_code == 200
        assert "RateLimit" not in response
        assert response.content == b"False"


def test_disabled_sends_no_cache_command(settings: SettingsWrapper, on_redis: redis.Redis) -> None:
    client = Client()
    client.get("/en/plain/")  # the script is loaded: an enabled request is one EVALSHA
    assert round_trips(on_redis, lambda: client.get("/en/stacked/")) == 1
    disable(settings)
    for url in ("/en/plain/", "/en/one/", "/en/stacked/", "/off/one/", "/off/soft/"):
        assert round_trips(on_redis, functools.partial(client.get, url)) == 0, url
    settings.MIDDLEWARE = []
    assert round_trips(on_redis, lambda: client.get("/en/stacked/")) == 0


async def test_disabled_async_sends_no_cache_command(
    settings: SettingsWrapper, on_redis: redis.Redis
) -> None:
    disable(settings)
    client = AsyncClient()
    on_redis.config_resetstat()
    for url in ("/en/async-one/", "/off/async-soft/", "/en/stacked/"):
        assert (await client.get(url)).status_code == 200
    assert sent_since_reset(on_redis) == {}


# -- request.limited --------------------------------------------------------------------------


def test_request_limited_with_block_false(on_redis: redis.Redis) -> None:
    client = Client()
    seen = [client.get("/off/soft/").content.decode() for _ in range(3)]
    assert seen == ["False", "False", "True"]


async def test_request_limited_in_an_async_view(on_redis: redis.Redis) -> None:
    client = AsyncClient()
    seen = [(await client.get("/off/async-soft/")).content.decode() for _ in range(3)]
    assert seen == ["False", "False", "True"]


def test_request_limited_is_true_when_any_limit_that_applied_refused(
    on_redis: redis.Redis,
) -> None:
    client = Client()
    seen = [client.get("/off/soft-and-hard/").content.decode() for _ in range(2)]
    assert seen == ["False", "True"]  # the soft limit refused, the hard one allowed


def test_request_limited_by_a_middleware_rule(on_redis: redis.Redis) -> None:
    # The rule allows its first request: the view (no decorator) sees False. The second is
    # refused before the view; the flag is set all the same.
    request = RequestFactory().get("/en/plain/")
    from django_cache_bridge.middleware import RateLimitMiddleware

    middleware = RateLimitMiddleware(plain)
    assert middleware(request).content == b"False"
    again = RequestFactory().get("/en/plain/")
    assert middleware(again).status_code == 429
    assert again.limited is True  # type: ignore[attr-defined]


def test_request_limited_is_false_when_no_limit_applied(on_redis: redis.Redis) -> None:
    """As django-ratelimit: a decorated view (and any request through the middleware) always
    has the flag, ``False`` unless a limit refused."""
    client = Client()
    assert client.get("/off/soft/").content == b"False"  # a limit applied and allowed
    assert client.get("/off/unlimited/").content == b"False"  # rate None
    assert client.get("/off/keyless/").content == b"False"  # the key says "not counted"
    assert client.get("/off/plain/").content == b"False"  # no rule covers it: the middleware


def test_request_limited_is_false_when_disabled(
    settings: SettingsWrapper, on_redis: redis.Redis
) -> None:
    disable(settings)
    client = Client()
    assert [client.get("/off/soft/").content for _ in range(3)] == [b"False"] * 3
    assert client.get("/off/plain/").content == b"False"
    settings.MIDDLEWARE = []
    assert Client().get("/off/plain/").content == b"unset"  # no decorator, no middleware


# -- django-ratelimit's settings left in settings.py ------------------------------------------


def _foreign(messages: list[Any]) -> list[Any]:
    return [m for m in messages if m.id == "django_cache_bridge.W006"]


def test_ratelimit_enable_names_enabled(settings: SettingsWrapper) -> None:
    settings.RATELIMIT_ENABLE = False
    [warning] = _foreign(check_ratelimit())
    assert warning.level == checks.WARNING
    assert "RATELIMIT_ENABLE" in warning.msg
    assert 'CACHE_BRIDGE_RATELIMIT["ENABLED"]' in warning.hint
    assert "False" not in warning.msg + warning.hint  # names only, never values


def test_ratelimit_enable_is_not_warned_about_once_enabled_is_set(
    settings: SettingsWrapper,
) -> None:
    settings.RATELIMIT_ENABLE = False
    settings.CACHE_BRIDGE_RATELIMIT = {}
    assert len(_foreign(check_ratelimit())) == 1
    settings.CACHE_BRIDGE_RATELIMIT = {"ENABLED": False}
    assert check_ratelimit() == []


def test_each_foreign_setting_names_its_counterpart(settings: SettingsWrapper) -> None:
    settings.RATELIMIT_USE_CACHE = "peer"
    settings.RATELIMIT_HASH_ALGORITHM = "hashlib.sha256"
    found = {w.msg.split()[0]: w.hint for w in _foreign(check_ratelimit())}
    assert found["RATELIMIT_USE_CACHE"] == 'Write CACHE_BRIDGE_RATELIMIT["CACHE"] instead.'
    assert "no counterpart" in found["RATELIMIT_HASH_ALGORITHM"]


def test_no_foreign_setting_warning_while_django_ratelimit_is_installed(
    settings: SettingsWrapper,
) -> None:
    """A project still using django-ratelimit (its app installed) is mid-migration: its
    settings are its own, not leftovers."""
    settings.RATELIMIT_ENABLE = False
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "django_ratelimit"]
    assert _foreign(check_ratelimit()) == []


def test_disabled_limits_answer_none_through_the_public_checks(
    settings: SettingsWrapper, on_redis: redis.Redis
) -> None:
    from django_cache_bridge.ratelimit import check

    disable(settings)
    rule = {"NAME": "direct", "PATH": "/", "RATE": "1/h"}
    settings.CACHE_BRIDGE_RATELIMIT = {**settings.CACHE_BRIDGE_RATELIMIT, "RULES": [rule]}
    config = current_config()
    spec = config.rules[0].spec
    before = commands_since_reset(on_redis)
    assert [check(RequestFactory().get("/"), spec, config) for _ in range(2)] == [None, None]
    assert commands_since_reset(on_redis) == before


def test_the_foreign_setting_check_runs_with_manage_py_check(settings: SettingsWrapper) -> None:
    settings.RATELIMIT_ENABLE = False
    messages = checks.run_checks(tags=[checks.Tags.caches])
    assert [m.id for m in messages if "RATELIMIT_ENABLE" in m.msg] == ["django_cache_bridge.W006"]


def test_every_setting_django_ratelimit_reads_is_known() -> None:
    import importlib.util
    import re
    from pathlib import Path

    from django_cache_bridge.ratelimit_foreign import RATELIMIT_SETTINGS

    spec = importlib.util.find_spec("django_ratelimit")  # a test dependency (the parity tests)
    assert spec is not None
    assert spec.origin is not None
    package = Path(spec.origin).parent
    theirs = {
        name
        for source in package.rglob("*.py")
        if "tests" not in source.parts
        for name in re.findall(r"\bRATELIMIT_[A-Z0-9_]+", source.read_text(encoding="utf-8"))
    }
    assert "RATELIMIT_ENABLE" in theirs
    assert theirs - set(RATELIMIT_SETTINGS) == set()
