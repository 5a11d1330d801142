"""The blocking Redis executor's free list of connections (cache_bridge.adapters.redis.executors)
when close() comes while calls are running, and when MULTI itself is refused.

Real servers throughout: the session's redis-server, or a private one where the test changes
its ACL users; a FaultProxy adds latency where timing matters.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from returns.result import Failure, Result, Success

from cache_bridge.adapters.redis import SyncRedisCache
from cache_bridge.errors import CacheClosedError, CacheServerError
from cache_bridge.testing import FaultProxy, RedisServer


def _server_address(client: redis.Redis) -> tuple[str, int]:
    kwargs = client.connection_pool.connection_kwargs
    return str(kwargs.get("host", "127.0.0.1")), int(kwargs.get("port", 6379))


def _connections_named(client: redis.Redis, name: str) -> int:
    return sum(1 for entry in client.client_list() if entry.get("name") == name)


def _wait_until_closed(client: redis.Redis, name: str, wait: float = 3.0) -> int:
    """How many connections named ``name`` the server still has once they are gone or
    ``wait`` seconds have passed (the server notices a closed socket asynchronously)."""
    deadline = time.monotonic() + wait
    while (left := _connections_named(client, name)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return left


@pytest.fixture
def slow_proxy(redis_client: redis.Redis) -> Iterator[FaultProxy]:
    """A proxy to the session's server that delays every reply by 20 ms."""
    proxy = FaultProxy(*_server_address(redis_client)).start()
    proxy.latency = 0.02
    try:
        yield proxy
    finally:
        proxy.stop()


def test_close_with_calls_in_flight_leaves_no_connection_open(
    redis_client: redis.Redis, slow_proxy: FaultProxy
) -> None:
    name = f"cb-close-{uuid.uuid4().hex[:8]}"
    redis_client.set("k", "v")
    cache = SyncRedisCache(
        slow_proxy.url(), max_connections=3, timeout=2, client_name=name, breaker_threshold=0
    )
    results: list[Result[Any, Any]] = []
    succeeded = threading.Event()

    def worker() -> None:
        for _ in range(200):  # bounded; the calls fail at once after close()
            result = cache.get("k")
            results.append(result)
            if isinstance(result, Success):
                succeeded.set()
            elif isinstance(result.failure(), CacheClosedError):
                return

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    assert succeeded.wait(5), results[:3]
    time.sleep(0.05)  # several calls are waiting for their replies, others for a connection
    assert _connections_named(redis_client, name) > 0
    cache.close()
    for thread in threads:
        thread.join(10)
    assert not any(thread.is_alive() for thread in threads)

    # Neither parked connections nor those of the calls in flight stay open on the server.
    assert _wait_until_closed(redis_client, name) == 0
    assert cache._executor._idle == []
    # Every call either completed or was told that the adapter was closed.
    for result in results:
        assert result == Success("v") or isinstance(result.failure(), CacheClosedError), result


class _PausingFreeList(list[Any]):
    """A free list whose first pop waits for ``go``: it widens the window between a caller
    finding the list and taking a connection from it."""

    def __init__(self, items: list[Any]) -> None:
        super().__init__(items)
        self.entered = threading.Event()
        self.go = threading.Event()

    def pop(self, index: Any = -1) -> Any:
        if not self.entered.is_set():
            self.entered.set()
            self.go.wait(5)
        return super().pop(index)


def test_a_connection_parked_at_close_is_not_used_twice(redis_client: redis.Redis) -> None:
    redis_client.set("k", "v")
    name = f"cb-twice-{uuid.uuid4().hex[:8]}"
    url = "redis://{}:{}/0".format(*_server_address(redis_client))
    cache = SyncRedisCache(url, max_connections=1, timeout=1, client_name=name)
    assert cache.get("k") == Success("v")  # one connection, parked in the free list
    executor = cache._executor
    free_list = _PausingFreeList(executor._idle)
    executor._idle = free_list
    result: list[Result[Any, Any]] = []
    caller = threading.Thread(target=lambda: result.append(cache.get("k")))
    caller.start()
    assert free_list.entered.wait(5)  # the caller is about to take the parked connection

    cache.close()  # gives the parked connection back to the pool ...
    pool = executor._pool
    held: Any = pool.get_connection()  # ... which hands it to somebody else
    try:
        free_list.go.set()
        caller.join(5)
        assert not caller.is_alive()
        # The caller did not take the connection the pool gave away: it was told the adapter
        # is closed (before the fix it ran its GET on ``held``'s socket).
        assert len(result) == 1
        assert isinstance(result[0], Failure)
        assert isinstance(result[0].failure(), CacheClosedError)
        held.send_command("PING")
        assert held.read_response() == b"PONG"
    finally:
        held.disconnect()
        pool.release(held)
    assert _wait_until_closed(redis_client, name) == 0


def test_the_executor_refuses_connections_after_close(redis_client: redis.Redis) -> None:
    name = f"cb-after-{uuid.uuid4().hex[:8]}"
    url = "redis://{}:{}/0".format(*_server_address(redis_client))
    cache = SyncRedisCache(url, client_name=name)
    assert isinstance(cache.set("k", "v"), Success)
    cache.close()
    # An operation that passed the adapter's closed checks just before close() reaches the
    # executor afterwards: it is refused there (the face reports Failure(CacheClosedError))
    # and opens no connection.
    with pytest.raises(CacheClosedError):
        cache._executor._acquire()
    assert _wait_until_closed(redis_client, name) == 0


@pytest.fixture
def acl_server() -> Iterator[RedisServer]:
    server = RedisServer()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


def test_refused_multi_leaves_no_reply_for_the_next_call(acl_server: RedisServer) -> None:
    admin = redis.Redis(port=acl_server.port)
    try:
        admin.execute_command(  # type: ignore[no-untyped-call]
            "ACL", "SETUSER", "nomulti", "on", ">pw", "~*", "&*", "+@all", "-multi"
        )
        admin.set("victim", "victim-value")
        with FaultProxy("127.0.0.1", acl_server.port) as proxy:
            # Replies arrive late and in pieces: the rest of the transaction's replies are
            # still on their way when the next call is written on the same connection.
            proxy.latency = 0.05
            cache = SyncRedisCache(
                f"redis://nomulti:pw@127.0.0.1:{proxy.port}/0",
                max_connections=1,
                timeout=2,
                breaker_threshold=0,
            )
            try:
                assert cache.get("victim") == Success("victim-value")
                many = {f"k{i}": "x" * 20_000 for i in range(40)}
                # How the server splits its replies varies: a few rounds make the old fault
                # (the next GET answered by a SET's +OK) show nearly every time.
                for _ in range(4):
                    refused = cache.set_many(many, ttl=100).failure()
                    assert isinstance(refused, CacheServerError)
                    assert "multi" in str(refused).lower()
                    for _ in range(3):
                        assert cache.get("victim") == Success("victim-value")
                assert cache.set("after", "ok") == Success(None)
                assert cache.get("after") == Success("ok")
            finally:
                cache.close()
    finally:
        admin.close()
