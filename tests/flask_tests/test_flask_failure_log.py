"""The fail-open log (one message per burst) and the background loop's life cycle: calls
running when the app closes get a Failure, never a hang."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import cast

import pytest
from flask_fixtures import MakeApp, bridge_fixture, make_app_fixture  # noqa: F401
from returns.result import Failure, Result

from cache_bridge import CacheClosedError, CacheConnectionError, CacheProtocol, DomainError
from flask_cache_bridge import FailureLog
from flask_cache_bridge.loop_thread import LoopThread
from flask_cache_bridge.shared import SharedAsyncCache

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


def test_the_loop_thread_runs_coroutines_and_refuses_them_after_close() -> None:
    loop_thread = LoopThread("test loop")
    assert not loop_thread.started

    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    future = loop_thread.submit(answer())
    assert future is not None
    assert future.result(timeout=5) == 42
    assert loop_thread.started
    closed: list[bool] = []

    async def final() -> None:
        closed.append(True)

    loop_thread.close(final)
    loop_thread.close(final)  # idempotent
    assert closed == [True]
    refused = answer()
    assert loop_thread.submit(refused) is None
    assert refused.cr_frame is None  # closed, so no "never awaited" warning


def test_closing_a_loop_thread_that_never_started_does_nothing() -> None:
    loop_thread = LoopThread("idle loop")
    loop_thread.close()
    assert not loop_thread.started


class StuckCache:
    """Just enough of an async adapter: ``get`` never answers."""

    def __init__(self) -> None:
        self.started = threading.Event()

    async def get(self, key: str) -> Result[str | None, DomainError]:
        self.started.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


def test_closing_the_app_answers_calls_still_running_with_a_failure() -> None:
    loop_thread = LoopThread("stuck loop")
    stuck = StuckCache()
    shared = SharedAsyncCache(cast(CacheProtocol, stuck), loop_thread)

    async def main() -> Result[str | None, DomainError]:
        call = asyncio.create_task(shared.get("k"))
        await asyncio.to_thread(stuck.started.wait, 5)
        await asyncio.to_thread(loop_thread.close)
        return await asyncio.wait_for(call, 5)

    result = asyncio.run(main())
    assert isinstance(result, Failure)
    assert isinstance(result.failure(), CacheClosedError)


def test_a_cancelled_caller_is_cancelled_not_answered() -> None:
    loop_thread = LoopThread("cancel loop")
    stuck = StuckCache()
    shared = SharedAsyncCache(cast(CacheProtocol, stuck), loop_thread)

    async def main() -> None:
        call = asyncio.create_task(shared.get("k"))
        await asyncio.to_thread(stuck.started.wait, 5)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call

    try:
        asyncio.run(main())
    finally:
        loop_thread.close()
