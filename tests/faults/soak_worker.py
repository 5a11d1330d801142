"""One process of the soak test (spawned by :func:`cache_bridge.testing.processes.
run_in_processes`): blocking threads and asyncio tasks driving mixed operations and rate-limit
checks on one Redis server until the conductor says stop, recording every outcome, what
escaped (nothing should), the log lines written and the process's memory over time.

The conductor (the test) moves a shared ``phase`` forward; workers read it before each call.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from returns.result import Failure, Success

from cache_bridge.adapters.redis import RedisCache, SyncRedisCache
from cache_bridge.errors import CacheError
from cache_bridge.ratelimit import AsyncRateLimiter, RateLimiter

#: The phases, in order. MEASURE starts after the first restart's recovery: memory samples
#: from then on must stay flat. EXACT starts after the second restart's recovery: from then
#: on no fault is made, so the counters must add up exactly.
WARMUP, MEASURE, EXACT, STOP = 0, 1, 2, 3
#: Requests the exact-phase limit allows in its (hour-long) window, across every worker.
EXACT_LIMIT = 300
EXACT_COUNTER = "soak:exact"
#: Generous timeouts: a loaded machine must not turn an applied increment into a timeout.
OPTIONS: dict[str, Any] = {"timeout": 2.0, "connect_timeout": 2.0, "key_prefix": "soak"}
THREADS = 3
TASKS = 3
#: Seconds each worker waits between two calls (keeps the shared machine usable).
PACE = 0.004
#: No worker runs longer than this, whatever the conductor does.
MAX_SECONDS = 180.0
MAX_CALLS = 200_000


@dataclass
class Tally:
    """What one worker (thread or task) saw."""

    calls: int = 0
    successes: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    escaped: list[str] = field(default_factory=list)
    not_results: list[str] = field(default_factory=list)
    exact_increments: int = 0
    exact_failures: int = 0
    exact_allowed: int = 0
    exact_denied: int = 0
    exact_limit_failures: int = 0

    def record(self, result: object) -> None:
        self.calls += 1
        if isinstance(result, Success):
            self.successes += 1
        elif isinstance(result, Failure) and isinstance(result.failure(), CacheError):
            self.failures[type(result.failure()).__name__] += 1
        else:
            self.not_results.append(repr(result)[:200])

    def merge(self, other: Tally) -> None:
        self.calls += other.calls
        self.successes += other.successes
        self.failures.update(other.failures)
        self.escaped += other.escaped
        self.not_results += other.not_results
        self.exact_increments += other.exact_increments
        self.exact_failures += other.exact_failures
        self.exact_allowed += other.exact_allowed
        self.exact_denied += other.exact_denied
        self.exact_limit_failures += other.exact_limit_failures


def _mixed(n: int, me: str) -> list[tuple[str, tuple[Any, ...]]]:
    key = f"{me}:{n % 50}"
    return [
        ("set", (key, "v" * (n % 200))),
        ("get", (key,)),
        ("set_json", (f"{key}:j", {"n": n, "tags": ["a", "b"]})),
        ("get_json", (f"{key}:j",)),
        ("increment", (f"{me}:count",)),
        ("get_many", ([key, f"{key}:j", "missing"],)),
        ("set_many", ({f"{key}:a": "1", f"{key}:b": "2"}, 60)),
        ("expire", (key, 60)),
        ("ttl", (key,)),
        ("exists", (key,)),
        ("delete", (f"{key}:a",)),
    ]


def rss_bytes() -> int:
    """This process's resident set size, from /proc/self/statm."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _thread_worker(
    cache: SyncRedisCache, phase: Any, me: str, deadline: float, tally: Tally
) -> None:
    limiter = RateLimiter(cache, "100000/h", algorithm="sliding-window", name="soak")
    exact = RateLimiter(cache, f"{EXACT_LIMIT}/h", algorithm="sliding-window", name="exact")
    try:
        for n in range(MAX_CALLS):
            current = phase.value
            if current == STOP or time.monotonic() > deadline:
                return
            if current == EXACT:
                result = cache.increment(EXACT_COUNTER)
                tally.record(result)
                if isinstance(result, Success):
                    tally.exact_increments += 1
                else:
                    tally.exact_failures += 1
                decision = exact.hit("one-client")
                if decision.failed:
                    tally.exact_limit_failures += 1
                elif decision.allowed:
                    tally.exact_allowed += 1
                else:
                    tally.exact_denied += 1
            else:
                for name, args in _mixed(n, me)[n % 11 : n % 11 + 2]:
                    tally.record(getattr(cache, name)(*args))
                limiter.hit(f"client-{n % 7}")
            time.sleep(PACE)
    except BaseException as exc:  # the test asserts that nothing gets here
        tally.escaped.append(repr(exc)[:300])


