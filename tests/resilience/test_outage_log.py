"""The one outage log (cache_bridge/resilience/outage_log.py): an outage is its first failure, the
circuit opening once, a count every interval and the recovery; anything else is a warning of
its own that never starts an outage."""

from __future__ import annotations

import logging

import pytest

from cache_bridge import (
    CacheClosedError,
    CacheConnectionError,
    CacheError,
    CacheInvalidArgumentError,
    CacheSerializationError,
    CacheServerError,
    CacheTimeoutError,
    CacheUnavailableError,
    CacheValueError,
    ClusterTopologyChangedError,
)
from cache_bridge.resilience.outage_log import OutageLog, is_outage

DOWN = CacheConnectionError("the cache could not be reached", operation="get", key="k")
UNWRITABLE = CacheSerializationError("a list is not a JSON object", operation="set_json", key="k")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def log(clock: FakeClock) -> OutageLog:
    return OutageLog("redis://h:6379/0", log=logging.getLogger("test.outage"), clock=clock)


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "test.outage"]


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (DOWN, True),
        (CacheTimeoutError("slow", operation="get"), True),
        (CacheUnavailableError("circuit open", operation="get"), True),
        (CacheServerError("OOM", operation="set"), True),
        (CacheError("unexpected KeyError", operation="get"), True),
        (UNWRITABLE, False),
        (CacheInvalidArgumentError("bad key", operation="get"), False),
        (CacheValueError("not an integer", operation="increment"), False),
        (CacheClosedError("closed", operation="get"), False),
        (ClusterTopologyChangedError("moved", operation="flush"), False),
    ],
)
def test_what_is_an_outage(error: CacheError, outage: bool) -> None:
    assert is_outage(error) is outage


def test_an_outage_is_one_line_then_one_count_per_interval(
    log: OutageLog, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="test.outage"):
        assert log.failed(DOWN, "carrying on without the cache")
        for _ in range(99):
            clock.now += 0.04
            assert not log.failed(DOWN)
        clock.now += log.interval
        assert log.failed(DOWN)
    assert _messages(caplog) == [
        "cache_bridge: redis://h:6379/0 failed: get('k'): the cache could not be reached; "
        "carrying on without the cache",
        "cache_bridge: redis://h:6379/0 failed: get('k'): the cache could not be reached "
        "(and 99 more since the last message)",
    ]


def test_an_outage_is_its_first_failure_and_its_recovery(
    log: OutageLog, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="test.outage"):
        log.recovered()  # nothing to report
        assert log.failed(DOWN, "circuit open")
        assert not log.failed(DOWN)
        log.recovered("; circuit closed")
        log.recovered("; circuit closed")
        clock.now += log.interval
        assert log.failed(DOWN)  # a new outage after a quiet time is reported at once
    assert _messages(caplog) == [
        "cache_bridge: redis://h:6379/0 failed: get('k'): the cache could not be reached; "
        "circuit open",
        "cache_bridge: redis://h:6379/0: the cache answers again; circuit closed "
        "(1 failures were not logged)",
        "cache_bridge: redis://h:6379/0 failed: get('k'): the cache could not be reached",
    ]


def test_short_outages_soon_after_a_line_are_counted_into_the_next_one(
    log: OutageLog, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A flapping server (a slow reply once a second: a failure, then the answer 0.1 s later)
    writes at most two lines per interval, and the next line says how many outages came and
    went unlogged (issue 12 review, item 11: the recovery used to start the count again, so
    every incident wrote its failure, its circuit opening and its recovery)."""
    with caplog.at_level(logging.DEBUG, logger="test.outage"):
        written: list[float] = []
        start = clock.now
        for second in range(12):
            clock.now = start + second
            for _ in range(3):
                if log.failed(DOWN, "circuit open"):
                    written.append(clock.now)
            clock.now += 0.1
            before = len(_messages(caplog))
            log.recovered("; circuit closed")
            if len(_messages(caplog)) > before:
                written.append(clock.now)
    lines = _messages(caplog)
    assert len(lines) == len(written)
    for at in written:  # at most two lines in any interval
        assert sum(at <= other < at + log.interval for other in written) <= 2, written
    assert len(lines) <= 2 * (1 + 12 / log.interval), lines
    assert lines[0].endswith("could not be reached; circuit open")
    assert lines[1].endswith("answers again; circuit closed (2 failures were not logged)")
    assert lines[2].endswith(
        "could not be reached; circuit open (and 15 more since the last message; "
        "5 short outages came and went meanwhile)"
    )
    assert lines[3].endswith("answers again; circuit closed (2 failures were not logged)")


def test_a_long_outage_is_counted_and_its_recovery_logged_at_once(
    log: OutageLog, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="test.outage"):
        assert log.failed(DOWN)
        for _ in range(70):
            clock.now += 0.1
            log.failed(DOWN)
        clock.now += 0.01
        log.recovered()
    assert _messages(caplog) == [
        "cache_bridge: redis://h:6379/0 failed: get('k'): the cache could not be reached",
        "cache_bridge: redis://h:6379/0 failed: get('k'): the cache could not be reached "
        "(and 49 more since the last message)",
        "cache_bridge: redis://h:6379/0: the cache answers again (20 failures were not logged)",
    ]


def test_other_failures_are_throttled_apart_and_never_announce_a_recovery(
    log: OutageLog, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="test.outage"):
        assert log.failed(UNWRITABLE, "nothing was stored")
        assert not log.failed(UNWRITABLE)
        assert not log.failing
        log.recovered()
        assert log.failed(DOWN)  # an outage is logged at once, whatever came before
        assert log.failing
        clock.now += log.interval
        assert log.failed(UNWRITABLE)
    assert _messages(caplog) == [
        "cache_bridge: redis://h:6379/0 failed: set_json('k'): a list is not a JSON object; "
        "nothing was stored",
        "cache_bridge: redis://h:6379/0 failed: get('k'): the cache could not be reached",
        "cache_bridge: redis://h:6379/0 failed: set_json('k'): a list is not a JSON object "
        "(and 1 more since the last message)",
    ]
