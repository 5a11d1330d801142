"""The circuit breaker: its state machine on a controlled clock, and in front of the Redis
adapter (both faces) against a real server that is stopped and started again."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from returns.result import Success

from cache_bridge import CacheConnectionError, CacheUnavailableError, ConfigurationError
from cache_bridge.adapters.memory import SyncInMemoryCache
from cache_bridge.adapters.redis import RedisCache, SyncRedisCache
from cache_bridge.errors import CacheInvalidArgumentError, CacheServerError
from cache_bridge.resilience.breaker import MAX_SPACING, MIN_SPACING, CircuitBreaker
from cache_bridge.testing import Harness, RedisServer
from cache_bridge.testing.contract import failure
from tests.support.clocks import ManualClock

PASSWORD = "s3cret-Pa55word"


class Clock(ManualClock):
    start = 100.0


def state(breaker: CircuitBreaker) -> str:
    """The state, read afresh (mypy would otherwise narrow it across calls)."""
    return breaker.state


def breaker_of(harness: Harness) -> CircuitBreaker:
    breaker = getattr(harness.adapter, "breaker", None)
    assert isinstance(breaker, CircuitBreaker)
    return breaker


# -- the state machine -------------------------------------------------------------------------


def test_the_first_failure_opens_it_and_the_first_probe_is_due_at_once() -> None:
    breaker = CircuitBreaker(threshold=3, cooldown=2.0, clock=Clock())
    assert breaker.allow()
    assert breaker.next_probe_in() is None  # closed: nothing to probe
    assert breaker.failed()
    assert state(breaker) == "open"
    assert [breaker.allow() for _ in range(4)] == [False] * 4
    stats = breaker.stats()
    assert (stats.consecutive_failures, stats.opened_total, stats.rejected_total) == (1, 1, 4)
    assert breaker.next_probe_in() == 0.0
    assert stats.retry_in == 0.0


def test_failed_probes_come_spaced_then_once_per_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=3, cooldown=1.5, clock=clock)
    assert breaker.spacing == pytest.approx(0.5)
    breaker.failed()
    ticket = breaker.start_probe()
    assert ticket is not None
    assert breaker.start_probe() is None  # one probe at a time
    assert not breaker.probe_failed(ticket)  # two in a row
    assert breaker.next_probe_in() == pytest.approx(0.5)
    assert breaker.start_probe() is None  # not due yet
    clock.now += 0.5
    ticket = breaker.start_probe()
    assert ticket is not None
    assert breaker.probe_failed(ticket)  # three in a row: once per cool-down from now on
    assert breaker.next_probe_in() == pytest.approx(1.5)
    stats = breaker.stats()
    assert (stats.consecutive_failures, stats.probes_total, stats.opened_total) == (3, 2, 1)
    clock.now += 1.5
    ticket = breaker.start_probe()
    assert ticket is not None
    assert not breaker.probe_failed(ticket)  # said once, when the threshold was reached
    assert breaker.next_probe_in() == pytest.approx(1.5)
    assert state(breaker) == "open"


def test_an_answer_closes_it_at_once_and_a_late_probe_failure_is_ignored() -> None:
    breaker = CircuitBreaker(threshold=3, clock=Clock())
    breaker.failed()
    ticket = breaker.start_probe()
    assert ticket is not None
    assert breaker.succeeded()  # a call (or ping) got an answer meanwhile
    assert state(breaker) == "closed"
    assert not breaker.probe_failed(ticket)  # the probe's stale news
    assert state(breaker) == "closed"
    assert breaker.allow()
    assert not breaker.succeeded()  # closed already


def test_calls_that_fail_while_it_is_open_count_only_in_the_total() -> None:
    breaker = CircuitBreaker(threshold=3, clock=Clock())
    assert breaker.failed()
    # Calls let through before it opened, failing after: the same outage.
    assert not breaker.failed()
    assert not breaker.failed()
    stats = breaker.stats()
    assert (stats.consecutive_failures, stats.failures_total, stats.opened_total) == (1, 3, 1)


def test_with_a_threshold_of_one_the_first_probe_waits_for_the_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=1, cooldown=1.0, clock=clock)
    breaker.failed()
    assert breaker.next_probe_in() == pytest.approx(1.0)
    assert breaker.start_probe() is None
    clock.now += 1.0
    assert breaker.start_probe() is not None


def test_a_lost_probe_is_replaced_after_the_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=3, cooldown=1.0, clock=clock)
    breaker.failed()
    assert breaker.start_probe() is not None  # its thread is lost (a fork), no result ever
    assert breaker.start_probe() is None
    clock.now += 1.0
    assert breaker.start_probe() is not None


@pytest.mark.parametrize(
    ("threshold", "cooldown", "spacing"),
    [(5, 2.0, 0.4), (1000, 0.5, MIN_SPACING), (3, 60.0, MAX_SPACING)],
)
def test_the_spacing_of_early_probes_is_bounded(
    threshold: int, cooldown: float, spacing: float
) -> None:
    assert CircuitBreaker(threshold, cooldown).spacing == pytest.approx(spacing)


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


def _wait_for(harness: Harness, what: Callable[[CircuitBreaker], bool], within: float) -> None:
    breaker = breaker_of(harness)
    deadline = time.monotonic() + within
    while not what(breaker):
        assert time.monotonic() < deadline, f"waited {within}s: {breaker.stats()}"
        time.sleep(0.01)


def _cooling(breaker: CircuitBreaker) -> bool:
    return breaker.stats().consecutive_failures >= breaker.threshold


def test_an_outage_opens_the_breaker_and_a_restart_closes_it(
    harness: Harness, server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    breaker = breaker_of(harness)
    assert harness.set("k", "v") == Success(None)

    server.stop()
    error = failure(harness.get("k"), CacheConnectionError)
    assert not isinstance(error, CacheUnavailableError)  # the call that met the outage
    assert state(breaker) == "open"
    # While open: at once, with the operation and key named, and counted.
    for _ in range(20):
        error = failure(harness.get("k"), CacheUnavailableError)
        assert (error.operation, error.key) == ("get", "k")
        assert "circuit breaker is open" in str(error)
    assert breaker.stats().rejected_total == 20
    # The probes fail in the background, then come once per cool-down.
    _wait_for(harness, _cooling, within=5.0)
    assert breaker.stats().probes_total >= 2

    server.start()
    # A probe finds the server answering and closes the breaker: no call had to.
    _wait_for(harness, lambda b: state(b) == "closed", within=5.0)
    assert breaker.stats().rejected_total == 20
    assert harness.set("k", "back") == Success(None)
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


async def test_a_cancelled_call_tells_the_breaker_nothing() -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        cache = RedisCache(url, timeout=0.5, connect_timeout=0.5)
        breaker = cache.breaker
        assert breaker is not None
        try:
            call = asyncio.create_task(cache.get("k"))
            await asyncio.sleep(0.05)
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            stats = breaker.stats()
            assert (stats.state, stats.failures_total) == ("closed", 0)
        finally:
            await cache.aclose()


def _probe_threads(url: str = "") -> list[threading.Thread]:
    """The probe threads running now (of the server at ``url`` only, if given: other tests'
    adapters may still probe theirs)."""
    name = f"cache_bridge probe {url}"
    return [t for t in threading.enumerate() if t.name.startswith(name)]


def test_the_probe_thread_runs_only_while_needed(dead_url: str) -> None:
    cache = SyncRedisCache(dead_url, breaker_threshold=1, breaker_cooldown=0.1)
    guard: Any = cache.guard  # the thread's owner, to shorten its idle stop for the test
    guard.idle_stop = 0.3
    try:
        assert not _probe_threads(dead_url)
        failure(cache.get("k"), CacheConnectionError)
        assert len(_probe_threads(dead_url)) == 1
        # Nobody calls: the thread stops (the breaker stays open)...
        deadline = time.monotonic() + 5
        while _probe_threads(dead_url):
            assert time.monotonic() < deadline, "the probe thread did not stop when idle"
            time.sleep(0.02)
        # ...and the next call goes to the server as the probe, and starts it again.
        error = failure(cache.get("k"), CacheConnectionError)
        assert not isinstance(error, CacheUnavailableError)
        assert len(_probe_threads(dead_url)) == 1
        failure(cache.get("k"), CacheUnavailableError)  # the calls after it are refused
    finally:
        cache.close()
    # Closing the last adapter of the configuration stops it too.
    deadline = time.monotonic() + 5
    while _probe_threads(dead_url):
        assert time.monotonic() < deadline, "the probe thread outlived its adapters"
        time.sleep(0.02)


@pytest.fixture
def dead_url() -> Iterator[str]:
    with socket.socket() as holder:  # bound, never listening: connections are refused
        holder.bind(("127.0.0.1", 0))
        yield f"redis://127.0.0.1:{holder.getsockname()[1]}/0"


# The forked child finds the parent's adapter here (it is inherited, not pickled).
_forked: dict[str, SyncRedisCache] = {}


def _child_probes(_: int) -> tuple[str, int, int]:
    """In a forked child: a call (refused at once), then how many probe threads run here and
    how many probes the child's copy of the breaker made within 3 s."""
    cache = _forked["cache"]
    breaker = cache.breaker
    assert breaker is not None
    before = breaker.stats().probes_total
    refused = type(cache.get("k").failure()).__name__
    deadline = time.monotonic() + 3
    while breaker.stats().probes_total == before and time.monotonic() < deadline:
        time.sleep(0.02)
    threads = len(_probe_threads(cache.settings.masked_url()))
    return refused, threads, breaker.stats().probes_total - before


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_probes_on_its_own() -> None:
    with socket.socket() as silent:  # accepts connections, never answers: probes take 0.6 s
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        options = {"timeout": 0.3, "connect_timeout": 0.3, "breaker_cooldown": 30.0}
        cache = _forked["cache"] = SyncRedisCache(url, **options)
        try:
            failure(cache.get("k"), CacheConnectionError)
            time.sleep(0.1)  # the parent's probe is in flight: the child has no thread for it
            with multiprocessing.get_context("fork").Pool(1) as pool:
                (got,) = pool.map(_child_probes, [0])
            assert got[0] == "CacheUnavailableError"
            assert got[1] == 1  # the child's own probe thread
            assert got[2] >= 1  # which probed (the parent's lost probe did not wedge it)
        finally:
            cache.close()
            _forked.clear()
