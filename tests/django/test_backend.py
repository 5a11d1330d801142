"""BridgeCache honours Django's cache contract, on memory:// and on a test-started Redis."""

from __future__ import annotations

import dataclasses
import pickle
import threading
import warnings
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from django.core.cache import CacheKeyWarning, caches
from django.core.cache.backends.base import InvalidCacheKey
from pytest_django import Settings as SettingsWrapper
from returns.result import Success

from cache_bridge.engine import operations
from cache_bridge.engine.bytes_operations import MAX_TTL_MS
from cache_bridge.engine.keys import KeySpace
from django_cache_bridge import admin, get_sync_cache
from django_cache_bridge.cache import BridgeCache
from tests.support.django_helpers import alias, bridge, fresh_memory, plant_raw, stored, stored_keys


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Unpicklable:
    def __reduce__(self) -> Any:
        raise pickle.PickleError("not today")


@pytest.fixture
def dj(settings: SettingsWrapper, location: str) -> Iterator[BridgeCache]:
    settings.CACHES = {
        "default": alias(location, KEY_PREFIX="site"),
        "other": alias(location, KEY_PREFIX="other"),
        "v2": alias(location, KEY_PREFIX="site", VERSION=2),
        "bare": alias(location),
        "custom": alias(location, KEY_FUNCTION=lambda k, p, v: f"custom/{p}/{v}/{k}"),
    }
    yield bridge()
    bridge().clear()


def test_set_get_and_any_picklable_value(dj: BridgeCache) -> None:
    values: list[Any] = [
        "text",
        "",
        b"\x00\xffbytes",
        None,
        True,
        1.5,
        2**70,
        -(2**63),
        [1, "two", {"three": 3}],
        Point(1, 2),
        date(2024, 2, 29),
        frozenset({1, 2}),
    ]
    for index, value in enumerate(values):
        dj.set(f"k{index}", value)
    for index, value in enumerate(values):
        assert dj.get(f"k{index}", "missing") == value
    assert dj.get("absent") is None
    assert dj.get("absent", "fallback") == "fallback"


def test_none_is_a_stored_value_not_a_miss(dj: BridgeCache) -> None:
    dj.set("nothing", None)
    assert dj.get("nothing", "default") is None
    assert dj.has_key("nothing") is True


def test_add_only_writes_a_missing_key(dj: BridgeCache) -> None:
    assert dj.add("k", "first") is True
    assert dj.add("k", "second") is False
    assert dj.get("k") == "first"
    assert dj.add("gone", "v", timeout=0) is True
    assert dj.has_key("gone") is False
    assert dj.add("k", "v", timeout=0) is False


def test_delete_has_key_and_contains(dj: BridgeCache) -> None:
    dj.set("k", 1)
    assert dj.has_key("k") is True
    assert "k" in dj
    assert dj.delete("k") is True
    assert dj.delete("k") is False
    assert dj.has_key("k") is False


def test_get_many_set_many_delete_many(dj: BridgeCache) -> None:
    assert dj.set_many({"a": 1, "b": "two", "c": None}) == []
    assert dj.get_many(["a", "b", "c", "missing"]) == {"a": 1, "b": "two", "c": None}
    assert dj.get_many([]) == {}
    assert dj.set_many({}) == []
    dj.delete_many(["a", "b", "missing"])
    dj.delete_many([])
    assert dj.get_many(["a", "b", "c"]) == {"c": None}


def test_set_many_with_a_timeout_and_expire_now(dj: BridgeCache) -> None:
    assert dj.set_many({"a": 1, "b": 2}, timeout=30) == []
    assert dj.get_many(["a", "b"]) == {"a": 1, "b": 2}
    assert dj.set_many({"a": 1, "b": 2}, timeout=0) == []
    assert dj.get_many(["a", "b"]) == {}


def test_incr_and_decr_are_exact_and_need_an_existing_integer(dj: BridgeCache) -> None:
    dj.set("n", 10)
    assert dj.incr("n") == 11
    assert dj.incr("n", 10) == 21
    assert dj.decr("n") == 20
    assert dj.decr("n", 25) == -5
    assert dj.get("n") == -5
    with pytest.raises(ValueError, match="not found"):
        dj.incr("missing")
    with pytest.raises(ValueError, match="not found"):
        dj.decr("missing")
    assert dj.has_key("missing") is False
    dj.set("text", "abc")
    with pytest.raises(TypeError):
        dj.incr("text")
    assert dj.get("text") == "abc"
    with pytest.raises(TypeError):
        dj.incr("n", 1.5)  # type: ignore[arg-type]
    dj.set("big", 2**63 - 1)
    with pytest.raises(ValueError, match="overflow"):
        dj.incr("big")
    assert dj.get("big") == 2**63 - 1


def test_incr_is_atomic_across_threads(dj: BridgeCache) -> None:
    dj.set("counter", 0)

    def work() -> None:
        for _ in range(50):
            caches["default"].incr("counter")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert dj.get("counter") == 400


