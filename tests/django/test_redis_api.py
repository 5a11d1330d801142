"""BridgeCache's django-redis API (ttl, pttl, expire, pexpire, expire_at, persist, set with
nx/xx, incr with ignore_key_check, delete_many's count, delete_pattern, iter_keys, keys) on
memory://, Redis, Redis Cluster and Sentinel, blocking and natively async, through the
Django cache API."""

# ruff: noqa: F811 (the fixtures imported from every_store)

from __future__ import annotations

import asyncio
import datetime
import time
from typing import Any

import pytest
from pytest_django import Settings as SettingsWrapper

from django_cache_bridge.cache import BridgeCache
from tests.django.every_store import dj, location_memory, where  # noqa: F401 (fixtures)
from tests.support.django_helpers import DEAD_OPTIONS, alias, bridge, dead_redis_url


def test_ttl_and_pttl(dj: BridgeCache) -> None:
    assert dj.ttl("missing") == 0
    assert dj.pttl("missing") == 0
    dj.set("forever", 1, timeout=None)
    assert dj.ttl("forever") is None
    assert dj.pttl("forever") is None
    dj.set("soon", 1, timeout=100)
    assert 99 <= (dj.ttl("soon") or 0) <= 100
    assert 99_000 <= (dj.pttl("soon") or 0) <= 100_000
    dj.set("versioned", 1, timeout=50, version=2)
    assert dj.ttl("versioned") == 0
    assert 49 <= (dj.ttl("versioned", version=2) or 0) <= 50


def test_expire_pexpire_persist_and_expire_at(dj: BridgeCache) -> None:
    assert dj.expire("missing", 10) is False
    dj.set("k", "v", timeout=None)
    assert dj.expire("k", 20) is True
    assert 19 <= (dj.ttl("k") or 0) <= 20
    assert dj.pexpire("k", 5_000) is True
    assert 4_000 <= (dj.pttl("k") or 0) <= 5_000
    assert dj.persist("k") is True
    assert dj.ttl("k") is None
    assert dj.persist("missing") is False
    in_an_hour = datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(hours=1)
    assert dj.expire_at("k", in_an_hour) is True
    assert 3590 <= (dj.ttl("k") or 0) <= 3600
    assert dj.pexpire_at("k", int((time.time() + 60) * 1000)) is True
    assert 50 <= (dj.ttl("k") or 0) <= 60
    assert dj.expire_at("k", time.time() + 30) is True
    assert 20 <= (dj.ttl("k") or 0) <= 30
    assert dj.expire("k", 0) is True  # expires now: the key goes
    assert dj.get("k") is None
    dj.set("k", "v")
    assert dj.expire_at("k", time.time() - 10) is True
    assert dj.has_key("k") is False
    assert dj.touch("missing", 10) is False


def test_set_nx_and_xx(dj: BridgeCache) -> None:
    assert dj.set("k", 1) is True
    assert dj.set("k", 2, nx=True) is False
    assert dj.get("k") == 1
    assert dj.set("new", 2, nx=True) is True
    assert dj.set("absent", 3, xx=True) is False
    assert dj.has_key("absent") is False
    assert dj.set("k", 4, xx=True) is True
    assert dj.get("k") == 4
    # With a timeout <= 0, nx says whether it would have been set and writes nothing.
    assert dj.set("k", 5, timeout=0, nx=True) is False
    assert dj.set("gone", 5, timeout=0, nx=True) is True
    assert dj.has_key("gone") is False
    assert dj.set("k", 5, timeout=0) is True  # deleted
    assert dj.has_key("k") is False


def test_incr_ignore_key_check_and_delete_many_count(dj: BridgeCache) -> None:
    with pytest.raises(ValueError, match="not found"):
        dj.incr("counter")
    assert dj.incr("counter", 5, ignore_key_check=True) == 5
    assert dj.ttl("counter") is None  # created without expiry
    assert dj.decr("counter", 2, ignore_key_check=True) == 3
    assert dj.decr("fresh", 2, ignore_key_check=True) == -2
    with pytest.raises(ValueError, match="not found"):
        dj.decr("nothing")
    dj.set_many({"a": 1, "b": 2, "c": 3})
    assert dj.delete_many(["a", "b", "zzz"]) == 2
    assert dj.delete_many([]) is None


