"""BridgeCache's set and hash methods (django-redis 6's sadd ... hlen) on memory://, Redis,
Redis Cluster and Sentinel, blocking and natively async, with Django's key versioning. Keys of
one multi-key call share a ``{hash tag}``, as a cluster needs."""

# ruff: noqa: F811 (the fixtures imported from every_store)

from __future__ import annotations

import asyncio

import pytest
from pytest_django import Settings as SettingsWrapper

from django_cache_bridge.cache import BridgeCache
from tests.django.every_store import dj, location_memory, where  # noqa: F401 (fixtures)
from tests.support.django_helpers import DEAD_OPTIONS, alias, bridge, dead_redis_url


def test_members(dj: BridgeCache) -> None:
    assert dj.sadd("s", "a", "b", 3, ("t", 1)) == 4
    assert dj.sadd("s", "a", "c") == 1
    assert dj.smembers("s") == {"a", "b", "c", 3, ("t", 1)}
    assert dj.scard("s") == 5
    assert dj.sismember("s", "a") is True
    assert dj.sismember("s", "zz") is False
    assert dj.sismember("s", ("t", 1)) is True
    assert dj.smismember("s", "a", "zz", 3) == [True, False, True]
    assert dj.srem("s", "a", "zz") == 1
    assert dj.smembers("missing") == set()
    assert dj.scard("missing") == 0
    # Versions are separate sets; the set is a key of the alias.
    assert dj.sadd("s", "v2", version=2) == 1
    assert dj.smembers("s", version=2) == {"v2"}
    assert dj.has_key("s") is True
    assert sorted(dj.keys("s")) == ["s"]
    assert dj.get("s") is None  # a set is no value: a miss, and it stays
    assert dj.scard("s") == 4
    assert dj.delete("s") is True
    assert dj.smembers("s") == set()


def test_pop_and_random_members(dj: BridgeCache) -> None:
    dj.sadd("s", "a", "b", "c")
    assert dj.srandmember("s") in {"a", "b", "c"}
    picked = dj.srandmember("s", 2)
    assert isinstance(picked, list)
    assert len(set(picked)) == 2
    assert len(dj.srandmember("s", -5)) == 5  # negative: repeats allowed
    popped = dj.spop("s")
    assert popped in {"a", "b", "c"}
    rest = dj.spop("s", 5)
    assert isinstance(rest, set)
    assert rest | {popped} == {"a", "b", "c"}
    assert dj.spop("s") is None
    assert dj.srandmember("s") is None
    assert dj.has_key("s") is False  # an emptied set is gone


def test_move_combine_and_store(dj: BridgeCache) -> None:
    dj.sadd("{t}a", 1, 2, "x")
    dj.sadd("{t}b", 2, 3, "x")
    assert dj.sinter("{t}a", "{t}b") == {2, "x"}
    assert dj.sunion("{t}a", "{t}b") == {1, 2, 3, "x"}
    assert dj.sdiff("{t}a", "{t}b") == {1}
    assert dj.sinterstore("{t}i", "{t}a", "{t}b") == 2
    assert dj.smembers("{t}i") == {2, "x"}
    assert dj.sunionstore("{t}u", "{t}a", "{t}b") == 4
    assert dj.sdiffstore("{t}d", "{t}a", "{t}b") == 1
    # Members move between sets on the server and stay readable (signed for the alias).
    assert dj.smove("{t}a", "{t}b", "x") is True
    assert dj.smembers("{t}a") == {1, 2}
    assert dj.smove("{t}a", "{t}c", 1) is True
    assert dj.smove("{t}a", "{t}c", 1) is False
    assert dj.smembers("{t}c") == {1}
    dj.sadd("{t}v", "old", version=2)
    assert dj.sunionstore("{t}w", "{t}v", version_dest=1, version_keys=2) == 1
    assert dj.smembers("{t}w") == {"old"}


def test_sscan(dj: BridgeCache) -> None:
    names = {f"user:{n}" for n in range(50)}
    dj.sadd("s", *names, "other")
    assert dj.sscan("s", count=7) == names | {"other"}
    assert dj.sscan("s", match="user:*") == names
    assert set(dj.sscan_iter("s", match="oth*")) == {"other"}


