"""A dead cache fails open (a miss, a logged warning); bad configuration fails at first use."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.core.cache.backends.base import CacheKeyWarning, InvalidCacheKey
from django.core.exceptions import ImproperlyConfigured
from pytest_django import Settings as SettingsWrapper
from returns.result import Failure

from cache_bridge import CacheConnectionError, CacheInvalidArgumentError
from cache_bridge.adapters.memory.store import MemoryStore
from django_cache_bridge import admin, get_sync_cache
from django_cache_bridge.cache import BridgeCache
from tests.support.django_helpers import DEAD_OPTIONS, alias, bridge, dead_redis_url, fresh_memory


def _dead_store(store: MemoryStore, command: Any) -> Any:
    raise ConnectionError("the store is gone")


@pytest.fixture(params=["memory", "redis"])
def dead(
    request: pytest.FixtureRequest, settings: SettingsWrapper, monkeypatch: pytest.MonkeyPatch
) -> Any:
    """Configure ``default`` on a cache that does not answer; returns a configure function."""

    def configure(**options: Any) -> BridgeCache:
        if request.param == "memory":
            settings.CACHES = {"default": alias(fresh_memory(), OPTIONS=options)}
            monkeypatch.setattr(MemoryStore, "execute", _dead_store)
        else:
            settings.CACHES = {
                "default": alias(dead_redis_url(), OPTIONS={**DEAD_OPTIONS, **options})
            }
        return bridge()

    return configure


def test_a_dead_cache_fails_open(dead: Any, caplog: pytest.LogCaptureFixture) -> None:
    dj = dead()
    with caplog.at_level(logging.WARNING):
        assert dj.get("k", "default") == "default"
        dj.set("k", "v")
        assert dj.add("k", "v") is False
        assert dj.touch("k") is False
        assert dj.delete("k") is False
        assert dj.has_key("k") is False
        assert dj.get_many(["a", "b"]) == {}
        assert dj.set_many({"a": 1, "b": 2}) == ["a", "b"]
        dj.delete_many(["a"])
        dj.clear()
        assert dj.get_or_set("k", "computed") == "computed"
        with pytest.raises(ValueError, match="unavailable"):
            dj.incr("k")
    # Logged once by the quiet-log rule: by the Redis adapter itself (its first failure and
    # the circuit opening), or by the backend for the in-memory adapter (which has no log).
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert 1 <= len(lines) <= 2, lines
    assert "get(':1:k')" in lines[0]
    assert "failed" in lines[0]


async def test_a_dead_cache_fails_open_async(dead: Any) -> None:
    dj = dead()
    assert await dj.aget("k", "default") == "default"
    await dj.aset("k", "v")
    assert await dj.aadd("k", "v") is False
    assert await dj.aset_many({"a": 1}) == ["a"]
    with pytest.raises(ValueError, match="unavailable"):
        await dj.aincr("k")


def test_fail_open_false_raises_the_error_value(dead: Any) -> None:
    dj = dead(fail_open=False)
    with pytest.raises(CacheConnectionError):
        dj.get("k")
    with pytest.raises(CacheConnectionError):
        dj.set("k", 1)
    with pytest.raises(CacheConnectionError):
        dj.incr("k")


def test_the_result_methods_report_a_dead_cache(dead: Any) -> None:
    dj = dead()
    for result in (
        admin.ping(dj),
        admin.count_keys(dj, admin.key_glob(dj)),
        admin.delete_keys(dj, admin.key_glob(dj, "a*")),
    ):
        assert isinstance(result, Failure)
        assert isinstance(result.failure(), CacheConnectionError)
    assert isinstance(get_sync_cache().get("k").failure(), CacheConnectionError)


def test_the_result_methods_refuse_bad_patterns(settings: SettingsWrapper) -> None:
    settings.CACHES = {"default": alias(fresh_memory(), KEY_PREFIX="p")}
    dj = bridge()
    assert admin.key_glob(dj) == "p:*"
    assert admin.key_glob(dj, "user:*") == "p:1:user:*"
    assert isinstance(admin.count_keys(dj, "").failure(), CacheInvalidArgumentError)
    assert isinstance(admin.delete_keys(dj, "x" * 5000).failure(), CacheInvalidArgumentError)
    assert isinstance(admin.count_keys(dj, 123).failure(), CacheInvalidArgumentError)  # type: ignore[arg-type]


def test_the_prefix_with_glob_characters_is_escaped(settings: SettingsWrapper) -> None:
    settings.CACHES = {
        "default": alias(fresh_memory(), KEY_PREFIX="a*"),
        "sibling": alias("memory://", KEY_PREFIX="ab"),
    }
    settings.CACHES["sibling"]["LOCATION"] = settings.CACHES["default"]["LOCATION"]
    bridge().set("k", 1)
    bridge("sibling").set("k", 2)
    bridge().clear()
    assert bridge("sibling").get("k") == 2
    assert admin.key_glob(bridge()) == "a\\*:*"


@pytest.mark.parametrize(
    ("location", "options", "message"),
    [
        ("ftp://example.com", {}, "unsupported cache URL scheme"),
        ("redis://host:notaport/0", {}, "port"),
        # Network options are accepted on memory:// (no effect there), and checked all the same.
        ("memory://", {"timeout": 0}, "timeout must be more than 0"),
        ("redis://h/0", {"max_entrys": 1}, "unknown option"),
        ("redis://h/0", {"serializer": "yaml"}, "'pickle' or 'json'"),
        ("redis://h/0", {"sign": "yes"}, "True or False"),
        ("redis://h/0", {"key_prefix": "x"}, "KEY_PREFIX"),
        ("redis://h/0", {"timeout": -1}, "more than 0"),
        (42, {}, "LOCATION must be a cache URL"),
    ],
)
def test_bad_configuration_raises_at_first_use_not_construction(
    settings: SettingsWrapper, location: Any, options: dict[str, Any], message: str
) -> None:
    settings.CACHES = {"default": {**alias("memory://"), "LOCATION": location, "OPTIONS": options}}
    dj = bridge()  # constructing never raises: the checks report it
    with pytest.raises(ImproperlyConfigured, match=message):
        dj.get("k")
    with pytest.raises(ImproperlyConfigured, match=message):
        admin.ping(dj)


def test_invalid_keys_raise_even_when_failing_open(dead: Any) -> None:
    dj = dead()
    with pytest.raises(InvalidCacheKey), pytest.warns(CacheKeyWarning):
        dj.get("k" * 2000)
