"""The steps every fault test takes, written once: call under the fault with a bound on each
call, see the breaker open, prove an open breaker answers at once with no socket work, and
wait (bounded) for service to resume on the same adapter.

Every wall-clock assertion here is a generous upper bound on a failure-mode latency, never a
benchmark; every loop is bounded in time and in count.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from returns.result import Failure, Result, Success

from cache_bridge.errors import CacheConnectionError, CacheError, CacheUnavailableError
from cache_bridge.resilience.breaker import CircuitBreaker
from cache_bridge.testing import Harness
from cache_bridge.testing.contract import CALLS, failure
from cache_bridge.testing.proxy import FaultProxy

#: Seconds to connect and to wait for a reply in these tests.
TIMEOUT = 0.2
#: Consecutive connection/timeout failures that open the breaker in these tests.
THRESHOLD = 3
#: Seconds an open breaker waits before it lets one probe through, in these tests.
COOLDOWN = 0.5
FAST: dict[str, Any] = {
    "timeout": TIMEOUT,
    "connect_timeout": TIMEOUT,
    "breaker_threshold": THRESHOLD,
    "breaker_cooldown": COOLDOWN,
}
#: The framework apps' options: FAST with half-second timeouts. Their healthy phases go
#: through a test client and the in-process FaultProxy, and on a loaded machine a call there
#: ran past 0.2 s (a fresh-machine run: the first page's get timed out, so its second read
#: missed); a killed server is refused at once, so the outage phases are bounded as before.
FRAMEWORK: dict[str, Any] = {**FAST, "timeout": 0.5, "connect_timeout": 0.5}
#: Slack for a loaded 2-core machine: a call under a fault returns within its timeouts (a
#: connect and a reply) plus this.
MARGIN = 1.0
BOUND = 2 * TIMEOUT + MARGIN
#: An open breaker answers "at once"; this is the generous bound the tests hold it to.
OPEN_BOUND = 0.1

#: Every protocol method but ping, which always goes to the server (it is the health check).
CALLS_BUT_PING = [(name, args) for name, args in CALLS if name != "ping"]
#: The mixed operations that traffic loops cycle through.
MIXED: list[tuple[str, tuple[Any, ...]]] = [
    ("get", ("k",)),
    ("set", ("k", "v")),
    ("increment", ("n",)),
    ("get_many", (["k", "n"],)),
    ("exists", ("k",)),
    ("set_many", ({"a": "1", "b": "2"},)),
    ("delete", ("a",)),
]


@dataclass(frozen=True)
class Sample:
    """One call made under traffic: which, how long it took, when it ended (monotonic
    seconds), what it returned."""

    name: str
    seconds: float
    ended: float
    result: Result[Any, Any]


def breaker(cache: Harness) -> CircuitBreaker:
    found = cache.adapter.breaker  # type: ignore[union-attr]
    assert isinstance(found, CircuitBreaker)
    return found


def timed(cache: Harness, name: str, *args: Any) -> tuple[Result[Any, Any], float]:
    """Call ``cache.name(*args)``; the Result (asserting it is one) and the seconds taken."""
    started = time.monotonic()
    result = getattr(cache, name)(*args)
    seconds = time.monotonic() - started
    assert isinstance(result, Success | Failure), f"{name} returned {result!r}"
    return result, seconds


def cooling(cache: Harness) -> bool:
    """Whether the breaker is open and has seen THRESHOLD failures in a row: it probes once
    per cool-down now, and sends nothing in between."""
    stats = breaker(cache).stats()
    return stats.state == "open" and stats.consecutive_failures >= THRESHOLD


def fail_until_open(
    cache: Harness, kind: type[CacheError] = CacheConnectionError, within: float = 10.0
) -> list[CacheError]:
    """Call mixed operations until the breaker is open and cooling down (:func:`cooling`).
    The first call meets the fault and fails with ``kind``; it opens the breaker, so every
    later one fails at once with ``CacheUnavailableError`` while the probes fail in the
    background. Each call within :data:`BOUND`. Returns the errors, in order."""
    errors: list[CacheError] = []
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        name, args = MIXED[len(errors) % len(MIXED)]
        result, seconds = timed(cache, name, *args)
        assert seconds < BOUND, f"{name} took {seconds:.2f}s under the fault (bound {BOUND}s)"
        errors.append(failure(result, CacheUnavailableError if errors else kind))
        if cooling(cache):
            return errors
        time.sleep(0.01)
    pytest.fail(f"the breaker did not open and cool down within {within}s: {errors[-1:]!r}")


def reopen_fresh(cache: Harness, within: float = 10.0) -> None:
    """While the fault lasts, wait until a probe has just failed (most of the cool-down
    before the next one still ahead), so that a check of the open state is not cut short by
    a probe."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        stats = breaker(cache).stats()
        if cooling(cache) and stats.retry_in > COOLDOWN * 0.6:
            return
        time.sleep(0.005)
    pytest.fail(f"no probe failed afresh within {within}s: {breaker(cache).stats()}")


