"""What an outage writes to the "cache_bridge" log: the operation and key, never a value, and
few lines however long the outage and however many calls fail."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator

import pytest
from returns.result import Success

from cache_bridge.errors import CacheSerializationError
from cache_bridge.resilience.guard import LOG_INTERVAL
from cache_bridge.testing.contract import failure
from cache_bridge.testing.faulty_server import FaultyRedisServer
from tests.faults.conftest import Connect


@pytest.fixture
def dead_url() -> Iterator[str]:
    """A loopback port that is bound but not listening: connections are refused."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield f"redis://127.0.0.1:{holder.getsockname()[1]}/0"


def _outage(connect: Connect, url: str, seconds: float, **options: object) -> int:
    """Call ``set`` every 10 ms for ``seconds`` against ``url``; the number of calls."""
    cache = connect(url, **options)
    deadline = time.monotonic() + seconds
    calls = 0
    while time.monotonic() < deadline and calls < 1000:
        cache.set("the-key", "the-secret-value")
        calls += 1
        time.sleep(0.01)
    return calls


def test_failure_lines_name_the_operation_and_key_and_never_the_value(
    connect: Connect, dead_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="cache_bridge"):
        calls = _outage(connect, dead_url, 0.5, breaker_threshold=1000)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("cache_bridge")]
    assert calls > 10
    # The interval is longer than the outage: the first failure is logged, saying that the
    # circuit opened; the rest are counted.
    assert len(lines) == 1, lines
    assert "set('the-key')" in lines[0]
    assert "circuit open" in lines[0]
    assert "the-secret-value" not in caplog.text


def test_an_outage_longer_than_the_cooldown_writes_few_lines(
    connect: Connect, dead_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    seconds = 0.8
    with caplog.at_level(logging.DEBUG, logger="cache_bridge"):
        _outage(connect, dead_url, seconds, breaker_threshold=1, breaker_cooldown=0.05)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("cache_bridge")]
    # The first failure (the circuit opening), and one line per LOG_INTERVAL after that.
    assert len(lines) <= 1 + seconds / LOG_INTERVAL, lines


def test_an_argument_error_is_not_an_outage(
    connect: Connect, server: FaultyRedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A value set_json cannot store is the caller's mistake, returned as a Failure: the
    outage log neither reports it as a failure nor announces a recovery after it."""
    cache = connect(server.url)
    with caplog.at_level(logging.DEBUG, logger="cache_bridge"):
        failure(cache.set_json("k", [1, 2]), CacheSerializationError)
        failure(cache.set_json("k", {"when": object()}), CacheSerializationError)
        assert cache.set("k", "v") == Success(None)
        assert cache.get("k") == Success("v")
    assert [r.getMessage() for r in caplog.records if r.name.startswith("cache_bridge")] == []
