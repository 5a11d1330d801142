"""A flapping server writes few log lines (issue 12 review, item 11): a healthy server with one
reply slower than the timeout once a second, under steady traffic. Each slow reply is an
outage of its own (a failure, the circuit opening, the answer a moment later); before the fix
each wrote three lines (failure, circuit open, recovery), because the recovery started the
count again. Now a subject writes at most two lines per LOG_INTERVAL (a first failure and its
recovery), and the short outages in between are counted into the next line (checked with a
clock of its own in tests/resilience/test_outage_log.py)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest

from cache_bridge.resilience.outage_log import LOG_INTERVAL
from cache_bridge.testing.faulty_server import FaultyRedisServer
from tests.faults.conftest import Connect

#: Slow replies, one a second (the log interval is 5 s: one interval's worth).
INCIDENTS = 4
OPTIONS = {"timeout": 0.2, "connect_timeout": 0.2, "breaker_threshold": 5}


def _flap(server: FaultyRedisServer) -> None:
    for _ in range(INCIDENTS):
        server.sleep(0.3).join(5)
        time.sleep(0.7)


def _threads_of_gets(get: object, stop: threading.Event) -> list[threading.Thread]:
    def traffic() -> None:
        while not stop.is_set():
            get("k")  # type: ignore[operator]
            time.sleep(0.005)

    return [threading.Thread(target=traffic) for _ in range(8)]


async def _tasks_of_gets(get: object, server: FaultyRedisServer) -> None:
    stop = asyncio.Event()

    async def traffic() -> None:
        while not stop.is_set():
            await get("k")  # type: ignore[operator]
            await asyncio.sleep(0.005)

    tasks = [asyncio.create_task(traffic()) for _ in range(8)]
    await asyncio.to_thread(_flap, server)
    stop.set()
    await asyncio.gather(*tasks)


def test_a_slow_reply_once_a_second_writes_at_most_two_lines_per_interval(
    connect: Connect, server: FaultyRedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    cache = connect(server.url, **OPTIONS)
    cache.set("k", "v")
    with caplog.at_level(logging.DEBUG, logger="cache_bridge"):
        started = time.monotonic()
        if cache.is_async:
            cache.run(_tasks_of_gets(cache.adapter.get, server))
        else:
            stop = threading.Event()
            threads = _threads_of_gets(cache.adapter.get, stop)
            for thread in threads:
                thread.start()
            _flap(server)
            stop.set()
            for thread in threads:
                thread.join()
        seconds = time.monotonic() - started
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("cache_bridge")]
    failed = [line for line in lines if " failed: " in line]
    assert failed, "no slow reply made a call fail: the scenario did not happen"
    intervals = 1 + int(seconds // LOG_INTERVAL)
    assert len(lines) <= 2 * intervals, lines
    assert "circuit open" in failed[0]  # said on the failure's line, not one of its own
