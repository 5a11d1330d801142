"""The Redis adapter when things go wrong: no server, a server that never answers, a server
that goes away and comes back, wrong credentials, foreign data and a full server.

Every test runs on both faces (SyncRedisCache and RedisCache) through the shipped Harness, and
checks that the failure comes back as a value (never raised) of the documented error class.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from returns.result import Success

from cache_bridge import CacheConnectionError, CacheSerializationError, CacheTimeoutError
from cache_bridge.adapters.redis import RedisCache, SyncRedisCache
from cache_bridge.errors import CacheServerError, CacheValueError
from cache_bridge.protocol import SyncCacheProtocol
from cache_bridge.resilience.outage_log import is_outage
from cache_bridge.testing import Harness, Harnesses, RedisServer
from cache_bridge.testing.contract import CALLS, failure

Connect = Callable[..., Harness]

KEYED = {"get", "get_json", "set", "set_json", "delete", "exists", "expire", "ttl"} | {
    "increment",
    "decrement",
}

# Short enough that a test that waits for one is quick; long enough for a loaded machine to
# connect to a live loopback server.
SHORT = {"connect_timeout": 0.5, "timeout": 0.5}


@pytest.fixture(params=["sync", "async"])
def face(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def connect(face: str) -> Iterator[Connect]:
    """Build harnessed Redis adapters of the current face; all are shut down afterwards."""
    with Harnesses(SyncRedisCache if face == "sync" else RedisCache, face) as make:
        yield make


@pytest.fixture
def server() -> Iterator[RedisServer]:
    """A private redis-server for one test, which the test may stop and start again."""
    server = RedisServer()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


# -- no server ---------------------------------------------------------------------------------


@pytest.fixture
def dead_url() -> Iterator[str]:
    """A loopback URL where nothing listens: the port is bound (so nobody else takes it) but
    not listening, so every connection attempt is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        yield f"redis://127.0.0.1:{holder.getsockname()[1]}/0"


def test_the_calls_cover_every_protocol_method() -> None:
    methods = {
        name
        for name, member in inspect.getmembers(SyncCacheProtocol, inspect.isfunction)
        if not name.startswith("_") and name != "close"
    }
    assert len(CALLS) == 15
    assert {name for name, _ in CALLS} == methods


@pytest.mark.parametrize(("name", "args"), CALLS, ids=[name for name, _ in CALLS])
def test_every_method_fails_with_a_connection_error_when_no_server_listens(
    connect: Connect, dead_url: str, name: str, args: tuple[Any, ...]
) -> None:
    cache = connect(dead_url, **SHORT)
    result = getattr(cache, name)(*args)
    error = failure(result, CacheConnectionError)
    assert error.operation == name
    assert error.key == ("k" if name in KEYED else None)
    assert error.cause is not None
    # The adapter stays usable: asking again fails the same way rather than raising.
    failure(getattr(cache, name)(*args), CacheConnectionError)


# -- a server that never answers ---------------------------------------------------------------


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A loopback URL whose socket completes TCP handshakes (the kernel queues them in the
    backlog) but never accepts, reads or answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"


def test_a_server_that_never_answers_gives_a_timeout(connect: Connect, silent_url: str) -> None:
    # (No breaker: it would answer the second call itself.)
    cache = connect(silent_url, timeout=0.2, connect_timeout=0.2, breaker_threshold=0)
    error = failure(cache.get("k"), CacheTimeoutError)
    assert (error.operation, error.key) == ("get", "k")
    # A timed-out connection is not reused for the next call: it times out afresh.
    failure(cache.set("k", "v"), CacheTimeoutError)


# -- the server goes away and comes back -------------------------------------------------------


