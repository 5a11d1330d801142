"""One event loop in a background thread, for async views to share one Redis pool.

Flask runs every ``async def`` view in a fresh event loop (asgiref's ``AsyncToSync``), and
redis.asyncio connections belong to the loop that opened them. Awaiting the app's adapter
directly would open a new pool, and so a new TCP connection, for every async request. Instead
the adapter lives on this loop, which outlives requests, and each call hops to it and back.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import threading
import weakref
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["LoopThread"]

T = TypeVar("T")

#: Seconds ``close()`` waits for the loop to release its connections and stop.
_CLOSE_WAIT = 5.0


class LoopThread:
    """An event loop running in a daemon thread, started on first use.

    ``submit`` returns ``None`` once ``close`` was called. A new loop (and thread) is started
    when the process has none running: on first use, in a forked child (threads do not
    survive a fork, so pre-forking servers work) and after the thread died.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._closed = False
        self._futures: weakref.WeakSet[concurrent.futures.Future[Any]] = weakref.WeakSet()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def alive(self) -> bool:
        """Whether this process's loop thread is running (``False`` before the first call)."""
        thread = self._thread
        return thread is not None and self._pid == os.getpid() and thread.is_alive()

    def _running_loop(self) -> asyncio.AbstractEventLoop | None:
        with self._lock:
            if self._closed:
                return None
            if self._loop is None or not self.alive():
                if self._loop is not None and self._pid == os.getpid():
                    self._abandon(self._loop)
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=_run_forever, args=(loop,), name=self._name, daemon=True
                )
                thread.start()
                self._loop, self._thread, self._pid = loop, thread, os.getpid()
            return self._loop

    def _abandon(self, loop: asyncio.AbstractEventLoop) -> None:
        # The thread of ``loop`` died, so its calls will never finish: cancel them (their
        # callers get a Failure), and close the loop so the adapter forgets the connections
        # it opened there.
        futures, self._futures = list(self._futures), weakref.WeakSet()
        for future in futures:
            with contextlib.suppress(RuntimeError):
                future.cancel()
        if not loop.is_running() and not loop.is_closed():
            loop.close()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T] | None:
        """Schedule ``coro`` on the loop; ``None`` (and ``coro`` closed) after ``close``."""
        loop = self._running_loop()
        if loop is None:
            coro.close()
            return None
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        self._futures.add(future)
        return future

    def close(self, final: Callable[[], Coroutine[Any, Any, None]] | None = None) -> None:
        """Cancel the calls still running, run ``final()`` on the loop (to release
        connections), then stop it. Idempotent; waits a few seconds at most, and not at all
        when the thread is already gone."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop, thread = self._loop, self._thread
            ours = self._pid == os.getpid()
        if loop is None or thread is None or not ours or loop.is_closed():
            return
        if threading.current_thread() is thread:
            # Called from the loop itself (a finalizer run by its garbage collection): it
            # cannot wait for itself, so it only asks the loop to stop.
            loop.call_soon(loop.stop)
            return
        if thread.is_alive():
            # Best effort: a server that does not answer must not hold up shutdown.
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(_shut_down(final), loop).result(_CLOSE_WAIT)
            with contextlib.suppress(RuntimeError):  # it may have closed in the meantime
                loop.call_soon_threadsafe(loop.stop)
            thread.join(_CLOSE_WAIT)
        # A call submitted while the loop was stopping never started: cancel it, so that its
        # caller gets an answer instead of waiting for its time limit.
        for future in list(self._futures):
            future.cancel()
        if not thread.is_alive() and not loop.is_running():
            loop.close()


async def _shut_down(final: Callable[[], Coroutine[Any, Any, None]] | None) -> None:
    # Calls still running are cancelled, so that no caller waits on a loop that has stopped
    # (their callers get a Failure, see SharedAsyncCache); then the connections go.
    running = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
    if final is not None:
        await final()


def _run_forever(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    loop.run_forever()
