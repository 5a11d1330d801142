"""Faults of the server itself, on both faces of the Redis adapter: killed (SIGKILL) mid-traffic
and restarted on the same port, frozen (SIGSTOP), clients paused (CLIENT PAUSE) and busy
(DEBUG SLEEP). Each test goes through a pass-through FaultProxy only to count the adapter's
socket work: the faults are the server's.

For each: no exception escapes, every call returns within its timeouts plus a margin, the
breaker opens and then answers at once without touching the network (but for its probes), and
the same adapter works again once the fault is over.
"""

from __future__ import annotations

import time

import pytest
from returns.result import Failure, Success

from cache_bridge.errors import CacheConnectionError, CacheTimeoutError, CacheUnavailableError
from cache_bridge.testing.contract import failure
from cache_bridge.testing.faulty_server import FaultyRedisServer
from cache_bridge.testing.proxy import FaultProxy
from tests.faults.conftest import Connect
from tests.faults.scenario import (
    COOLDOWN,
    OPEN_BOUND,
    assert_all_bounded,
    assert_open_and_silent,
    assert_works,
    breaker,
    fail_until_open,
    later,
    run_traffic,
    timed,
    wait_for_recovery,
)

pytestmark = pytest.mark.redis


def test_killed_mid_traffic_and_restarted_on_the_same_port(
    connect: Connect, server: FaultyRedisServer, proxy: FaultProxy
) -> None:
    cache = connect(proxy.url())
    assert_works(cache)
    kill_planned = time.monotonic() + 0.3
    killer = later(0.3, server.kill)
    samples = run_traffic(cache, seconds=1.2)
    killed_at = killer.finished_at()  # the kill happened between kill_planned and this
    assert_all_bounded(samples)
    before = [s.result for s in samples if s.ended < kill_planned]
    assert before, "no call ended before the kill"
    assert all(isinstance(result, Success) for result in before), before[:3]
    after = [s.result for s in samples if s.ended > killed_at + 0.1]
    failed = [result.failure() for result in after if isinstance(result, Failure)]
    assert failed, "no call failed after the kill"
    assert all(isinstance(error, CacheConnectionError) for error in failed), failed[:3]
    assert any(isinstance(error, CacheUnavailableError) for error in failed)
    assert breaker(cache).stats().opened_total >= 1

    assert_open_and_silent(cache, proxy)
    server.start()
    wait_for_recovery(cache)
    assert_works(cache)


def test_killed_server_seen_directly_opens_the_breaker_which_spares_the_restarted_server(
    connect: Connect, server: FaultyRedisServer
) -> None:
    # No proxy: the connection is refused by the kernel, as in production. A long cool-down
    # lets the test restart the server while the breaker is still open, and the server's own
    # counters prove that the open breaker sent it nothing; then a health check closes it.
    cache = connect(server.url, breaker_cooldown=60.0)
    assert_works(cache)
    server.kill()
    fail_until_open(cache, CacheConnectionError)
    server.start()
    before = server.info_stats()
    for _ in range(50):
        result, seconds = timed(cache, "set", "k", "v")
        failure(result, CacheUnavailableError)
        assert seconds < OPEN_BOUND
    after = server.info_stats()
    assert breaker(cache).state == "open"
    # The only connection and command between the two snapshots is the snapshot's own.
    assert after["total_connections_received"] - before["total_connections_received"] == 1
    assert after["total_commands_processed"] - before["total_commands_processed"] == 1
    assert cache.ping() == Success(True)  # the health check always asks, and closes it
    assert_works(cache)


def test_a_frozen_server_times_out_then_recovers(
    connect: Connect, server: FaultyRedisServer, proxy: FaultProxy
) -> None:
    cache = connect(proxy.url())
    assert_works(cache)
    server.freeze()
    try:
        fail_until_open(cache, CacheTimeoutError)
        assert_open_and_silent(cache, proxy)
    finally:
        server.thaw()
    wait_for_recovery(cache)
    assert_works(cache)