def test_the_same_adapter_works_again_after_the_server_restarts(
    connect: Connect, server: RedisServer
) -> None:
    # (No breaker: this is about the connections; with one, the calls after the restart fail
    # at once until its probe finds the server.)
    cache = connect(server.url, **SHORT, breaker_threshold=0)
    assert cache.set("k", "before") == Success(None)
    assert cache.get("k") == Success("before")

    server.stop()
    error = failure(cache.get("k"), CacheConnectionError)
    assert (error.operation, error.key) == ("get", "k")
    failure(cache.set("k", "during"), CacheConnectionError)

    server.start()
    # The pool drops a connection that failed, and checks an idle one before lending it,
    # so the very first call after the restart succeeds.
    assert cache.set("k", "after") == Success(None)
    assert cache.get("k") == Success("after")
    assert cache.increment("n") == Success(1)


def test_a_restart_while_the_adapter_sits_idle_does_not_fail_the_next_call(
    face: str, server: RedisServer
) -> None:
    # Nothing fails while the server is down, so the pooled connections are stale but
    # unmarked when the next calls come: the pool must notice before lending them out.
    if face == "sync":
        cache = SyncRedisCache(server.url, **SHORT)
        try:
            assert cache.set("a", "1") == Success(None)
            server.stop()
            server.start()
            assert cache.get("a") == Success(None)  # nothing persists across the restart
            assert cache.set("a", "again") == Success(None)
        finally:
            cache.close()
        return

    async def scenario() -> None:
        # The loop keeps running during the restart, as it does in a live application, so
        # the pool can see the server close each idle connection.
        cache = RedisCache(server.url, **SHORT)
        try:
            # Two calls at once: two connections, both idle in the pool afterwards.
            stored = await asyncio.gather(cache.set("a", "1"), cache.set("b", "2"))
            assert list(stored) == [Success(None), Success(None)]
            await asyncio.to_thread(server.stop)
            await asyncio.to_thread(server.start)
            fetched = await asyncio.gather(cache.get("a"), cache.get("b"))
            assert list(fetched) == [Success(None), Success(None)]
        finally:
            await cache.aclose()

    asyncio.run(scenario())


def test_retries_hide_a_connection_that_went_stale_while_idle(
    connect: Connect, server: RedisServer
) -> None:
    # The harness runs an async adapter's loop only during calls, so an idle connection's
    # closure goes unnoticed until it is used; one retry reconnects and succeeds.
    cache = connect(server.url, retries=1, **SHORT)
    assert cache.set("a", "1") == Success(None)
    server.stop()
    server.start()
    assert cache.get("a") == Success(None)
    assert cache.set("a", "again") == Success(None)
    assert cache.get("a") == Success("again")


# -- credentials -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def password_server() -> Iterator[RedisServer]:
    server = RedisServer(extra_args=["--requirepass", "secret"])
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


def test_a_wrong_password_is_a_connection_error(
    connect: Connect, password_server: RedisServer
) -> None:
    cache = connect(password_server.url, password="wrong", **SHORT)
    error = failure(cache.get("k"), CacheConnectionError)
    assert (error.operation, error.key) == ("get", "k")
    assert not isinstance(error, CacheTimeoutError)
    assert "wrong" not in str(error)
    assert "wrong" not in repr(cache.adapter)


def test_a_missing_password_is_a_connection_error(
    connect: Connect, password_server: RedisServer
) -> None:
    cache = connect(password_server.url, **SHORT)
    failure(cache.set("k", "v"), CacheConnectionError)


def test_the_right_password_works(connect: Connect, password_server: RedisServer) -> None:
    cache = connect(password_server.url, password="secret", **SHORT)
    assert cache.set("k", "v") == Success(None)
    assert cache.get("k") == Success("v")
    url_cache = connect(password_server.url.replace("//", "//:secret@"), **SHORT)
    assert url_cache.get("k") == Success("v")


# -- data written by someone else --------------------------------------------------------------


def test_bytes_that_are_not_utf8_fail_to_decode(
    connect: Connect, redis_url: str, redis_client: redis.Redis
) -> None:
    redis_client.set("foreign", b"\xff\xfe")
    redis_client.set("fine", "ok")
    cache = connect(redis_url, **SHORT)

    error = failure(cache.get("foreign"), CacheSerializationError)
    assert (error.operation, error.key) == ("get", "foreign")
    failure(cache.get_json("foreign"), CacheSerializationError)
    error = failure(cache.get_many(["fine", "foreign", "missing"]), CacheSerializationError)
    assert (error.operation, error.key) == ("get_many", None)

    # The undecodable value is untouched and the rest of the database still works.
    assert redis_client.get("foreign") == b"\xff\xfe"
    assert cache.get("fine") == Success("ok")
    assert cache.get_many(["fine", "missing"]) == Success({"fine": "ok", "missing": None})
    assert cache.exists("foreign") == Success(True)
    assert cache.delete("foreign") == Success(True)


