"""The fail-open log: one message per burst of cache failures, not one per request."""

from __future__ import annotations

import logging

import pytest
from flask_fixtures import MakeApp, bridge_fixture, make_app_fixture  # noqa: F401

from cache_bridge import CacheConnectionError
from flask_cache_bridge import FailureLog

ERROR = CacheConnectionError("the cache could not be reached", operation="get", key="k")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "test.failures"]


def test_one_message_per_interval_counting_the_silent_ones(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    log = FailureLog(60, logging.getLogger("test.failures"), clock)
    with caplog.at_level(logging.WARNING, logger="test.failures"):
        assert log.failed(ERROR, "reading")
        for _ in range(99):
            clock.now += 0.5
            assert not log.failed(ERROR, "reading")
        clock.now += 11  # 60.5 s after the first message
        assert log.failed(ERROR, "reading")
    messages = _messages(caplog)
    assert len(messages) == 2
    assert messages[0] == (
        "cache_bridge: reading failed, carrying on without the cache: "
        "get('k'): the cache could not be reached"
    )
    assert messages[1].endswith("(and 99 more failures since the last message)")


def test_recovery_is_logged_once_and_starts_a_new_burst(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    log = FailureLog(60, logging.getLogger("test.failures"), clock)
    with caplog.at_level(logging.WARNING, logger="test.failures"):
        log.succeeded()  # nothing to report
        log.failed(ERROR, "reading")
        log.failed(ERROR, "reading")
        log.succeeded()
        log.succeeded()
        clock.now += 1
        assert log.failed(ERROR, "storing")  # a new outage is reported at once
    assert _messages(caplog)[1:] == [
        "cache_bridge: the cache answers again (1 failures were not logged)",
        "cache_bridge: storing failed, carrying on without the cache: "
        "get('k'): the cache could not be reached",
    ]
