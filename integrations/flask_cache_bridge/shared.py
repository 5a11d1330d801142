"""The faces the extension hands out: the app's adapters, with ``close`` left to the app.

An app's adapter and its connection pool are shared by every request, so ``close()`` /
``aclose()`` (and ``with`` / ``async with``) on ``bridge.cache`` or ``bridge.async_cache`` do
nothing; the extension releases the pools when the app is closed, collected or the process
exits (:meth:`release`). After that, every call returns ``Failure(CacheClosedError)``.

Each face is a core face (so it is a ``SyncCacheProtocol`` / ``CacheProtocol`` by
construction) running its operations on the adapter's executor, that is on the adapter's
connections.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from typing import Any, TypeVar

from returns.result import Failure, Result

from cache_bridge import CacheClosedError, CacheError, CacheTimeoutError, DomainError
from cache_bridge.engine.operations import Op
from cache_bridge.faces import AsyncCache, SyncCache
from cache_bridge.resilience.outage_log import OutageLog
from flask_cache_bridge.loop_thread import LoopThread

__all__ = ["SharedAsyncCache", "SharedSyncCache"]

T = TypeVar("T")

#: Seconds between two checks that the background loop is still alive.
_POLL = 0.25


class SharedSyncCache(SyncCache):
    """The blocking face of an app's cache, over the app's blocking adapter."""

    def __init__(self, adapter: SyncCache, description: str) -> None:
        super().__init__(adapter.executor, adapter.key_prefix, description, adapter.guard)
        self._adapter = adapter

    def close(self) -> None:
        """Does nothing (and so neither does ``with``): the extension owns the app's pool."""

    def release(self) -> None:
        """Close this face and the app's adapter for good (``bridge.close(app)``)."""
        super().close()

    def _release(self) -> None:
        self._adapter.close()


class SharedAsyncCache(AsyncCache):
    """The async face of an app's cache, safe in any event loop.

    With a ``loop_thread`` (Redis), each operation runs on that thread's long-lived loop, where
    the adapter keeps one pool, and the result comes back to the caller's loop; the caller
    waits at most ``wait`` seconds (``Failure(CacheTimeoutError)`` after that), and cancelling
    the caller cancels the operation. Without one (the in-memory adapter, which does no I/O),
    operations run in the caller's loop. A hand-off that gives up is written to ``log``: the
    adapter never saw it fail.
    """

    def __init__(
        self,
        adapter: AsyncCache,
        description: str,
        loop_thread: LoopThread | None = None,
        wait: float = 0.0,
        log: OutageLog | None = None,
    ) -> None:
        super().__init__(adapter.executor, adapter.key_prefix, description, adapter.guard)
        self._loop_thread = loop_thread
        self._wait = wait
        self._log = log

    async def aclose(self) -> None:
        """Does nothing (and so neither does ``async with``): the extension owns the pool."""

    def release(self) -> None:
        """Make every later call return ``Failure(CacheClosedError)``; the extension closes
        the adapter itself on its loop."""
        self._closed = True

    async def run_operation(self, op: Op[T]) -> Result[T, DomainError]:
        """Run ``op`` on the background loop (see the class) and wait for its result here."""
        if self._loop_thread is None or self._closed:
            return await super().run_operation(op)
        future = self._loop_thread.submit(super().run_operation(op))
        if future is None:
            return _failure(op, CacheClosedError, "the adapter is closed")
        return await self._result(op, future, self._loop_thread)

    async def _result(
        self,
        op: Op[T],
        future: concurrent.futures.Future[Result[T, DomainError]],
        loop_thread: LoopThread,
    ) -> Result[T, DomainError]:
        waiting = asyncio.wrap_future(future)
        # An operation of an unbounded number of round trips (SCAN batches) is only abandoned
        # when the background loop dies, not after the per-call time limit.
        deadline = None if op.unbounded else time.monotonic() + self._wait
        try:
            while True:
                done, _ = await asyncio.wait({waiting}, timeout=_POLL)
                if done:
                    if self._log is not None:
                        self._log.recovered()  # the hand-off works (a no-op unless it failed)
                    return waiting.result()
                if not loop_thread.alive():
                    waiting.cancel()
                    return self._gave_up(op, "the background event loop stopped")
                if deadline is not None and time.monotonic() >= deadline:
                    waiting.cancel()  # and so the operation on the background loop
                    return self._gave_up(op, f"no answer in {self._wait:g} s")
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                waiting.cancel()  # the caller is cancelled: so is the operation
                raise
        # The operation was cancelled from elsewhere: the app was closed while it ran, or its
        # loop died and a new one took over.
        if loop_thread.closed:
            return _failure(op, CacheClosedError, "the adapter is closed")
        return self._gave_up(op, "the background event loop stopped")

    def _gave_up(self, op: Op[T], message: str) -> Failure[DomainError]:
        failed = _failure(op, CacheTimeoutError, message)
        if self._log is not None:
            self._log.failed(failed.failure(), "the call was given up")
        return failed


def _failure(op: Op[Any], error: type[CacheError], message: str) -> Failure[DomainError]:
    op.steps.close()
    return Failure(error(message, operation=op.name, key=op.key))
