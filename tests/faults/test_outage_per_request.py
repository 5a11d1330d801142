"""What an outage costs a request, and what one slow reply from a healthy server costs.

The blocking and async faces of one configuration share one circuit breaker (a Django alias's
two, a Flask app's two): the first call that meets the outage waits its bound, and every call
after it, on either face, fails at once while a background probe asks the server. So a
request waits at most one ``connect_timeout + timeout`` per process per outage, however many
cache calls it makes. A probe that gets an answer closes the breaker at once: one slow reply
costs only the calls made before that, not a cool-down of failures.

Counting, not timing: which calls went to the server (a ``CacheTimeoutError``) and which the
breaker answered (``CacheUnavailableError``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from returns.result import Failure, Result, Success

from cache_bridge.adapters.redis import RedisCache, SyncRedisCache
from cache_bridge.errors import CacheTimeoutError, CacheUnavailableError, DomainError
from cache_bridge.testing import Harness
from cache_bridge.testing.faulty_server import FaultyRedisServer
from cache_bridge.testing.proxy import FaultProxy
from tests.faults.scenario import BOUND, FAST, TIMEOUT, breaker

pytestmark = pytest.mark.redis

#: One request of a cache_page view: a read, the page rendered, two writes.
REQUEST: list[tuple[str, tuple[Any, ...]]] = [
    ("get", ("page",)),
    ("set", ("page", "html")),
    ("set", ("headers", "h")),
]


@pytest.fixture
def faces(proxy: FaultProxy) -> Iterator[tuple[Harness, Harness]]:
    """The two faces of one configuration on the proxy (different key prefixes, as a
    framework's faces may have): blocking, async."""
    sync = Harness(SyncRedisCache(proxy.url(), key_prefix="a", **FAST), "sync")
    async_ = Harness(RedisCache(proxy.url(), key_prefix="b", **FAST), "async")
    yield sync, async_
    sync.shutdown()
    async_.shutdown()


def test_the_faces_of_one_configuration_share_one_breaker(
    faces: tuple[Harness, Harness], proxy: FaultProxy
) -> None:
    sync, async_ = faces
    assert breaker(sync) is breaker(async_)
    other = SyncRedisCache(proxy.url(), **{**FAST, "timeout": 2 * TIMEOUT})
    try:
        assert other.breaker is not breaker(sync)  # another configuration
    finally:
        other.close()


def _request(cache: Harness) -> list[Result[Any, DomainError]]:
    return [getattr(cache, name)(*args) for name, args in REQUEST]


def test_an_outage_costs_a_process_one_timeout_not_one_per_call_or_face(
    faces: tuple[Harness, Harness], proxy: FaultProxy
) -> None:
    sync, async_ = faces
    assert [r for face in faces for r in _request(face)] == [Success(None)] * 6
    proxy.blackhole()
    results: list[Result[Any, DomainError]] = []
    for n in range(6):  # requests served by the two faces in turn
        started = time.monotonic()
        results += _request(sync if n % 2 == 0 else async_)
        assert time.monotonic() - started < BOUND
    errors = [result.failure() for result in results]
    waited = [e for e in errors if isinstance(e, CacheTimeoutError)]
    assert len(waited) == 1, errors  # the first call of the first request
    assert all(isinstance(e, CacheUnavailableError) for e in errors[1:]), errors
    proxy.restore()


def test_one_slow_reply_costs_only_the_calls_made_before_the_probe_answers(
    server: FaultyRedisServer,
) -> None:
    # A long cool-down: were one slow reply to switch the cache off for it, the calls after
    # the slow reply would fail for seconds.
    options = {**FAST, "breaker_cooldown": 30.0}
    sync = SyncRedisCache(server.url, **options)
    async_ = Harness(RedisCache(server.url, **options), "async")
    try:
        assert sync.set("k", "v") == Success(None)
        samples: list[tuple[float, Result[Any, DomainError]]] = []
        stop = threading.Event()

        def traffic() -> None:
            while not stop.is_set():
                samples.append((time.monotonic(), sync.get("k")))
                time.sleep(0.01)

        worker = threading.Thread(target=traffic)
        worker.start()
        time.sleep(0.2)
        # One reply slower than the timeout: the server is busy for 1.5 timeouts.
        server.sleep(1.5 * TIMEOUT).join(10)
        healthy_again = time.monotonic()
        time.sleep(0.5)
        stop.set()
        worker.join(10)
        failed = [(at, r) for at, r in samples if isinstance(r, Failure)]
        assert failed, "the slow reply went unnoticed"
        # The cache was off from the timeout until the probe's answer, not for the cool-down:
        # every call made a moment after the server answers again succeeds, on both faces.
        late = [r for at, r in samples if at > healthy_again + 0.1]
        assert late, "the traffic stopped too early"
        assert all(r == Success("v") for r in late), late[:3]
        assert async_.get("k") == Success("v")
        stats = breaker(async_).stats()
        assert (stats.state, stats.opened_total) == ("closed", 1)
    finally:
        sync.close()
        async_.shutdown()
