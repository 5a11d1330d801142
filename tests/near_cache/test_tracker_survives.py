"""The invalidation thread outlives whatever the server or other clients send it: a key that is
not UTF-8 (BCAST pushes every client's keys), a malformed message on the invalidation channel,
a server that refuses ``CLIENT TRACKING``. It never dies silently and never spins."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import redis
from returns.result import Success

from cache_bridge import SyncRedisCache
from cache_bridge.testing import RedisServer


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.005)


def _tracking_threads() -> int:
    return sum(thread.name == "near-cache-tracking" for thread in threading.enumerate())


def _served_locally(cache: SyncRedisCache, key: str, value: str) -> bool:
    """Whether a read of ``key`` gave ``value`` from process memory."""
    near = cache.near_cache
    assert near is not None
    before = near.stats()["hits"]
    return cache.get(key) == Success(value) and near.stats()["hits"] > before


@pytest.fixture
def near(redis_client: redis.Redis, redis_url: str) -> Iterator[SyncRedisCache]:
    cache = SyncRedisCache(redis_url, near_cache=True)
    assert cache.near_cache is not None
    _until(lambda: cache.near_cache is not None and cache.near_cache.ready, "tracking")
    yield cache
    cache.close()


def test_another_clients_key_that_is_not_utf8_does_not_stop_invalidation(
    near: SyncRedisCache, redis_client: redis.Redis
) -> None:
    key = "clé-ü"  # an own key that is not ASCII: its pushes still map to it exactly
    near.set(key, "old")
    _until(lambda: _served_locally(near, key, "old"), "cached")
    redis_client.set(b"\xff\xfebinary-key", b"x")  # any client, any key: BCAST pushes it
    redis_client.set(key, "new")
    _until(lambda: near.get(key) == Success("new"), "the push of the own key applied")
    _until(lambda: _served_locally(near, key, "new"), "served locally again")
    assert _tracking_threads() == 1


def test_a_malformed_push_empties_the_near_cache_is_logged_and_tracking_resumes(
    near: SyncRedisCache, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="cache_bridge")
    nc = near.near_cache
    assert nc is not None
    near.set("k", "v")
    _until(lambda: _served_locally(near, "k", "v"), "cached")
    resets = nc.stats()["resets"]
    # Anyone may publish on the invalidation channel: not a list of keys
    redis_client.publish("__redis__:invalidate", "not a list of keys")
    _until(lambda: nc.stats()["resets"] > resets, "the near cache emptied")
    _until(lambda: any("near cache" in r.getMessage() for r in caplog.records), "a log line")
    line = next(r.getMessage() for r in caplog.records if "near cache" in r.getMessage())
    assert "the near cache of redis://" in line
    assert "not a list of keys on __redis__:invalidate: b'not a list of keys'" in line
    assert "the near cache is emptied and tracks again" in line
    _until(lambda: _served_locally(near, "k", "v"), "tracking again, served locally")
    redis_client.set("k", "changed")
    _until(lambda: near.get("k") == Success("changed"), "invalidated after the resume")
    assert _tracking_threads() == 1


@pytest.fixture
def acl_server() -> Iterator[RedisServer]:
    server = RedisServer()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


def test_a_refused_client_tracking_is_warned_once_and_retried_with_backoff(
    acl_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="cache_bridge")
    admin = redis.Redis(port=acl_server.port)
    admin.execute_command(  # type: ignore[no-untyped-call]
        "ACL", "SETUSER", "app", "on", ">pw", "~*", "&*", "+@all", "-client|tracking"
    )
    cache = SyncRedisCache(f"redis://app:pw@127.0.0.1:{acl_server.port}/0", near_cache=True)
    try:
        assert cache.set("k", "v", 60) == Success(None)  # data operations keep working
        assert cache.get("k") == Success("v")

        def warnings() -> list[str]:
            return [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]

        _until(lambda: bool(warnings()), "a warning")
        before = int(admin.info("stats")["total_connections_received"])
        time.sleep(1.0)  # a window to count reconnections in (not a speed assertion)
        opened = int(admin.info("stats")["total_connections_received"]) - before
        # without backoff: ~19 a second; with it at most 5 in any second, then one per 5 s
        assert opened <= 5, opened
        assert len(warnings()) == 1, warnings()
        (warning,) = warnings()
        assert "CLIENT TRACKING" in warning
        assert "client|tracking" in warning
        assert "near_cache off" in warning
        assert cache.near_cache is not None
        assert not cache.near_cache.ready
        assert cache.get("k") == Success("v")
    finally:
        cache.close()
        admin.close()
