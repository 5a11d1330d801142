"""The soak test (about a minute; deselect with ``-m 'not soak'``): two processes, each with
blocking threads and asyncio tasks, drive mixed operations and rate-limit checks against one
redis-server that is killed and restarted twice, with the adapters' default breaker.

Afterwards: no exception escaped and every call returned a Result; in the phase after the
last restart (no faults) every increment succeeded and the counter holds exactly their sum,
and the rate limit allowed exactly its limit across both processes; each client process's
memory stayed flat from the end of the first outage to the end; and the outage logs stayed
short.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from typing import Any

import pytest
import redis

from cache_bridge.testing.faulty_server import FaultyRedisServer
from cache_bridge.testing.processes import run_in_processes
from tests.faults.soak_worker import (
    EXACT,
    EXACT_COUNTER,
    EXACT_LIMIT,
    MEASURE,
    STOP,
    TASKS,
    THREADS,
    soak_in_process,
)

pytestmark = [pytest.mark.soak, pytest.mark.redis, pytest.mark.timeout(240)]

PROCESSES = 2
#: Seconds of each stretch of the run.
WARMUP, OUTAGE, SETTLE, MIDDLE, EXACT_SECONDS = 10.0, 2.0, 4.0, 12.0, 12.0
#: How much a client process's resident memory may grow from the start of MEASURE to the
#: end (one outage, about 30 s of traffic in between).
RSS_GROWTH_BOUND = 2 * 1024 * 1024
#: Log lines one process may write over the whole run, against tens of thousands of failed
#: calls: per outage, each of its two adapters logs the first failure, each opening of its
#: breaker and the recovery; each of its six limiters its first failure and its recovery.
LOG_LINES_BOUND = 60


class Conductor(threading.Thread):
    """Moves the workers through the phases and hurts the server on schedule."""

    def __init__(self, server: FaultyRedisServer, phase: Any, started: Any) -> None:
        super().__init__(name="soak-conductor", daemon=True)
        self.server, self.phase, self.started = server, phase, started
        self.restarts = 0
        self.error: BaseException | None = None

    def restart(self) -> None:
        self.server.kill()
        time.sleep(OUTAGE)
        self.server.start()
        self.restarts += 1

    def run(self) -> None:
        try:
            deadline = time.monotonic() + 60
            while self.started.value < PROCESSES and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(WARMUP)
            self.restart()
            time.sleep(SETTLE)
            self.phase.value = MEASURE
            time.sleep(MIDDLE / 2)
            self.restart()
            time.sleep(MIDDLE / 2 + SETTLE)
            self.phase.value = EXACT
            time.sleep(EXACT_SECONDS)
        except BaseException as exc:
            self.error = exc
        finally:
            self.phase.value = STOP


def test_soak_two_processes_through_two_restarts() -> None:
    server = FaultyRedisServer()
    context = multiprocessing.get_context("spawn")
    phase, started = context.Value("i", 0), context.Value("i", 0)
    try:
        server.start()
        conductor = Conductor(server, phase, started)
        conductor.start()
        reports: list[dict[str, Any]] = run_in_processes(
            soak_in_process, (server.url, phase, started), PROCESSES, wait=150
        )
        conductor.join(30)
        assert conductor.error is None, conductor.error
        assert conductor.restarts == 2
        client = redis.Redis.from_url(server.url)
        counter = int(client.get(f"soak:{EXACT_COUNTER}") or 0)
        client.close()
    finally:
        phase.value = STOP
        server.cleanup()

    for report in reports:
        summary = {k: v for k, v in report.items() if k not in ("memory", "log_sample")}
        print(f"soak report {summary}")
        assert report["hung"] == 0
        assert report["escaped"] == [], report["escaped"]
        assert report["not_results"] == [], report["not_results"]
        # Both outages were felt, and most calls succeeded.
        assert report["failures"], "no call failed: the restarts were not felt"
        assert report["successes"] > sum(report["failures"].values())
        assert report["exact_failures"] == 0
        assert report["exact_limit_failures"] == 0
        assert report["exact_increments"] > 0
        assert 0 < report["log_lines"] <= LOG_LINES_BOUND, report["log_sample"]

        measured = [rss for phase_, rss in report["memory"] if phase_ >= MEASURE]
        assert len(measured) >= 20, "too few memory samples after the warm-up"
        growth = max(measured) - measured[0]
        print(f"soak rss pid={report['pid']} start={measured[0]} max={max(measured)}")
        assert growth <= RSS_GROWTH_BOUND, f"RSS grew {growth / 2**20:.1f} MiB after warm-up"

    # Exact where the contract says so: after the last restart, with no fault, every
    # increment succeeded and the counter is their sum; the limit allowed exactly its limit.
    assert counter == sum(r["exact_increments"] for r in reports)
    assert sum(r["exact_allowed"] for r in reports) == EXACT_LIMIT
    workers = PROCESSES * (THREADS + TASKS)
    assert sum(r["exact_denied"] for r in reports) > workers
