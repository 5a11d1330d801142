"""The Redis Sentinel adapter on a test-started set-up (one primary, one replica, three
sentinels, passwords on both): the shipped contract on both faces, and a failover after which
the same adapter object works against the new primary."""

from __future__ import annotations

import asyncio
import functools
import gc
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from returns.result import Result, Success

from cache_bridge.adapters.redis_sentinel import RedisSentinelCache, SyncRedisSentinelCache
from cache_bridge.engine.bytes_operations import touch
from cache_bridge.engine.keys import KeySpace
from cache_bridge.testing import Harness, Harnesses, find_redis_server
from cache_bridge.testing.contract import CacheContract
from cache_bridge.testing.redis_sentinel import LocalSentinel, SentinelProcess
from cache_bridge.testing.redis_server import RedisServer, cleanup_all, masked_args
from tests.support.scaled_servers import DATA_PASSWORD, SENTINEL_PASSWORD, need_redis_server

MakeCache = Callable[..., Harness]


@pytest.fixture(params=["sentinel-sync", "sentinel-async"])
def face(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_cache(face: str, sentinel_url: str) -> Iterator[MakeCache]:
    cls = SyncRedisSentinelCache if face == "sentinel-sync" else RedisSentinelCache
    with Harnesses(functools.partial(cls, sentinel_url), face) as make:
        yield make


@pytest.fixture
def cache(make_cache: MakeCache) -> Harness:
    return make_cache()


class TestSentinelContract(CacheContract):
    pass


def test_scripts_go_by_digest_with_the_script_after_noscript(
    cache: Harness, sentinel_servers: LocalSentinel
) -> None:
    port = sentinel_servers.primary_port()
    primary = sentinel_servers.primary
    server = primary if port == primary.port else sentinel_servers.replica
    with sentinel_servers.client(server) as admin:
        admin.script_flush()
        admin.config_resetstat()
        for _ in range(3):
            assert cache.run_operation(touch(KeySpace("s"), "k", 1000)) == Success(False)
        stats = admin.info("commandstats")
    calls = {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}
    # The first EVALSHA is refused (NOSCRIPT), its EVAL loads the script, the rest go by digest.
    assert (calls.get("eval"), calls.get("evalsha")) == (1, 3)


# -- failover ----------------------------------------------------------------------------

#: Generous upper bound for the sentinels to promote the replica and the adapter to follow
#: (down-after-milliseconds 1000, failover-timeout 3000); the measured time is printed.
RECOVERY_BOUND = 30.0

#: Short timeouts, so calls to the dead primary fail fast.
SHORT = {"connect_timeout": 0.5, "timeout": 0.5}


@pytest.fixture
def own_sentinel() -> Iterator[LocalSentinel]:
    """A set-up of this test's own (it kills the primary)."""
    need_redis_server()
    with LocalSentinel(password=DATA_PASSWORD, sentinel_password=SENTINEL_PASSWORD) as setup:
        yield setup


def test_the_same_adapter_follows_a_failover(own_sentinel: LocalSentinel) -> None:
    url = own_sentinel.url(db=0)
    options: dict[str, Any] = {"sentinel_password": SENTINEL_PASSWORD, **SHORT}
    adapters = [  # both faces, with the default circuit breaker and without one
        Harness(SyncRedisSentinelCache(url, **options), "sync"),
        Harness(RedisSentinelCache(url, **options), "async"),
        Harness(SyncRedisSentinelCache(url, breaker_threshold=0, **options), "sync, no breaker"),
        Harness(RedisSentinelCache(url, breaker_threshold=0, **options), "async, no breaker"),
    ]
    try:
        for harness in adapters:
            assert harness.set(f"before:{harness.name}", "kept") == Success(None)
        old_port = own_sentinel.primary_port()
        with own_sentinel.client(own_sentinel.primary) as admin:
            assert admin.execute_command("WAIT", 1, 5000) == 1  # the replica has every write

        own_sentinel.primary.stop()
        killed_at = time.monotonic()
        pending = {harness.name: harness for harness in adapters}
        recovered: dict[str, float] = {}
        failures = 0
        while pending and time.monotonic() - killed_at < RECOVERY_BOUND:
            for name, harness in list(pending.items()):
                result = harness.set(f"after:{name}", "written")
                assert isinstance(result, Result)  # never raises, always a Result
                if isinstance(result, Success):
                    recovered[name] = time.monotonic() - killed_at
                    del pending[name]
                else:
                    failures += 1
            time.sleep(0.05)
        assert not pending, f"{sorted(pending)} did not recover within {RECOVERY_BOUND}s"
        print(
            "\nsentinel: primary killed; the same adapters wrote again after "
            + ", ".join(f"{name} {seconds:.2f}s" for name, seconds in recovered.items())
            + f" ({failures} failed calls meanwhile)"
        )

        assert own_sentinel.primary_port() == own_sentinel.replica.port != old_port
        with own_sentinel.client(own_sentinel.replica) as promoted:
            assert promoted.info("replication")["role"] == "master"
            assert promoted.get("after:sync") == b"written"
        written = {f"after:{harness.name}": "written" for harness in adapters}
        for harness in adapters:
            assert harness.get(f"before:{harness.name}") == Success("kept")
            assert harness.get_many(list(written)) == Success(written)
    finally:
        for harness in adapters:
            harness.shutdown()


async def test_async_calls_beyond_the_pool_wait_for_a_connection(sentinel_url: str) -> None:
    cache = RedisSentinelCache(sentinel_url, max_connections=4)
    try:
        results = await asyncio.gather(*(cache.increment(f"n:{i % 20}") for i in range(200)))
        assert all(isinstance(result, Success) for result in results)
        counts = await cache.get_many([f"n:{i}" for i in range(20)])
        assert counts == Success({f"n:{i}": "10" for i in range(20)})
    finally:
        await cache.aclose()


# -- closing releases the connections to the sentinels too ------------------------------------


def _named_connections(setup: LocalSentinel, name: str) -> int:
    """Connections named ``name`` on the sentinels (their peers connect to them too)."""
    total = 0
    for sentinel in setup.sentinels:
        with redis.Redis(
            host="127.0.0.1", port=sentinel.port, password=SENTINEL_PASSWORD, socket_timeout=5
        ) as client:
            total += sum(1 for entry in client.client_list() if entry.get("name") == name)
    return total


def test_closing_an_adapter_closes_its_connections_to_the_sentinels(
    sentinel_url: str, sentinel_servers: LocalSentinel
) -> None:
    name = "closing-test"
    opened = SyncRedisSentinelCache(sentinel_url, client_name=name)
    assert opened.set("k", "v") == Success(None)
    assert _named_connections(sentinel_servers, name) >= 1  # the count sees them
    opened.close()
    for _ in range(4):
        cache = SyncRedisSentinelCache(sentinel_url, client_name=name)
        assert cache.set("k", "v") == Success(None)
        cache.close()

    async def async_adapters() -> None:
        for _ in range(5):
            cache = RedisSentinelCache(sentinel_url, client_name=name)
            assert await cache.set("k", "v") == Success(None)
            await cache.aclose()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(async_adapters())
        # A loop per call, never closing the adapter: the loop's end closes its client.
        per_loop = RedisSentinelCache(sentinel_url, client_name=name)
        for _ in range(3):
            assert asyncio.run(per_loop.set("k", "v")) == Success(None)
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
    deadline = time.monotonic() + 5
    while _named_connections(sentinel_servers, name) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _named_connections(sentinel_servers, name) == 0


# -- the test helpers ------------------------------------------------------------------------


def test_helpers_make_their_directories_on_start_and_remove_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need_redis_server()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    server = RedisServer()
    sentinel = SentinelProcess(str(find_redis_server()), [])
    assert list(tmp_path.iterdir()) == []  # built, never started: nothing to leak
    server.start()
    sentinel.start()
    assert len(list(tmp_path.iterdir())) == 2
    cleanup_all([sentinel, server])
    assert list(tmp_path.iterdir()) == []
    assert not server.running
    assert not sentinel.running


class _Breaks:
    def __init__(self, server: RedisServer | None = None) -> None:
        self.server = server

    def cleanup(self) -> None:
        raise RuntimeError("this one cannot stop")


def test_cleanup_stops_every_process_even_if_one_fails() -> None:
    need_redis_server()
    first, last = RedisServer(), RedisServer()
    first.start()
    last.start()
    with pytest.raises(RuntimeError, match="cannot stop"):
        cleanup_all([first, _Breaks(), last])
    assert not first.running
    assert not last.running


def test_a_server_that_fails_to_start_does_not_show_its_password() -> None:
    need_redis_server()
    server = RedisServer(extra_args=["--requirepass", "hunter2-s3cret", "--no-such-option", "x"])
    try:
        with pytest.raises(RuntimeError) as raised:
            server.start()
    finally:
        server.cleanup()
    assert "hunter2-s3cret" not in str(raised.value)
    assert "'--requirepass', '***'" in str(raised.value)
    assert masked_args(["--masterauth", "pw", "--port", "1"]) == [
        "--masterauth",
        "***",
        "--port",
        "1",
    ]
