"""A circuit breaker per Redis Cluster node (issue 12 review, item 12b): one frozen primary
makes only the calls that need it fail fast, while the other primaries keep serving their
slots. Before the fix the adapter had one breaker for the whole cluster: the first timeout
of the frozen primary opened it, and every call to every node was refused (p_cluster: 0
successes of 987,180 calls in 4 s)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
from returns.result import Success

from cache_bridge.adapters.redis_cluster import RedisClusterCache, SyncRedisClusterCache
from cache_bridge.adapters.redis_cluster.routing import slot_of
from cache_bridge.errors import CacheConnectionError, CacheTimeoutError, CacheUnavailableError
from cache_bridge.testing import Harness
from cache_bridge.testing.contract import failure
from cache_bridge.testing.redis_cluster import LocalCluster
from cache_bridge.testing.redis_server import RedisServer
from tests.support.scaled_servers import need_redis_server

#: Short bounds, so the frozen primary's first call fails soon; the default breaker.
OPTIONS = {"timeout": 0.3, "connect_timeout": 0.3}
KEYS = [f"k{i}" for i in range(60)]
#: Generous bound for the frozen primary's keys to be served again once it runs again
#: (its probe runs every breaker_cooldown, 2 s, at most).
RECOVERY_BOUND = 15.0


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    """Three primaries, no replicas, and a node timeout long enough that a frozen primary
    keeps its slots for the whole test (no failover)."""
    need_redis_server()
    with LocalCluster(primaries=3, node_timeout_ms=60_000) as cluster:
        yield cluster


def _signal(server: RedisServer, number: int) -> None:
    process: Any = server._process
    os.kill(process.pid, number)


@pytest.fixture(params=["sync", "async"])
def harness(request: pytest.FixtureRequest, cluster: LocalCluster) -> Iterator[Harness]:
    cls = SyncRedisClusterCache if request.param == "sync" else RedisClusterCache
    harness = Harness(cls(cluster.url, **OPTIONS), request.param)
    try:
        yield harness
    finally:
        harness.shutdown()


def test_a_frozen_primary_fails_fast_only_for_its_own_slots(
    cluster: LocalCluster, harness: Harness
) -> None:
    for key in KEYS:
        assert harness.set(key, "v") == Success(None)
    victim = cluster.primary_of_slot(slot_of(KEYS[0]))
    frozen = [key for key in KEYS if cluster.primary_of_slot(slot_of(key)) is victim]
    serving = [key for key in KEYS if key not in frozen]
    assert frozen
    assert serving
    _signal(victim, signal.SIGSTOP)
    try:
        timeouts = refused = rounds = 0
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            rounds += 1
            for key in serving:
                assert harness.get(key) == Success("v"), key
            for key in frozen:
                error = failure(harness.get(key), CacheConnectionError)
                timeouts += isinstance(error, CacheTimeoutError)
                refused += isinstance(error, CacheUnavailableError)
        # The frozen primary cost one timeout (its breaker opened), then its calls failed
        # at once; the cluster's own breaker stayed closed.
        assert timeouts == 1, (timeouts, refused, rounds)
        assert refused == rounds * len(frozen) - 1
        adapter: Any = harness.adapter
        breaker = adapter.breaker
        assert breaker is not None
        assert breaker.state == "closed"
        # A batch that needs the frozen primary fails at once; one that does not succeeds.
        failure(harness.get_many(KEYS), CacheUnavailableError)
        assert harness.get_many(serving) == Success(dict.fromkeys(serving, "v"))
    finally:
        _signal(victim, signal.SIGCONT)
    # Running again: its probe closes its breaker, and its keys are served again.
    deadline = time.monotonic() + RECOVERY_BOUND
    while harness.get(frozen[0]) != Success("v"):
        assert time.monotonic() < deadline, "the primary's keys were not served again"
        time.sleep(0.05)
    assert harness.get_many(KEYS) == Success(dict.fromkeys(KEYS, "v"))