def assert_open_and_silent(cache: Harness, proxy: FaultProxy, max_rounds: int = 20) -> int:
    """While the breaker is open and cooling down, every method but ping returns
    ``Failure(CacheUnavailableError)`` at once and the proxy sees no traffic at all (neither
    the calls nor a probe). Returns the number of calls checked (rounds stop before the next
    probe is due)."""
    reopen_fresh(cache)
    before = proxy.traffic()
    rejected_before = breaker(cache).stats().rejected_total
    checked = 0
    for _ in range(max_rounds):
        # Stop well before the next probe is due.
        if breaker(cache).stats().retry_in < COOLDOWN / 3:
            break
        for name, args in CALLS_BUT_PING:
            result, seconds = timed(cache, name, *args)
            error = failure(result, CacheUnavailableError)
            assert isinstance(error, CacheConnectionError)
            assert error.operation == name
            assert seconds < OPEN_BOUND, f"an open breaker took {seconds:.3f}s on {name}"
            checked += 1
    assert checked > 0, "the cool-down ended before one round of calls could be checked"
    # What the adapter sent: a reply to an earlier probe that the proxy's latency held back
    # may still reach the client meanwhile, and says nothing about the open breaker.
    after = proxy.traffic()
    assert (after.accepted, after.to_server) == (before.accepted, before.to_server), (
        "an open breaker touched the network"
    )
    assert breaker(cache).stats().rejected_total - rejected_before == checked
    return checked


def wait_for_recovery(cache: Harness, within: float = 10.0) -> int:
    """Call ``get`` (bounded each) until it succeeds (a probe has closed the breaker); fail
    if it does not within ``within`` seconds. Returns the number of calls it took."""
    deadline = time.monotonic() + within
    for calls in range(1, 10_000):
        result, seconds = timed(cache, "get", "k")
        assert seconds < BOUND, f"get took {seconds:.2f}s while recovering"
        if isinstance(result, Success):
            assert breaker(cache).state == "closed"
            return calls
        failure(result, CacheConnectionError)
        if time.monotonic() > deadline:
            break
        time.sleep(COOLDOWN / 10)
    pytest.fail(f"no Success within {within}s after the fault ended: {result!r}")


def assert_works(cache: Harness) -> None:
    """A round of ordinary work succeeds on the (same, recovered) adapter."""
    assert cache.set("after", "v") == Success(None)
    assert cache.get("after") == Success("v")
    assert isinstance(cache.increment("after-n"), Success)
    assert cache.ping() == Success(True)
    assert breaker(cache).state == "closed"


#: Seconds each traffic worker waits between two calls, so that traffic lasts its duration.
PACE = 0.002


def run_traffic(
    cache: Harness, seconds: float, workers: int = 4, max_calls: int = 20_000
) -> list[Sample]:
    """Mixed operations from ``workers`` threads (blocking face) or tasks (async face) for
    ``seconds``, each pausing :data:`PACE` between calls; every call's outcome and latency.
    An exception escaping a call fails the test (it propagates out of the thread or task)."""
    deadline = time.monotonic() + seconds
    per_worker = max_calls // workers
    if not cache.is_async:
        return _thread_traffic(cache.adapter, deadline, workers, per_worker)
    return list(cache.run(_task_traffic(cache.adapter, deadline, workers, per_worker)))


def _thread_traffic(adapter: Any, deadline: float, workers: int, count: int) -> list[Sample]:
    samples: list[Sample] = []
    escaped: list[BaseException] = []
    lock = threading.Lock()

    def work(offset: int) -> None:
        try:
            for i in range(count):
                if time.monotonic() > deadline:
                    return
                name, args = MIXED[(i + offset) % len(MIXED)]
                started = time.monotonic()
                result = getattr(adapter, name)(*args)
                ended = time.monotonic()
                sample = Sample(name, ended - started, ended, result)
                with lock:
                    samples.append(sample)
                time.sleep(PACE)
        except BaseException as exc:  # reported to the test below
            escaped.append(exc)

    threads = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()) + 2 * BOUND)
    assert not any(thread.is_alive() for thread in threads), "a traffic thread hung"
    assert not escaped, f"an exception escaped a call: {escaped[0]!r}"
    return samples


async def _task_traffic(adapter: Any, deadline: float, workers: int, count: int) -> list[Sample]:
    async def work(offset: int) -> list[Sample]:
        samples = []
        for i in range(count):
            if time.monotonic() > deadline:
                break
            name, args = MIXED[(i + offset) % len(MIXED)]
            started = time.monotonic()
            result = await getattr(adapter, name)(*args)
            ended = time.monotonic()
            samples.append(Sample(name, ended - started, ended, result))
            await asyncio.sleep(PACE)
        return samples

    batches = await asyncio.gather(*(work(n) for n in range(workers)))
    return [sample for batch in batches for sample in batch]


def assert_all_bounded(samples: list[Sample]) -> None:
    """Every call returned a Result within :data:`BOUND`."""
    assert samples, "no calls were made"
    for sample in samples:
        assert isinstance(sample.result, Success | Failure), f"{sample} is not a Result"
        assert sample.seconds < BOUND, f"{sample.name} took {sample.seconds:.2f}s"


class Scheduled(threading.Thread):
    """An action run once on its own thread after a delay; ``done_at`` is when it finished
    (monotonic seconds), ``None`` until then."""

    def __init__(self, seconds: float, action: Callable[[], object]) -> None:
        super().__init__(name="fault-scheduled", daemon=True)
        self.seconds, self.action = seconds, action
        self.done_at: float | None = None

    def run(self) -> None:
        time.sleep(self.seconds)
        self.action()
        self.done_at = time.monotonic()

    def finished_at(self) -> float:
        """Wait (bounded) for the action and return when it finished."""
        self.join(10)
        assert self.done_at is not None, "the scheduled fault did not happen"
        return self.done_at


def later(seconds: float, action: Callable[[], object]) -> Scheduled:
    """Run ``action`` on its own thread after ``seconds``."""
    scheduled = Scheduled(seconds, action)
    scheduled.start()
    return scheduled