def test_hashes(dj: BridgeCache) -> None:
    assert dj.hset("h", "f1", {"a": 1}) == 1
    assert dj.hset("h", "f2", 2) == 1
    assert dj.hset("h", "f1", "new") == 0
    assert dj.hget("h", "f1") == "new"
    assert dj.hget("h", "f2") == 2
    assert dj.hget("h", "nope", default="d") == "d"
    assert dj.hlen("h") == 2
    assert dj.hexists("h", "f1") is True
    assert dj.hexists("h", "nope") is False
    assert sorted(dj.hkeys("h")) == ["f1", "f2"]
    assert dj.hdel("h", "f1") == 1
    assert dj.hdel("h", "f1") == 0
    assert dj.hlen("h", version=2) == 0
    assert dj.hlen("missing") == 0


def test_the_async_forms(dj: BridgeCache) -> None:
    async def run() -> None:
        assert await dj.asadd("{t}a", "a", "b") == 2
        assert await dj.asrem("{t}a", "b") == 1
        assert await dj.asmembers("{t}a") == {"a"}
        assert await dj.asismember("{t}a", "a") is True
        assert await dj.asmismember("{t}a", "a", "b") == [True, False]
        assert await dj.ascard("{t}a") == 1
        assert await dj.asrandmember("{t}a") == "a"
        assert await dj.asmove("{t}a", "{t}b", "a") is True
        assert await dj.asunion("{t}a", "{t}b") == {"a"}
        assert await dj.asinter("{t}a", "{t}b") == set()
        assert await dj.asdiff("{t}b", "{t}a") == {"a"}
        assert await dj.asunionstore("{t}c", "{t}b") == 1
        assert await dj.asinterstore("{t}d", "{t}b", "{t}c") == 1
        assert await dj.asdiffstore("{t}e", "{t}b", "{t}c") == 0
        assert await dj.asscan("{t}b") == {"a"}
        assert [m async for m in dj.asscan_iter("{t}b")] == ["a"]
        assert await dj.aspop("{t}b") == "a"
        assert await dj.ahset("h", "f", 1) == 1
        assert await dj.ahget("h", "f") == 1
        assert await dj.ahexists("h", "f") is True
        assert await dj.ahkeys("h") == ["f"]
        assert await dj.ahlen("h") == 1
        assert await dj.ahdel("h", "f") == 1

    asyncio.run(run())


def test_fail_open_answers_when_redis_is_down(settings: SettingsWrapper) -> None:
    settings.CACHES = {"default": alias(dead_redis_url(), OPTIONS=DEAD_OPTIONS)}
    down = bridge()
    assert down.sadd("s", 1) == 0
    assert down.smembers("s") == set()
    assert down.sismember("s", 1) is False
    assert down.smismember("s", 1, 2) == [False, False]
    assert down.spop("s") is None
    assert down.spop("s", 2) == set()
    assert down.srandmember("s", 2) == []
    assert down.hget("h", "f", default="d") == "d"
    assert down.hkeys("h") == []


@pytest.mark.redis
def test_members_are_readable_only_by_the_alias(
    settings: SettingsWrapper, redis_client: object, redis_url: str
) -> None:
    settings.CACHES = {"default": alias(redis_url)}
    dj = bridge()
    made = dj.make_key("s")
    redis_client.sadd(made, b"planted-not-signed")  # type: ignore[attr-defined]
    dj.sadd("s", "mine")
    assert dj.smembers("s") == {"mine"}  # a member the alias cannot read is left out
    assert dj.scard("s") == 2


def test_on_a_cluster_the_keys_of_one_call_need_one_slot(
    settings: SettingsWrapper, cluster_url: str
) -> None:
    settings.CACHES = {"default": alias(cluster_url, KEY_PREFIX="site")}
    dj = bridge()
    dj.sadd("{t}a", 1)
    with pytest.raises(ValueError, match="hash tag"):
        dj.sunion("{t}a", "elsewhere")
    assert dj.sunion("{t}a", "{t}b") == {1}
    dj.clear()