def test_frozen_mid_traffic_with_a_small_pool(
    connect: Connect, server: FaultyRedisServer, proxy: FaultProxy
) -> None:
    # Eight workers share two connections: under the fault each call may wait for a free
    # connection, then for a reply, and must still come back within the bound; afterwards no
    # connection is left checked out.
    cache = connect(proxy.url(), max_connections=2)
    assert_works(cache)
    frozen_at = time.monotonic() + 0.3
    freezer = later(0.3, server.freeze)
    thawer = later(1.1, server.thaw)
    samples = run_traffic(cache, seconds=1.5 + COOLDOWN, workers=8)
    freezer.finished_at()
    thawer.finished_at()
    assert_all_bounded(samples)
    failed = [s.result.failure() for s in samples if isinstance(s.result, Failure)]
    assert any(isinstance(error, CacheTimeoutError) for error in failed), failed[:3]
    assert all(isinstance(error, CacheConnectionError) for error in failed), failed[:3]
    assert any(s.ended < frozen_at and isinstance(s.result, Success) for s in samples)
    wait_for_recovery(cache)
    assert_works(cache)
    # Both connections went back to the pool: eight calls at once all succeed.
    assert all(isinstance(s.result, Success) for s in run_traffic(cache, 0.3, workers=8))


def test_paused_clients_time_out_then_recover(
    connect: Connect, server: FaultyRedisServer, proxy: FaultProxy
) -> None:
    cache = connect(proxy.url())
    assert_works(cache)
    # Long enough for THRESHOLD timeouts on a loaded machine; it cannot be ended early.
    server.pause_clients(1.5)
    fail_until_open(cache, CacheTimeoutError)
    assert_open_and_silent(cache, proxy)
    wait_for_recovery(cache)
    assert_works(cache)


def test_a_busy_server_times_out_then_recovers(
    connect: Connect, server: FaultyRedisServer, proxy: FaultProxy
) -> None:
    cache = connect(proxy.url())
    assert_works(cache)
    sleeper = server.sleep(1.5)
    fail_until_open(cache, CacheTimeoutError)
    assert_open_and_silent(cache, proxy)
    sleeper.join(10)
    wait_for_recovery(cache)
    assert_works(cache)


def test_ping_always_asks_the_server_and_closes_the_breaker(
    connect: Connect, server: FaultyRedisServer, proxy: FaultProxy
) -> None:
    cache = connect(proxy.url(), breaker_cooldown=30.0)
    assert_works(cache)
    server.freeze()
    try:
        fail_until_open(cache, CacheTimeoutError)
        before = proxy.traffic()
        result, _ = timed(cache, "ping")
        failure(result, CacheTimeoutError)  # it went to the (frozen) server
        assert proxy.traffic() != before
        assert breaker(cache).state == "open"
    finally:
        server.thaw()
    # Long before the 30 s cool-down ends, a successful health check closes the breaker.
    assert cache.ping() == Success(True)
    assert breaker(cache).state == "closed"
    assert_works(cache)


def test_a_write_that_timed_out_may_still_be_applied(
    connect: Connect, server: FaultyRedisServer
) -> None:
    # A timeout means "no answer in time", not "not written": the command waits in the frozen
    # server's socket buffer and runs when the server resumes. Counters are only exact over
    # Successes made while no call timed out (the soak test checks exactly that).
    cache = connect(server.url, breaker_threshold=0)
    assert cache.set("k", "before") == Success(None)
    server.freeze()
    try:
        failure(cache.set("k", "during"), CacheTimeoutError)
    finally:
        server.thaw()
    for _ in range(100):  # bounded: the server runs the queued SET as soon as it resumes
        if cache.get("k") == Success("during"):
            break
        time.sleep(0.01)
    assert cache.get("k") == Success("during")
