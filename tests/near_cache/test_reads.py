"""get_many, exists and ttl served by the near cache, on both faces, against a real server:
each answered from process memory once filled, and each coherent with writes by this process
and by another client (seen once the invalidation push arrived)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis
from returns.result import Failure, Success

from cache_bridge import RedisCache, SyncRedisCache
from cache_bridge.errors import (
    CacheClosedError,
    CacheInvalidArgumentError,
    CacheSerializationError,
)
from cache_bridge.observability import events
from tests.near_cache.faces import Face


@pytest.fixture(params=["sync", "async"])
async def face(
    request: pytest.FixtureRequest, redis_client: redis.Redis, redis_url: str
) -> AsyncIterator[Face]:
    kind = SyncRedisCache if request.param == "sync" else RedisCache
    one = Face(kind(redis_url, near_cache=True))
    await one.ready()
    yield one
    await one.close()


async def test_get_many_is_served_locally_and_coherent(
    face: Face, redis_client: redis.Redis
) -> None:
    assert await face.call("set_many", {"a": "1", "b": "2"}) == Success(None)
    want = Success({"a": "1", "b": "2", "c": None})
    assert await face.served_locally("get_many", ["a", "b", "c"]) == want
    # the keys filled by get_many serve get too
    assert await face.served_locally("get", "b") == Success("2")
    await face.after_push(lambda: redis_client.set("b", "other"), "b")
    assert await face.call("get_many", ["a", "b", "c"]) == Success(
        {"a": "1", "b": "other", "c": None}
    )
    await face.after_push(lambda: redis_client.set("c", "new"), "c")
    assert await face.call("get_many", ["c", "a"]) == Success({"c": "new", "a": "1"})
    assert await face.call("set", "a", "own") == Success(None)  # own write: the next read
    assert await face.call("get_many", ["a", "c"]) == Success({"a": "own", "c": "new"})
    assert await face.call("delete", "c") == Success(True)
    assert await face.call("get_many", ["a", "c"]) == Success({"a": "own", "c": None})


async def test_exists_is_served_locally_and_coherent(face: Face, redis_client: redis.Redis) -> None:
    assert await face.call("set", "k", "v") == Success(None)
    assert await face.served_locally("exists", "k") == Success(True)
    assert await face.served_locally("exists", "missing") == Success(False)
    await face.after_push(lambda: redis_client.delete("k"), "k")
    assert await face.call("exists", "k") == Success(False)
    await face.after_push(lambda: redis_client.set("missing", "now"), "missing")
    assert await face.call("exists", "missing") == Success(True)
    assert await face.call("delete", "missing") == Success(True)  # own write
    assert await face.call("exists", "missing") == Success(False)
    assert await face.call("set", "k", "again") == Success(None)
    assert await face.call("exists", "k") == Success(True)


async def test_exists_of_a_key_of_another_type_is_true(
    face: Face, redis_client: redis.Redis
) -> None:
    """A hash is no string: GET-like reads say nothing of it, it is never kept as missing."""
    redis_client.hset("h", "f", "1")
    for _ in range(3):
        assert await face.call("exists", "h") == Success(True)


async def test_ttl_is_served_from_the_stored_deadline_and_coherent(
    face: Face, redis_client: redis.Redis
) -> None:
    assert await face.call("set", "t", "v", 100) == Success(None)
    left = (await face.served_locally("ttl", "t")).unwrap()
    assert 90 <= left <= 100  # (a loaded machine may take seconds)
    assert await face.served_locally("ttl", "no-expiry-missing") == Success(None)
    assert await face.call("set", "plain", "v") == Success(None)
    assert await face.served_locally("ttl", "plain") == Success(None)
    await face.after_push(lambda: redis_client.expire("t", 500), "t")
    assert 490 <= (await face.call("ttl", "t")).unwrap() <= 500
    await face.after_push(lambda: redis_client.persist("t"), "t")
    assert await face.call("ttl", "t") == Success(None)
    assert await face.call("expire", "plain", 30) == Success(True)  # own write
    assert 20 <= (await face.call("ttl", "plain")).unwrap() <= 30


async def test_ttl_and_exists_never_outlive_the_servers_expiry(
    face: Face, redis_client: redis.Redis
) -> None:
    redis_client.set("e", "x", px=600)
    assert await face.call("exists", "e") == Success(True)
    assert await face.call("ttl", "e") == Success(1)
    await asyncio.sleep(0.65)  # expired on the server, maybe not yet deleted by it
    assert await face.call("ttl", "e") == Success(None)
    assert await face.call("exists", "e") == Success(False)
    assert await face.call("get_many", ["e"]) == Success({"e": None})


async def test_a_local_get_keeps_every_guarantee_of_the_operation(
    face: Face, redis_client: redis.Redis
) -> None:
    """A hit skips the operation only when nothing would differ: a bad key is refused, a
    value that is not text fails, a listener sees the call, a closed adapter refuses."""
    assert await face.call("set", "k", "v") == Success(None)
    assert await face.served_locally("get", "k") == Success("v")
    bad = await face.call("get", "")
    assert isinstance(bad, Failure)
    assert isinstance(bad.failure(), CacheInvalidArgumentError)
    redis_client.set("bin", b"\xff\xfe")
    for _ in range(3):  # filled on the first: then the local copy is no text either
        undecodable = await face.call("get", "bin")
        assert isinstance(undecodable, Failure)
        assert isinstance(undecodable.failure(), CacheSerializationError)
    seen: list[events.Event] = []
    remove = events.add_listener(seen.append)
    try:
        assert await face.served_locally("get", "k") == Success("v")
    finally:
        remove()
    assert any(isinstance(e, events.OperationEvent) and e.operation == "get" for e in seen)
    await face.close()
    closed = await face.call("get", "k")
    assert isinstance(closed, Failure)
    assert isinstance(closed.failure(), CacheClosedError)


async def test_get_json_is_served_locally_a_dict_of_its_own_each_time(
    face: Face, redis_client: redis.Redis
) -> None:
    assert await face.call("set_json", "j", {"a": [1]}) == Success(None)
    first = (await face.served_locally("get_json", "j")).unwrap()
    first["a"].append(2)  # the caller's own dict
    assert await face.served_locally("get_json", "j") == Success({"a": [1]})
    redis_client.set("list", "[1, 2]")  # JSON, but not an object
    for _ in range(3):
        refused = await face.call("get_json", "list")
        assert isinstance(refused, Failure)
        assert isinstance(refused.failure(), CacheSerializationError)
    await face.after_push(lambda: redis_client.set("j", '{"a": "new"}'), "j")
    assert await face.call("get_json", "j") == Success({"a": "new"})
