"""An open breaker after a quiet time (issue 12, review item 12): the probe thread stops when
nobody calls, and the first call after that must not be refused on what the breaker learned
before the quiet time (the server may have answered again long since)."""

from __future__ import annotations

import threading
import time
from typing import Any

from returns.result import Success

from cache_bridge.errors import CacheConnectionError, CacheUnavailableError
from cache_bridge.testing.contract import failure
from cache_bridge.testing.proxy import FaultProxy
from tests.faults.conftest import Connect
from tests.faults.scenario import breaker

#: Stands for IDLE_STOP (60 s) in these tests.
IDLE = 0.3


def _probe_threads(url: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(f"cache_bridge probe {url}")]


def _wait_until_no_probe_thread(url: str) -> None:
    deadline = time.monotonic() + 10
    while _probe_threads(url):
        assert time.monotonic() < deadline, "the probe thread did not stop when idle"
        time.sleep(0.02)


def test_the_first_call_after_a_quiet_time_is_not_refused(
    connect: Connect, proxy: FaultProxy
) -> None:
    url = proxy.url()
    # The library's defaults for the breaker (one probe per 2 s after 5 failures in a row).
    cache = connect(url, breaker_threshold=5, breaker_cooldown=2.0)
    adapter: Any = cache.adapter
    guard = adapter._guard  # the probe thread's owner, to shorten its idle stop
    guard.idle_stop = IDLE
    assert cache.set("k", "v") == Success(None)
    proxy.blackhole()
    failure(cache.get("k"), CacheConnectionError)  # opens the breaker
    failure(cache.get("k"), CacheConnectionError)  # refused at once
    _wait_until_no_probe_thread(url)  # nobody calls: the probe stops, the breaker stays open
    proxy.restore()
    time.sleep(2.5)  # healthy for longer than breaker_cooldown, and nobody calls
    results = [cache.get("k") for _ in range(3)]
    assert results == [Success("v")] * 3, results
    assert breaker(cache).state == "closed"


def test_after_a_quiet_time_a_call_to_a_server_still_down_fails_within_its_bound(
    connect: Connect, proxy: FaultProxy
) -> None:
    """The first call after the quiet time goes to the server as the probe: if it is still
    down, that call fails with its bound (a connection failure, not a refusal), and the
    probing starts again, so the calls after it are refused at once."""
    url = proxy.url()
    cache = connect(url)
    adapter: Any = cache.adapter
    guard = adapter._guard  # the probe thread's owner, to shorten its idle stop
    guard.idle_stop = IDLE
    assert cache.set("k", "v") == Success(None)
    proxy.blackhole()
    failure(cache.get("k"), CacheConnectionError)
    _wait_until_no_probe_thread(url)
    error = failure(cache.get("k"), CacheConnectionError)
    assert not isinstance(error, CacheUnavailableError), error  # it went to the server
    assert _probe_threads(url), "the probing did not start again"
    failure(cache.get("k"), CacheUnavailableError)
