"""The background loop of async calls on Redis: its life cycle, and that a caller always gets
an answer: when the app closes, when the call outlasts its time limit, when the loop thread
dies, after a fork, and (as a cancellation) when the caller itself is cancelled."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
from typing import Any

import pytest
import redis
from flask import Flask
from returns.result import Failure, Result, Success

from cache_bridge import CacheClosedError, CacheTimeoutError, DomainError
from cache_bridge.adapters.memory import MemoryStore
from cache_bridge.engine.commands import Command
from cache_bridge.faces import AsyncCache
from flask_cache_bridge import CacheBridge
from flask_cache_bridge.loop_thread import LoopThread
from flask_cache_bridge.shared import SharedAsyncCache
from flask_cache_bridge.state import AppCache
from tests.support.flask_fixtures import MakeApp, bridge_fixture, make_app_fixture  # noqa: F401


class SlowCache(AsyncCache):
    """An async adapter over an in-memory store whose every command takes ``delay`` seconds
    (forever if ``None``); it records when a command starts and when one is cancelled."""

    def __init__(self, delay: float | None = None) -> None:
        self.delay = delay
        self.store = MemoryStore(100, time.time)
        self.started = threading.Event()
        self.cancelled = threading.Event()
        super().__init__(self._execute_slowly, None, "slow")

    async def _execute_slowly(self, command: Command) -> Any:
        self.started.set()
        try:
            if self.delay is None:
                await asyncio.Event().wait()
            else:
                await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        return self.store.execute(command)


@pytest.fixture
def loop_thread() -> Any:
    made = LoopThread("test loop")
    yield made
    made.close()


def test_the_loop_thread_runs_coroutines_and_refuses_them_after_close() -> None:
    loop_thread = LoopThread("test loop")
    assert not loop_thread.alive()

    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    future = loop_thread.submit(answer())
    assert future is not None
    assert future.result(timeout=5) == 42
    assert loop_thread.alive()
    closed: list[bool] = []

    async def final() -> None:
        closed.append(True)

    loop_thread.close(final)
    loop_thread.close(final)  # idempotent
    assert closed == [True]
    assert not loop_thread.alive()
    refused = answer()
    assert loop_thread.submit(refused) is None
    assert refused.cr_frame is None  # type: ignore[attr-defined]  # closed: no warning


def test_closing_a_loop_thread_that_never_started_does_nothing() -> None:
    loop_thread = LoopThread("idle loop")
    loop_thread.close()
    assert not loop_thread.alive()
    assert loop_thread.closed


def test_closing_the_app_answers_calls_still_running_with_a_failure(
    loop_thread: LoopThread,
) -> None:
    slow = SlowCache()
    shared = SharedAsyncCache(slow, "slow", loop_thread, wait=30)

    async def main() -> Result[str | None, DomainError]:
        call = asyncio.create_task(shared.get("k"))
        await asyncio.to_thread(slow.started.wait, 5)
        await asyncio.to_thread(loop_thread.close)
        return await asyncio.wait_for(call, 5)

    result = asyncio.run(main())
    assert isinstance(result, Failure)
    assert isinstance(result.failure(), CacheClosedError)


def test_cancelling_the_caller_cancels_the_call_on_the_background_loop(
    loop_thread: LoopThread,
) -> None:
    slow = SlowCache()
    shared = SharedAsyncCache(slow, "slow", loop_thread, wait=30)

    async def main() -> None:
        call = asyncio.create_task(shared.get("k"))
        await asyncio.to_thread(slow.started.wait, 5)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call

    asyncio.run(main())
    assert slow.cancelled.wait(5)


def test_a_call_that_outlasts_its_time_limit_is_a_timeout_failure(
    loop_thread: LoopThread,
) -> None:
    slow = SlowCache()
    shared = SharedAsyncCache(slow, "slow", loop_thread, wait=0.3)
    started = time.monotonic()
    result = asyncio.run(shared.get("k"))
    assert time.monotonic() - started < 3
    assert isinstance(result, Failure)
    assert isinstance(result.failure(), CacheTimeoutError)
    assert "no answer in 0.3 s" in str(result.failure())
    assert slow.cancelled.wait(5)  # the abandoned call does not linger on the loop


def test_scans_are_not_cut_by_the_per_call_limit(loop_thread: LoopThread) -> None:
    slow = SlowCache(delay=0.2)
    shared = SharedAsyncCache(slow, "slow", loop_thread, wait=0.1)

    async def main() -> Result[int, DomainError]:
        return await shared.delete_pattern("*")

    assert asyncio.run(main()) == Success(0)


def _stop(loop_thread: LoopThread) -> None:
    # What a BaseException escaping a callback does: the loop stops and its thread ends.
    loop = loop_thread._loop
    thread = loop_thread._thread
    assert loop is not None
    assert thread is not None
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    assert not loop_thread.alive()


def test_a_dead_loop_thread_answers_its_waiting_calls_and_is_restarted(
    loop_thread: LoopThread,
) -> None:
    slow = SlowCache()
    shared = SharedAsyncCache(slow, "slow", loop_thread, wait=30)

    async def main() -> Result[str | None, DomainError]:
        call = asyncio.create_task(shared.get("k"))
        await asyncio.to_thread(slow.started.wait, 5)
        await asyncio.to_thread(_stop, loop_thread)
        return await asyncio.wait_for(call, 5)

    result = asyncio.run(main())
    assert isinstance(result, Failure)
    assert isinstance(result.failure(), CacheTimeoutError)
    assert "the background event loop stopped" in str(result.failure())
    slow.delay = 0
    assert asyncio.run(shared.set("k", "v")) == Success(None)
    assert loop_thread.alive()
    assert asyncio.run(shared.get("k")) == Success("v")


@pytest.fixture
def redis_app(make_app: MakeApp, redis_url: str, redis_client: redis.Redis) -> Flask:
    return make_app(CACHE_BRIDGE_URL=redis_url, CACHE_BRIDGE_KEY_PREFIX="handoff")


def _state(app: Flask) -> AppCache:
    state = app.extensions["cache_bridge"]
    assert isinstance(state, AppCache)
    return state


@pytest.mark.redis
def test_an_app_whose_loop_thread_died_gets_a_new_one_and_closes_at_once(
    redis_app: Flask, bridge: CacheBridge
) -> None:
    @redis_app.get("/inc")
    async def inc() -> str:
        return str(await bridge.async_cache.increment("n"))

    client = redis_app.test_client()
    assert client.get("/inc").text == "<Success: 1>"
    loop_thread = _state(redis_app)._loop_thread
    assert loop_thread is not None
    _stop(loop_thread)
    started = time.monotonic()
    assert client.get("/inc").text == "<Success: 2>"
    assert time.monotonic() - started < 2
    _stop(loop_thread)  # and once more, then close with no thread left
    started = time.monotonic()
    bridge.close(redis_app)
    assert time.monotonic() - started < 1


@pytest.mark.redis
def test_the_async_cache_answers_in_a_forked_child(redis_app: Flask, bridge: CacheBridge) -> None:
    @redis_app.get("/inc")
    async def inc() -> dict[str, Any]:
        return {"n": (await bridge.async_cache.increment("n")).unwrap(), "pid": os.getpid()}

    client = redis_app.test_client()
    assert client.get("/inc").json == {"n": 1, "pid": os.getpid()}  # the parent's loop runs
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        status = 1
        try:
            os.close(read)
            answer = client.get("/inc").json
            os.write(write, json.dumps(answer).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    deadline = time.monotonic() + 20
    while (done := os.waitpid(pid, os.WNOHANG)) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child did not answer in 20 s")
        time.sleep(0.05)
    with os.fdopen(read) as pipe:
        reported = pipe.read()
    assert os.waitstatus_to_exitcode(done[1]) == 0, reported
    child = json.loads(reported)
    assert child["n"] == 2
    assert child["pid"] == pid
    assert client.get("/inc").json == {"n": 3, "pid": os.getpid()}  # the parent's loop too
