"""The faces the extension hands out: the app's adapters, with ``close`` left to the app.

An app's adapter and its connection pool are shared by every request, so ``close()`` /
``aclose()`` (and ``with`` / ``async with``) on ``bridge.cache`` or ``bridge.async_cache`` do
nothing; the extension releases the pools when the app is closed, collected or the process
exits. After that, every call returns ``Failure(CacheClosedError)``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Self, TypeVar

from returns.result import Failure, Result

from cache_bridge import CacheClosedError, CacheProtocol, DomainError, SyncCacheProtocol
from flask_cache_bridge.loop_thread import LoopThread

__all__ = ["SharedAsyncCache", "SharedSyncCache"]

T = TypeVar("T")


def _closed(operation: str, key: str | None) -> Failure[DomainError]:
    return Failure(CacheClosedError("the app's cache was closed", operation=operation, key=key))


class SharedSyncCache:
    """The blocking face of an app's cache (a :class:`SyncCacheProtocol`)."""

    def __init__(self, adapter: SyncCacheProtocol) -> None:
        self._adapter = adapter

    def __repr__(self) -> str:
        return f"<SharedSyncCache of {self._adapter!r}>"

    def close(self) -> None:
        """Does nothing: the extension owns the app's pool (see the module docstring)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Leaves the app's cache open."""

    def get(self, key: str) -> Result[str | None, DomainError]:
        return self._adapter.get(key)

    def get_json(self, key: str) -> Result[dict[str, Any] | None, DomainError]:
        return self._adapter.get_json(key)

    def set(self, key: str, value: str, ttl: int | None = None) -> Result[None, DomainError]:
        return self._adapter.set(key, value, ttl)

    def set_json(
        self, key: str, value: dict[str, Any], ttl: int | None = None
    ) -> Result[None, DomainError]:
        return self._adapter.set_json(key, value, ttl)

    def delete(self, key: str) -> Result[bool, DomainError]:
        return self._adapter.delete(key)

    def exists(self, key: str) -> Result[bool, DomainError]:
        return self._adapter.exists(key)

    def expire(self, key: str, seconds: int) -> Result[bool, DomainError]:
        return self._adapter.expire(key, seconds)

    def ttl(self, key: str) -> Result[int | None, DomainError]:
        return self._adapter.ttl(key)

    def increment(self, key: str, amount: int = 1) -> Result[int, DomainError]:
        return self._adapter.increment(key, amount)

    def decrement(self, key: str, amount: int = 1) -> Result[int, DomainError]:
        return self._adapter.decrement(key, amount)

    def flush(self) -> Result[None, DomainError]:
        return self._adapter.flush()

    def ping(self) -> Result[bool, DomainError]:
        return self._adapter.ping()

    def delete_pattern(self, pattern: str) -> Result[int, DomainError]:
        return self._adapter.delete_pattern(pattern)

    def get_many(self, keys: list[str]) -> Result[dict[str, str | None], DomainError]:
        return self._adapter.get_many(keys)

    def set_many(
        self, mapping: dict[str, str], ttl: int | None = None
    ) -> Result[None, DomainError]:
        return self._adapter.set_many(mapping, ttl)


Call = Callable[[CacheProtocol], Coroutine[Any, Any, Result[T, DomainError]]]


class SharedAsyncCache:
    """The async face of an app's cache (a :class:`CacheProtocol`), safe in any event loop.

    With a ``loop_thread`` (Redis), each call runs on that thread's long-lived loop, where the
    adapter keeps one pool, and the result comes back to the caller's loop. Without one (the
    in-memory adapter, which does no I/O), calls run in the caller's loop.
    """

    def __init__(self, adapter: CacheProtocol, loop_thread: LoopThread | None) -> None:
        self._adapter = adapter
        self._loop_thread = loop_thread
        self._closed = False

    def __repr__(self) -> str:
        return f"<SharedAsyncCache of {self._adapter!r}>"

    def mark_closed(self) -> None:
        """Make every later call return ``Failure(CacheClosedError)`` (the app was closed)."""
        self._closed = True

    async def _run(self, operation: str, key: str | None, call: Call[T]) -> Result[T, DomainError]:
        if self._closed:
            return _closed(operation, key)
        if self._loop_thread is None:
            return await call(self._adapter)
        future = self._loop_thread.submit(call(self._adapter))
        if future is None:
            return _closed(operation, key)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # the caller itself is being cancelled
            return _closed(operation, key)  # the app was closed while the call ran

    async def aclose(self) -> None:
        """Does nothing: the extension owns the app's pool (see the module docstring)."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Leaves the app's cache open."""

    async def get(self, key: str) -> Result[str | None, DomainError]:
        return await self._run("get", key, lambda a: a.get(key))

    async def get_json(self, key: str) -> Result[dict[str, Any] | None, DomainError]:
        return await self._run("get_json", key, lambda a: a.get_json(key))

    async def set(self, key: str, value: str, ttl: int | None = None) -> Result[None, DomainError]:
        return await self._run("set", key, lambda a: a.set(key, value, ttl))

    async def set_json(
        self, key: str, value: dict[str, Any], ttl: int | None = None
    ) -> Result[None, DomainError]:
        return await self._run("set_json", key, lambda a: a.set_json(key, value, ttl))

    async def delete(self, key: str) -> Result[bool, DomainError]:
        return await self._run("delete", key, lambda a: a.delete(key))

    async def exists(self, key: str) -> Result[bool, DomainError]:
        return await self._run("exists", key, lambda a: a.exists(key))

    async def expire(self, key: str, seconds: int) -> Result[bool, DomainError]:
        return await self._run("expire", key, lambda a: a.expire(key, seconds))

    async def ttl(self, key: str) -> Result[int | None, DomainError]:
        return await self._run("ttl", key, lambda a: a.ttl(key))

    async def increment(self, key: str, amount: int = 1) -> Result[int, DomainError]:
        return await self._run("increment", key, lambda a: a.increment(key, amount))

    async def decrement(self, key: str, amount: int = 1) -> Result[int, DomainError]:
        return await self._run("decrement", key, lambda a: a.decrement(key, amount))

    async def flush(self) -> Result[None, DomainError]:
        return await self._run("flush", None, lambda a: a.flush())

    async def ping(self) -> Result[bool, DomainError]:
        return await self._run("ping", None, lambda a: a.ping())

    async def delete_pattern(self, pattern: str) -> Result[int, DomainError]:
        return await self._run("delete_pattern", None, lambda a: a.delete_pattern(pattern))

    async def get_many(self, keys: list[str]) -> Result[dict[str, str | None], DomainError]:
        return await self._run("get_many", None, lambda a: a.get_many(keys))

    async def set_many(
        self, mapping: dict[str, str], ttl: int | None = None
    ) -> Result[None, DomainError]:
        return await self._run("set_many", None, lambda a: a.set_many(mapping, ttl))