def test_delete_pattern_iter_keys_and_keys_stay_in_the_alias(dj: BridgeCache) -> None:
    other = bridge("other")
    names = [f"user:{n}" for n in range(30)]
    dj.set_many(dict.fromkeys(names, 1))
    dj.set("page:1", 1)
    dj.set("user:v2", 1, version=2)
    other.set_many(dict.fromkeys(names, 1))
    assert sorted(dj.keys("user:*")) == sorted(names)
    assert sorted(dj.iter_keys("user:*", itersize=7)) == sorted(names)
    assert dj.keys("user:*", version=2) == ["user:v2"]
    assert dj.keys("nothing*") == []
    assert dj.delete_pattern("user:*", itersize=5) == 30
    assert dj.keys("user:*") == []
    assert dj.keys("*") == ["page:1"]
    assert dj.get("user:v2", version=2) == 1
    assert sorted(other.keys("user:*")) == sorted(names)  # another KEY_PREFIX keeps its keys
    assert dj.delete_pattern("user:*", version=2) == 1


def test_glob_characters_in_key_prefix_are_literal(
    settings: SettingsWrapper, where: tuple[str, dict[str, Any]]
) -> None:
    location, options = where
    settings.CACHES = {
        "default": alias(location, KEY_PREFIX="a*[b]", OPTIONS=options),
        "other": alias(location, KEY_PREFIX="aX[b]", OPTIONS=options),
    }
    mine, theirs = bridge(), bridge("other")
    try:
        mine.set("k", 1)
        theirs.set("k", 1)
        assert mine.keys("*") == ["k"]
        assert mine.delete_pattern("*") == 1
        assert theirs.get("k") == 1
    finally:
        mine.clear()
        theirs.clear()


def test_the_async_forms(dj: BridgeCache) -> None:
    async def run() -> None:
        assert await dj.aset("k", 1, timeout=100) is True
        assert await dj.aset("k", 2, nx=True) is False
        assert await dj.aset("k", 3, timeout=100, xx=True) is True
        assert 99 <= (await dj.attl("k") or 0) <= 100
        assert 99_000 <= (await dj.apttl("k") or 0) <= 100_000
        assert await dj.aexpire("k", 50) is True
        assert await dj.apexpire("k", 40_000) is True
        assert await dj.apersist("k") is True
        assert await dj.attl("k") is None
        assert await dj.aexpire_at("k", time.time() + 30) is True
        assert await dj.apexpire_at("k", int(time.time() * 1000) + 30_000) is True
        assert await dj.aincr("c", 2, ignore_key_check=True) == 2
        assert await dj.adecr("c", 1) == 1
        await dj.aset_many({"x:1": 1, "x:2": 2})
        assert sorted([key async for key in dj.aiter_keys("x:*", itersize=1)]) == ["x:1", "x:2"]
        assert sorted(await dj.akeys("x:*")) == ["x:1", "x:2"]
        assert await dj.adelete_pattern("x:*") == 2
        assert await dj.adelete_many(["k", "c", "none"]) == 2

    asyncio.run(run())


def test_fail_open_answers_when_redis_is_down(settings: SettingsWrapper) -> None:
    settings.CACHES = {"default": alias(dead_redis_url(), OPTIONS=DEAD_OPTIONS)}
    dj = bridge()
    assert dj.ttl("k") == 0
    assert dj.pttl("k") == 0
    assert dj.expire("k", 10) is False
    assert dj.persist("k") is False
    assert dj.set("k", 1, nx=True) is False
    assert dj.set("k", 1) is False
    assert dj.delete_many(["k"]) == 0
    assert dj.delete_pattern("*") == 0
    assert dj.keys("*") == []


def test_get_client_is_a_raw_redis_client(dj: BridgeCache, where: tuple[str, Any]) -> None:
    if where[0].startswith("memory"):
        with pytest.raises(NotImplementedError, match="needs a Redis LOCATION"):
            dj.get_client()
        return
    client = dj.get_client()
    assert dj.get_client(write=False) is client  # one client per alias configuration
    dj.set("n", 41)
    made = dj.make_key("n")
    assert client.get(made) == b"41"  # ints are stored as decimal text
    assert client.incr(made) == 42
    assert dj.get("n") == 42
