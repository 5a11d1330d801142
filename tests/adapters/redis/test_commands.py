"""What the Redis adapter says to the server: round trips, commands, sockets, cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from returns.result import Success

from cache_bridge import (
    CacheClosedError,
    CacheConnectionError,
    CacheError,
    RedisCache,
    SyncRedisCache,
)
from cache_bridge.testing import Harness, RedisServer
from cache_bridge.testing.contract import failure


def command_counts(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}


@pytest.fixture(params=["sync", "async"])
def harness(
    request: pytest.FixtureRequest, redis_url: str, redis_client: redis.Redis
) -> Iterator[Harness]:
    adapter = SyncRedisCache(redis_url) if request.param == "sync" else RedisCache(redis_url)
    made = Harness(adapter, request.param)
    made.ping()  # open the connection before counting
    redis_client.config_resetstat()
    yield made
    made.shutdown()


def test_get_many_is_one_mget(harness: Harness, redis_client: redis.Redis) -> None:
    assert harness.get_many([f"k{i}" for i in range(100)]).unwrap() == dict.fromkeys(
        (f"k{i}" for i in range(100)), None
    )
    counts = command_counts(redis_client)
    assert counts.pop("mget") == 1
    counts.pop("config|resetstat", None)
    counts.pop("info", None)
    assert counts == {}


def test_set_many_is_one_mset_or_one_transaction(
    harness: Harness, redis_client: redis.Redis
) -> None:
    harness.set_many({f"k{i}": "v" for i in range(100)})
    assert command_counts(redis_client)["mset"] == 1
    redis_client.config_resetstat()
    harness.set_many({f"k{i}": "v" for i in range(100)}, ttl=60)
    counts = command_counts(redis_client)
    assert (counts["multi"], counts["exec"], counts["set"]) == (1, 1, 100)


def test_delete_pattern_scans_and_unlinks_in_batches(
    harness: Harness, redis_client: redis.Redis
) -> None:
    redis_client.mset({f"bulk:{i}": "v" for i in range(2500)})
    redis_client.config_resetstat()
    assert harness.delete_pattern("bulk:*") == Success(2500)
    counts = command_counts(redis_client)
    assert counts["scan"] >= 3
    assert 3 <= counts["unlink"] <= counts["scan"]
    assert "keys" not in counts
    assert "del" not in counts


def test_empty_batches_do_no_io() -> None:
    for adapter in (SyncRedisCache("redis://127.0.0.1:1/0"), RedisCache("redis://127.0.0.1:1/0")):
        harness = Harness(adapter, "dead")
        assert harness.get_many([]) == Success({})
        assert harness.set_many({}) == Success(None)
        harness.shutdown()


def test_unix_socket_urls_reach_the_server(tmp_path: Path) -> None:
    path = tmp_path / "redis.sock"
    server = RedisServer(extra_args=["--unixsocket", str(path), "--unixsocketperm", "700"])
    server.start()
    try:
        for adapter in (SyncRedisCache(f"unix://{path}?db=1"), RedisCache(f"unix://{path}?db=1")):
            harness = Harness(adapter, "unix")
            assert harness.set("k", "v") == Success(None)
            assert harness.get("k") == Success("v")
            harness.shutdown()
        assert redis.Redis(unix_socket_path=str(path), db=1).get("k") == b"v"
    finally:
        server.cleanup()


async def test_cancellation_propagates_and_leaves_the_pool_usable(
    redis_url: str, redis_client: redis.Redis
) -> None:
    cache = RedisCache(redis_url, max_connections=1, timeout=5)
    assert await cache.set("k", "v") == Success(None)
    redis_client.client_pause(300)  # replies are held back for 300 ms
    task: asyncio.Task[object] = asyncio.create_task(cache.get_many(["k"] * 1000))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The one pooled connection had a reply pending; the next call must not read it.
    assert await cache.get("k") == Success("v")
    assert await cache.get_many(["k", "missing"]) == Success({"k": "v", "missing": None})
    await cache.aclose()


async def test_an_operation_running_at_close_does_not_reopen_the_pool(
    redis_url: str, redis_client: redis.Redis
) -> None:
    redis_client.mset({f"bulk:{i}": "v" for i in range(5000)})
    cache = RedisCache(redis_url)
    running = asyncio.create_task(cache.delete_pattern("bulk:*"))
    await asyncio.sleep(0.01)
    await cache.aclose()
    result = await running
    if not isinstance(result, Success):  # it may also have finished before the close
        # Closed between two commands, or its connection cut under a running command.
        error = failure(result, CacheError)
        assert isinstance(error, CacheConnectionError | CacheClosedError)
        assert error.operation == "delete_pattern"
    assert len(cache._clients) == 0  # no pool was made again for the running operation


def test_a_fresh_event_loop_per_call_leaves_no_connection_behind(
    redis_url: str, redis_client: redis.Redis
) -> None:
    """Frameworks that run each request in its own loop (async views under WSGI): the client
    of a loop that ended is closed with it, not left to the garbage collector."""
    name = "fresh-loop-per-call"
    cache = RedisCache(redis_url, client_name=name)
    for n in range(5):
        assert asyncio.run(cache.set(f"k{n}", "v")) == Success(None)
    mine = [c for c in redis_client.client_list() if c.get("name") == name]
    assert mine == []
    asyncio.run(cache.aclose())