def test_integers_are_stored_raw_and_shared_with_the_protocol(dj: BridgeCache) -> None:
    dj.set("hits", 41)
    assert stored(dj, "hits") == b"41"
    protocol = get_sync_cache()
    assert protocol.increment("hits") == Success(42)
    assert dj.get("hits") == 42
    assert dj.incr("hits") == 43
    assert protocol.get("hits") == Success("43")


def test_get_or_set(dj: BridgeCache) -> None:
    assert dj.get_or_set("k", "made") == "made"
    assert dj.get_or_set("k", "other") == "made"
    assert dj.get_or_set("call", lambda: 7) == 7
    assert dj.get_or_set("none", None) is None
    assert dj.get("none", "default") is None  # Django stores the None


def test_versions_and_incr_version(dj: BridgeCache) -> None:
    dj.set("k", "v1")
    dj.set("k", "v2", version=2)
    assert dj.get("k") == "v1"
    assert dj.get("k", version=2) == "v2"
    assert bridge("v2").get("k") == "v2"
    assert dj.incr_version("k", version=2) == 3
    assert dj.get("k", version=3) == "v2"
    assert dj.get("k", version=2) is None
    assert dj.decr_version("k", version=3) == 2
    assert dj.get("k", version=2) == "v2"
    with pytest.raises(ValueError, match="not found"):
        dj.incr_version("missing")


def test_key_prefix_and_key_function_separate_aliases(dj: BridgeCache) -> None:
    dj.set("k", "site")
    bridge("other").set("k", "other")
    bridge("custom").set("k", "custom")
    assert dj.get("k") == "site"
    assert bridge("other").get("k") == "other"
    assert bridge("bare").get("k") is None
    assert bridge("custom").get("k") == "custom"
    assert {"site:1:k", "other:1:k", "custom//1/k"} <= stored_keys(dj)


def test_clear_is_scoped_to_the_key_prefix(dj: BridgeCache) -> None:
    dj.set("a", 1)
    dj.set("b", 2, version=5)
    bridge("other").set("a", "other")
    bridge("bare").set("a", "bare")
    get_sync_cache("other").set("plain", "protocol").unwrap()
    dj.clear()
    assert dj.get("a") is None
    assert dj.get("b", version=5) is None
    assert bridge("other").get("a") == "other"
    assert bridge("bare").get("a") == "bare"
    assert get_sync_cache("other").get("plain") == Success("protocol")


def test_clear_without_a_prefix_empties_the_store(dj: BridgeCache) -> None:
    dj.set("a", 1)
    bridge("bare").set("a", 2)
    bridge("bare").clear()
    assert stored_keys(dj) == set()


def test_timeouts_none_zero_negative_and_float(dj: BridgeCache, location: str) -> None:
    protocol = get_sync_cache()
    dj.set("forever", 1, timeout=None)
    assert protocol.ttl("forever") == Success(None)
    dj.set("default", 1)  # TIMEOUT defaults to 300 seconds
    ttl = protocol.ttl("default").unwrap()
    assert ttl is not None
    assert 290 <= ttl <= 300
    dj.set("float", 1, timeout=1.5)
    assert protocol.ttl("float") == Success(2)  # 1.5 s left, rounded up
    for timeout in (0, -1, -0.5):
        dj.set("now", "v")
        dj.set("now", "v", timeout=timeout)
        assert dj.has_key("now") is False


def test_touch(dj: BridgeCache) -> None:
    protocol = get_sync_cache()
    dj.set("k", "v", timeout=10)
    assert dj.touch("k", timeout=100) is True
    ttl = protocol.ttl("k").unwrap()
    assert ttl is not None
    assert 90 <= ttl <= 100
    assert dj.touch("k", timeout=None) is True
    assert protocol.ttl("k") == Success(None)
    assert dj.touch("k", timeout=0) is True
    assert dj.has_key("k") is False
    assert dj.touch("missing") is False


def test_expired_values_are_misses(settings: SettingsWrapper) -> None:
    now = [1000.0]
    settings.CACHES = {"default": alias(fresh_memory(), OPTIONS={"clock": lambda: now[0]})}
    dj = bridge()
    dj.set("short", "v", timeout=0.5)
    dj.set("long", "v", timeout=10)
    now[0] += 0.6
    assert dj.get("short") is None
    assert dj.get("long") == "v"
    now[0] += 10
    assert dj.get_many(["short", "long"]) == {}


def test_key_validation_warns_like_django(dj: BridgeCache) -> None:
    with pytest.warns(CacheKeyWarning, match="characters"):
        dj.set("has space", "v")
    with pytest.warns(CacheKeyWarning, match="characters"):
        assert dj.get("has space") == "v"
    with pytest.warns(CacheKeyWarning, match="longer than 250"):
        dj.set("k" * 251, "long")
    with pytest.warns(CacheKeyWarning, match="longer than 250"):
        assert dj.get("k" * 251) == "long"


def test_keys_the_store_cannot_hold_raise_and_write_nothing(dj: BridgeCache) -> None:
    before = stored_keys(dj)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CacheKeyWarning)
        with pytest.raises(InvalidCacheKey, match="1024"):
            dj.set("k" * 1100, "v")
        with pytest.raises(InvalidCacheKey, match="surrogate"):
            dj.set("bad\ud800", "v")
        with pytest.raises(InvalidCacheKey):
            dj.get_many(["ok", "k" * 1100])
    assert stored_keys(dj) == before