async def _task_worker(
    cache: RedisCache, phase: Any, me: str, deadline: float, tally: Tally
) -> None:
    limiter = AsyncRateLimiter(cache, "100000/h", algorithm="sliding-window", name="soak")
    exact = AsyncRateLimiter(cache, f"{EXACT_LIMIT}/h", algorithm="sliding-window", name="exact")
    try:
        for n in range(MAX_CALLS):
            current = phase.value
            if current == STOP or time.monotonic() > deadline:
                return
            if current == EXACT:
                result = await cache.increment(EXACT_COUNTER)
                tally.record(result)
                if isinstance(result, Success):
                    tally.exact_increments += 1
                else:
                    tally.exact_failures += 1
                decision = await exact.hit("one-client")
                if decision.failed:
                    tally.exact_limit_failures += 1
                elif decision.allowed:
                    tally.exact_allowed += 1
                else:
                    tally.exact_denied += 1
            else:
                for name, args in _mixed(n, me)[n % 11 : n % 11 + 2]:
                    tally.record(await getattr(cache, name)(*args))
                await limiter.hit(f"client-{n % 7}")
            await asyncio.sleep(PACE)
    except BaseException as exc:  # the test asserts that nothing gets here
        tally.escaped.append(repr(exc)[:300])


async def _async_side(url: str, phase: Any, me: str, deadline: float, tallies: list[Tally]) -> None:
    cache = RedisCache(url, **OPTIONS)
    try:
        await asyncio.gather(
            *(
                _task_worker(cache, phase, f"{me}-task{i}", deadline, tally)
                for i, tally in enumerate(tallies)
            )
        )
    finally:
        await cache.aclose()


class _CountingHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines = 0
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines += 1
        self.texts.append(record.getMessage()[:300])


def soak_in_process(url: str, phase: Any, started: Any, start: Any, results: Any) -> None:
    """Run the workers until ``phase`` is STOP; put one report (a dict) on ``results``."""
    me = f"p{os.getpid()}"
    handler = _CountingHandler()
    logging.getLogger("cache_bridge").addHandler(handler)
    logging.getLogger("cache_bridge").propagate = False
    start.wait(60)
    with started.get_lock():
        started.value += 1
    deadline = time.monotonic() + MAX_SECONDS
    cache = SyncRedisCache(url, **OPTIONS)
    thread_tallies = [Tally() for _ in range(THREADS)]
    task_tallies = [Tally() for _ in range(TASKS)]
    threads = [
        threading.Thread(
            target=_thread_worker, args=(cache, phase, f"{me}-t{i}", deadline, tally), daemon=True
        )
        for i, tally in enumerate(thread_tallies)
    ]
    threads.append(
        threading.Thread(
            target=lambda: asyncio.run(_async_side(url, phase, me, deadline, task_tallies)),
            daemon=True,
        )
    )
    for thread in threads:
        thread.start()
    memory: list[tuple[int, int]] = []
    while any(thread.is_alive() for thread in threads) and time.monotonic() < deadline:
        memory.append((phase.value, rss_bytes()))
        time.sleep(0.5)
    for thread in threads:
        thread.join(5)
    total = Tally()
    for tally in thread_tallies + task_tallies:
        total.merge(tally)
    cache.close()
    results.put(
        {
            "pid": os.getpid(),
            "hung": sum(thread.is_alive() for thread in threads),
            "calls": total.calls,
            "successes": total.successes,
            "failures": dict(total.failures),
            "escaped": total.escaped,
            "not_results": total.not_results,
            "exact_increments": total.exact_increments,
            "exact_failures": total.exact_failures,
            "exact_allowed": total.exact_allowed,
            "exact_denied": total.exact_denied,
            "exact_limit_failures": total.exact_limit_failures,
            "memory": memory,
            "log_lines": handler.lines,
            "log_sample": handler.texts[:20],
        }
    )
