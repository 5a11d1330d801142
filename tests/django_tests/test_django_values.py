"""Stored values: signed pickles, the JSON serializer, unsigned pickles, and protocol access."""

from __future__ import annotations

import logging
import pickle
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django_support import alias, bridge, fresh_memory, plant, stored
from pytest_django import Settings as SettingsWrapper
from returns.result import Success

from cache_bridge import CacheProtocol, SyncCacheProtocol
from django_cache_bridge import get_cache, get_sync_cache
from django_cache_bridge.cache import BridgeCache

#: Set by Exploit.__reduce__'s callable if anything ever unpickles a planted value.
exploited: list[str] = []


def _record(what: str) -> str:
    exploited.append(what)
    return what


class Exploit:
    def __reduce__(self) -> Any:
        return (_record, ("unpickled",))


@pytest.fixture(params=["memory", "redis"])
def location(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return fresh_memory()
    request.getfixturevalue("redis_client")
    return str(request.getfixturevalue("redis_url"))


@pytest.fixture
def configure(settings: SettingsWrapper, location: str) -> Iterator[Any]:
    def configure(**options: Any) -> BridgeCache:
        settings.CACHES = {"default": alias(location, KEY_PREFIX="v", OPTIONS=options)}
        return bridge()

    exploited.clear()
    yield configure
    bridge().clear()


def test_values_are_signed_by_default(configure: Any) -> None:
    dj = configure()
    dj.set("k", {"a": 1})
    data = stored(dj, "k")
    assert data is not None
    assert data.startswith(b"cb:s1:")
    assert dj.get("k") == {"a": 1}


def test_a_tampered_value_is_a_logged_miss(
    configure: Any, caplog: pytest.LogCaptureFixture
) -> None:
    dj = configure()
    dj.set("k", "genuine")
    data = stored(dj, "k")
    assert data is not None
    plant(dj, "k", data[:-1] + bytes([data[-1] ^ 1]))
    with caplog.at_level(logging.WARNING, logger="django_cache_bridge"):
        assert dj.get("k", "miss") == "miss"
        assert dj.get_many(["k"]) == {}
    assert "bad signature" in caplog.text


def test_a_planted_pickle_is_never_unpickled(
    configure: Any, caplog: pytest.LogCaptureFixture
) -> None:
    dj = configure()
    evil = pickle.dumps(Exploit())
    for data in (evil, b"cb:p1:" + evil, b"cb:s1:" + b"\0" * 32 + evil):
        plant(dj, "k", data)
        with caplog.at_level(logging.WARNING, logger="django_cache_bridge"):
            assert dj.get("k") is None
    assert exploited == []
    assert "treated as a miss" in caplog.text


def test_a_signed_value_moved_to_another_key_is_a_miss(configure: Any) -> None:
    dj = configure()
    dj.set("mine", "secret")
    data = stored(dj, "mine")
    assert data is not None
    plant(dj, "yours", data)
    assert dj.get("yours") is None


def test_another_secret_key_does_not_verify_but_a_fallback_does(
    configure: Any, settings: SettingsWrapper
) -> None:
    dj = configure()
    dj.set("k", "signed with the old key")
    settings.SECRET_KEY = "a-new-secret-key"
    assert bridge().get("k") is None
    settings.SECRET_KEY_FALLBACKS = ["cache-bridge-tests-not-secret"]
    assert bridge().get("k") == "signed with the old key"


def test_the_json_serializer_stores_no_pickle(configure: Any) -> None:
    dj = configure(serializer="json")
    dj.set("k", {"name": "Ada", "tags": ["x"], "n": 1.5})
    assert stored(dj, "k") == b'cb:j1:{"name":"Ada","tags":["x"],"n":1.5}'
    assert dj.get("k") == {"name": "Ada", "tags": ["x"], "n": 1.5}
    dj.set("count", 5)
    assert dj.incr("count") == 6
    with pytest.raises(TypeError):
        dj.set("bad", object())
    with pytest.raises(ValueError, match="not JSON compliant"):
        dj.set("nan", float("nan"))
    assert dj.has_key("bad") is False
    plant(dj, "pickled", b"cb:p1:" + pickle.dumps(Exploit()))
    assert dj.get("pickled") is None
    assert exploited == []


def test_unsigned_pickles_when_asked(configure: Any) -> None:
    dj = configure(sign=False)
    dj.set("k", [1, 2])
    data = stored(dj, "k")
    assert data == b"cb:p1:" + pickle.dumps([1, 2], pickle.HIGHEST_PROTOCOL)
    assert dj.get("k") == [1, 2]


def test_protocol_access_shares_the_alias_namespace(configure: Any) -> None:
    dj = configure()
    sync = get_sync_cache()
    assert isinstance(sync, SyncCacheProtocol)
    assert sync.set("from-protocol", "text") == Success(None)
    assert sync.get("from-protocol") == Success("text")
    # Protocol text is not a format Django reads: a miss, never a crash.
    assert dj.get("from-protocol", "miss") == "miss"
    assert dj.has_key("from-protocol") is True
    dj.set("n", 7)
    assert sync.increment("n", 3) == Success(10)
    sync.close()
    assert dj.get("n") == 10  # closing a protocol face leaves the alias working
    assert get_sync_cache().get("n") == Success("10")


async def test_async_protocol_access(configure: Any) -> None:
    dj = configure()
    cache = get_cache()
    assert isinstance(cache, CacheProtocol)
    await dj.aset("n", 1)
    assert await cache.increment("n") == Success(2)
    assert await dj.aget("n") == 2


def test_protocol_access_needs_a_bridge_alias(settings: SettingsWrapper) -> None:
    settings.CACHES = {
        "default": alias(fresh_memory()),
        "locmem": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    with pytest.raises(ImproperlyConfigured, match="BridgeCache"):
        get_sync_cache("locmem")
    with pytest.raises(ImproperlyConfigured, match="BridgeCache"):
        get_cache("locmem")
    with pytest.raises(ImproperlyConfigured):
        get_sync_cache("no-such-alias")