def test_bad_values_and_timeouts_raise_and_write_nothing(dj: BridgeCache) -> None:
    with pytest.raises(pickle.PickleError):
        dj.set("k", Unpicklable())
    with pytest.raises(pickle.PickleError):
        dj.set_many({"a": 1, "k": Unpicklable()})
    with pytest.raises(TypeError, match="timeout"):
        dj.set("k", 1, timeout="soon")
    with pytest.raises(ValueError, match="NaN"):
        dj.set("k", 1, timeout=float("nan"))
    assert dj.get_many(["a", "k"]) == {}


TEN_YEARS = MAX_TTL_MS // 1000


@pytest.mark.parametrize("timeout", [TEN_YEARS, TEN_YEARS + 1, 11 * 365 * 24 * 3600, 10**12, 1e300])
def test_timeouts_over_ten_years_are_clamped_to_ten_years(dj: BridgeCache, timeout: Any) -> None:
    def seconds_left(key: str) -> int | None:
        made = dj.make_key(key)
        return dj.adapters().sync.run_operation(operations.ttl(KeySpace(None), made)).unwrap()

    dj.set("k", "v", timeout=timeout)
    assert dj.get("k") == "v"
    assert TEN_YEARS - 60 <= (seconds_left("k") or 0) <= TEN_YEARS
    assert dj.add("a", "v", timeout=timeout) is True
    assert TEN_YEARS - 60 <= (seconds_left("a") or 0) <= TEN_YEARS
    assert dj.set_many({"m": 1}, timeout=timeout) == []
    assert TEN_YEARS - 60 <= (seconds_left("m") or 0) <= TEN_YEARS
    dj.set("t", "v", timeout=5)
    assert dj.touch("t", timeout=timeout) is True
    assert TEN_YEARS - 60 <= (seconds_left("t") or 0) <= TEN_YEARS
    assert dj.get("t") == "v"
    dj.set("forever", "v", timeout=None)
    assert seconds_left("forever") is None


def test_close_keeps_the_shared_connections(dj: BridgeCache) -> None:
    dj.set("k", "v")
    adapters = dj.adapters()
    dj.close()
    caches.close_all()
    assert dj.get("k") == "v"
    assert dj.adapters() is adapters
    assert adapters.sync.closed is False


def test_two_aliases_on_one_memory_location_share_a_store(settings: SettingsWrapper) -> None:
    shared = fresh_memory()
    settings.CACHES = {
        "default": alias(shared),
        "same": alias(shared, OPTIONS={"MAX_ENTRIES": 50}),
        "elsewhere": alias(fresh_memory()),
    }
    bridge().set("k", "v")
    assert bridge("same").get("k") == "v"
    assert bridge("elsewhere").get("k") is None


def test_the_unnamed_memory_location_is_one_store(settings: SettingsWrapper) -> None:
    settings.CACHES = {
        "default": alias("memory://", KEY_PREFIX="a"),
        "again": alias("", KEY_PREFIX="a"),
    }
    bridge().set("k", "v")
    assert bridge("again").get("k") == "v"
    bridge().clear()


def test_clear_keeps_the_keys_of_an_alias_whose_prefix_nests_under_its_own(
    settings: SettingsWrapper, location: str
) -> None:
    settings.CACHES = {
        "default": alias(location, KEY_PREFIX="site"),
        "nested": alias(location, KEY_PREFIX="site:x"),
        "kf": alias(location, KEY_PREFIX="kf", KEY_FUNCTION=lambda k, p, v: f"{p}:{k}@{v}"),
    }
    site, nested = bridge(), bridge("nested")
    site.set("a", 1)
    site.set("b", "v", version=12)
    site.set("c", "v", version=-3)
    nested.set("b", 2)
    plant_raw(site, "site:foreign", b"1")
    assert admin.count_alias_keys(site) == Success(3)
    site.clear()
    assert site.get("a") is None
    assert site.get("b", version=12) is None
    assert site.get("c", version=-3) is None
    assert nested.get("b") == 2
    assert "site:foreign" in stored_keys(site)
    # A custom KEY_FUNCTION's layout is unknown: clear() still takes all under KEY_PREFIX:.
    bridge("kf").set("k", 1)
    assert admin.count_alias_keys(bridge("kf")) == Success(1)
    bridge("kf").clear()
    assert bridge("kf").get("k") is None
    nested.clear()
    admin.delete_keys(site, "site:*")


async def test_aclear_keeps_the_keys_of_a_nested_prefix(
    settings: SettingsWrapper, location: str
) -> None:
    settings.CACHES = {
        "default": alias(location, KEY_PREFIX="site"),
        "nested": alias(location, KEY_PREFIX="site:x"),
    }
    await bridge().aset("a", 1)
    await bridge("nested").aset("b", 2)
    await bridge().aclear()
    assert await bridge().aget("a") is None
    assert await bridge("nested").aget("b") == 2
    await bridge("nested").aclear()
