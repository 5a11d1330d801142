"""The circuit breaker: its state machine on a controlled clock, and in front of the Redis
adapter (both faces) against a real server that is stopped and started again."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from returns.result import Success

from cache_bridge import CacheConnectionError, CacheUnavailableError, ConfigurationError
from cache_bridge.adapters.memory import SyncInMemoryCache
from cache_bridge.adapters.redis import RedisCache, SyncRedisCache
from cache_bridge.breaker import CircuitBreaker
from cache_bridge.errors import CacheInvalidArgumentError, CacheServerError
from cache_bridge.testing import Harness, RedisServer
from cache_bridge.testing.contract import failure

PASSWORD = "s3cret-Pa55word"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def state(breaker: CircuitBreaker) -> str:
    """The state, read afresh (mypy would otherwise narrow it across calls)."""
    return breaker.state


def breaker_of(harness: Harness) -> CircuitBreaker:
    breaker = getattr(harness.adapter, "breaker", None)
    assert isinstance(breaker, CircuitBreaker)
    return breaker


# -- the state machine -------------------------------------------------------------------------


def test_it_opens_after_the_threshold_and_rejects_until_the_cooldown_ends() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=3, cooldown=2.0, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        assert not breaker.failed()
    assert state(breaker) == "closed"
    assert breaker.allow()
    assert breaker.failed()  # the third failure in a row opens it
    assert state(breaker) == "open"
    assert [breaker.allow() for _ in range(4)] == [False] * 4
    stats = breaker.stats()
    assert (stats.consecutive_failures, stats.opened_total, stats.rejected_total) == (3, 1, 4)
    assert stats.retry_in == pytest.approx(2.0)
    clock.now += 1.5
    assert not breaker.allow()
    assert breaker.stats().retry_in == pytest.approx(0.5)


def test_a_success_in_between_resets_the_count() -> None:
    breaker = CircuitBreaker(threshold=3, clock=Clock())
    for _ in range(10):
        breaker.failed()
        breaker.failed()
        assert not breaker.succeeded()  # it was closed already
    assert state(breaker) == "closed"
    assert breaker.stats().failures_total == 20


def test_half_open_lets_exactly_one_probe_through() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=1, cooldown=1.0, clock=clock)
    breaker.failed()
    clock.now += 1.0
    assert state(breaker) == "half-open"
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # everyone else still fails fast
    assert breaker.succeeded()  # the probe's success closes it
    assert state(breaker) == "closed"
    assert breaker.allow()
    assert breaker.allow()


def test_a_failed_probe_opens_it_for_another_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=2, cooldown=1.0, clock=clock)
    breaker.failed()
    breaker.failed()
    clock.now += 1.0
    assert breaker.allow()
    assert breaker.failed()  # one failure in half-open is enough
    assert state(breaker) == "open"
    assert breaker.stats().opened_total == 2
    clock.now += 0.99
    assert not breaker.allow()
    clock.now += 0.01
    assert breaker.allow()


def test_a_probe_that_ends_without_news_frees_the_slot() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=1, cooldown=1.0, clock=clock)
    breaker.failed()
    clock.now += 1.0
    assert breaker.allow()
    breaker.released()  # cancelled, or failed validation
    assert state(breaker) == "half-open"
    assert breaker.allow()


def test_force_goes_through_an_open_breaker() -> None:
    breaker = CircuitBreaker(threshold=1, clock=Clock())
    breaker.failed()
    assert not breaker.allow()
    assert breaker.allow(force=True)
    assert breaker.succeeded()
    assert state(breaker) == "closed"


@pytest.mark.parametrize(("threshold", "cooldown"), [(0, 1.0), (1, 0.0), (1, -1.0)])
def test_nonsense_settings_are_refused(threshold: int, cooldown: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        CircuitBreaker(threshold, cooldown)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"breaker_threshold": -1}, "breaker_threshold must be 0 or more"),
        ({"breaker_cooldown": 0}, "breaker_cooldown must be more than 0"),
        ({"breaker_cooldown": "soon"}, "breaker_cooldown must be a number of seconds"),
        ({"breaker_treshold": 3}, "Did you mean 'breaker_threshold'"),
    ],
)
def test_bad_breaker_options_fail_at_construction(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        SyncRedisCache("redis://127.0.0.1:1/0", **options)


def test_options_reach_the_breaker_and_zero_turns_it_off() -> None:
    with SyncRedisCache("redis://127.0.0.1:1/0?breaker_threshold=7&breaker_cooldown=0.5") as cache:
        assert cache.breaker is not None
        assert (cache.breaker.threshold, cache.breaker.cooldown) == (7, 0.5)
        assert cache.with_prefix("x").breaker is cache.breaker  # one server, one breaker
    with SyncRedisCache("redis://127.0.0.1:1/0", breaker_threshold=0) as cache:
        assert cache.breaker is None
    with SyncInMemoryCache() as memory:
        assert memory.breaker is None


# -- in front of a real server ------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[RedisServer]:
    server = RedisServer(extra_args=["--requirepass", PASSWORD])
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture(params=["sync", "async"])
def harness(request: pytest.FixtureRequest, server: RedisServer) -> Iterator[Harness]:
    url = f"redis://:{PASSWORD}@127.0.0.1:{server.port}/0"
    options: dict[str, Any] = {"timeout": 0.5, "connect_timeout": 0.5}
    options.update(breaker_threshold=3, breaker_cooldown=0.3)
    adapter = (
        SyncRedisCache(url, **options) if request.param == "sync" else RedisCache(url, **options)
    )
    harness = Harness(adapter, str(request.param))
    yield harness
    harness.shutdown()


def _wait_for_half_open(harness: Harness) -> None:
    breaker = breaker_of(harness)
    for _ in range(100):  # at most 2 s; the cool-down is 0.3 s
        if state(breaker) == "half-open":
            return
        time.sleep(0.02)
    raise AssertionError(f"the breaker stayed {breaker.state}")


def test_an_outage_opens_the_breaker_and_a_restart_closes_it(
    harness: Harness, server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    breaker = breaker_of(harness)
    assert harness.set("k", "v") == Success(None)

    server.stop()
    for _ in range(3):
        error = failure(harness.get("k"), CacheConnectionError)
        assert not isinstance(error, CacheUnavailableError)
    assert state(breaker) == "open"
    # While open: at once, with the operation and key named, and counted.
    for _ in range(20):
        error = failure(harness.get("k"), CacheUnavailableError)
        assert (error.operation, error.key) == ("get", "k")
        assert "circuit breaker is open" in str(error)
    assert breaker.stats().rejected_total == 20

    # A probe after the cool-down fails (still down) and opens it again.
    _wait_for_half_open(harness)
    failure(harness.get("k"), CacheConnectionError)
    assert state(breaker) == "open"
    assert breaker.stats().opened_total == 2

    server.start()
    _wait_for_half_open(harness)
    assert harness.set("k", "back") == Success(None)  # the probe closes it
    assert state(breaker) == "closed"
    assert harness.get("k") == Success("back")

    text = caplog.text
    assert PASSWORD not in text
    assert "circuit open" in text
    assert "circuit closed" in text
    # One burst of failures, one line for it (and the open/close lines), not one per call.
    failure_lines = [r for r in caplog.records if "failed:" in r.getMessage()]
    assert len(failure_lines) == 1


def test_ping_reaches_the_server_through_an_open_breaker(
    harness: Harness, server: RedisServer
) -> None:
    breaker = breaker_of(harness)
    server.stop()
    for _ in range(3):
        harness.get("k")
    assert state(breaker) == "open"
    failure(harness.ping(), CacheConnectionError)  # a real attempt, not a rejection
    assert not isinstance(failure(harness.ping(), CacheConnectionError), CacheUnavailableError)
    server.start()
    assert harness.ping() == Success(True)
    assert state(breaker) == "closed"


def test_server_errors_and_bad_arguments_do_not_open_it(
    harness: Harness, server: RedisServer
) -> None:
    breaker = breaker_of(harness)
    admin = redis.Redis(port=server.port, password=PASSWORD)
    admin.config_set("maxmemory", "1")  # every write is refused with OOM
    try:
        for _ in range(5):
            failure(harness.set("k", "v"), CacheServerError)
            failure(harness.get(""), CacheInvalidArgumentError)
    finally:
        admin.config_set("maxmemory", "0")
        admin.close()
    assert state(breaker) == "closed"
    assert breaker.stats().failures_total == 0


async def test_a_cancelled_probe_does_not_wedge_the_breaker() -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        cache = RedisCache(url, timeout=0.2, breaker_threshold=1, breaker_cooldown=0.05)
        breaker = cache.breaker
        assert breaker is not None
        try:
            failure(await cache.get("k"), CacheConnectionError)
            assert state(breaker) == "open"
            await asyncio.sleep(0.06)
            probe = asyncio.create_task(cache.get("k"))
            await asyncio.sleep(0.02)
            assert state(breaker) == "half-open"
            probe.cancel()
            with pytest.raises(asyncio.CancelledError):
                await probe
            # The slot is free again: the next call is a probe, not a rejection.
            error = failure(await cache.get("k"), CacheConnectionError)
            assert not isinstance(error, CacheUnavailableError)
        finally:
            await cache.aclose()