def test_a_key_of_another_type_is_bad_data_not_an_outage(
    connect: Connect, redis_url: str, redis_client: redis.Redis
) -> None:
    # Redis answers WRONGTYPE (a set where a value or a number was expected): the data is
    # wrong, the server is fine, so the error is a CacheValueError (as on memory://), which the
    # outage log and the breaker leave alone, and the set is untouched.
    redis_client.sadd("a-set", "m")
    cache = connect(redis_url, **SHORT)

    for result in (cache.get("a-set"), cache.increment("a-set")):
        error = failure(result, CacheValueError)
        assert not is_outage(error)
        assert "WRONGTYPE" in error.message
    assert redis_client.smembers("a-set") == {b"m"}


# -- a full server -----------------------------------------------------------------------------


@pytest.fixture
def full_server() -> Iterator[RedisServer]:
    """A private server with a memory limit 1 MB above what it uses empty and no eviction,
    filled until it refuses writes; ``kept`` holds a small value written before it filled
    up. (Relative: an empty Valkey 9 alone uses more than 1 MB.)"""
    server = RedisServer(extra_args=["--maxmemory-policy", "noeviction"])
    client = redis.Redis.from_url(server.url)
    try:
        server.start()
        used = int(client.info("memory")["used_memory"])
        client.config_set("maxmemory", used + 1024 * 1024)
        client.set("kept", "still here")
        # Small values, so that a refusal means stored data is over the limit (a large
        # request's own query buffer can trip the limit for a moment and then be freed).
        filler = b"x" * 1024
        for i in range(5000):  # 5 MB at most, far past 1 MB
            try:
                client.set(f"fill:{i}", filler)
            except redis.exceptions.OutOfMemoryError:
                break
        else:
            pytest.fail("redis-server never refused a write despite its maxmemory")
        yield server
    finally:
        client.close()
        server.cleanup()


def test_a_full_server_refuses_writes_with_a_server_error(
    connect: Connect, full_server: RedisServer
) -> None:
    cache = connect(full_server.url, **SHORT)
    error = failure(cache.set("new", "v"), CacheServerError)
    assert (error.operation, error.key) == ("set", "new")
    assert "maxmemory" in error.message
    failure(cache.set_json("new", {"a": 1}), CacheServerError)
    failure(cache.set_many({"new": "v", "other": "w"}), CacheServerError)
    failure(cache.set_many({"new": "v", "other": "w"}, ttl=60), CacheServerError)
    failure(cache.increment("counter"), CacheServerError)

    # Reads still work, and nothing was half-written.
    assert cache.get("kept") == Success("still here")
    assert cache.get_many(["new", "other", "counter"]) == Success(
        {"new": None, "other": None, "counter": None}
    )
    assert cache.ping() == Success(True)


def test_a_full_server_does_not_open_the_breaker(
    connect: Connect, full_server: RedisServer
) -> None:
    # Refused writes are answers: the server is there, so reads must keep going to it.
    cache = connect(full_server.url, breaker_threshold=2, **SHORT)
    for i in range(10):
        failure(cache.set(f"new:{i}", "v"), CacheServerError)
        failure(cache.increment(f"counter:{i}"), CacheServerError)
    adapter = cache.adapter
    assert isinstance(adapter, SyncRedisCache | RedisCache)
    assert adapter.breaker is not None
    stats = adapter.breaker.stats()
    assert (stats.state, stats.consecutive_failures, stats.failures_total) == ("closed", 0, 0)
    assert (stats.opened_total, stats.rejected_total) == (0, 0)
    assert cache.get("kept") == Success("still here")
    assert cache.exists("kept") == Success(True)
