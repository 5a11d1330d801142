"""Distributed locks over any cache_bridge adapter, blocking (:class:`CacheLock`) and async
(:class:`AsyncCacheLock`), with redis-py's ``Lock`` semantics.

Taking the lock stores a random owner token at its key (``SET NX PX``); giving it back deletes
the key only if it still holds that token (one atomic compare-and-delete), so a holder whose
lock expired cannot delete the next holder's lock. ``extend`` and ``reacquire`` are owner-only
too. On memory:// the lock is in-process (threads and tasks of one process); on Redis Cluster
the key lives in one hash slot like any key; with Sentinel a failover can lose a lock
(replication is asynchronous).

Locks do not fail open: when the cache cannot be reached, taking, giving back or extending a
lock raises the error (a :class:`~cache_bridge.errors.CacheError`), because pretending to
hold a lock lets two holders corrupt what it protects.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from returns.result import Failure, Result, Success

from cache_bridge.engine import lock_operations as ops
from cache_bridge.engine.keys import KeySpace
from cache_bridge.engine.operations import Op
from cache_bridge.errors import CacheError, DomainError
from cache_bridge.faces import AsyncCache, SyncCache

__all__ = ["AsyncCacheLock", "CacheLock", "LockError", "LockNotOwnedError"]

try:  # a migrating ``except redis.exceptions.LockError`` keeps working
    from redis.exceptions import LockError as _RedisLockError
    from redis.exceptions import LockNotOwnedError as _RedisNotOwned
except ImportError:  # pragma: no cover (redis-py not installed)
    _RedisLockError = Exception  # type: ignore[assignment,misc]
    _RedisNotOwned = Exception  # type: ignore[assignment,misc]


class LockError(CacheError, _RedisLockError):  # type: ignore[misc]
    """A lock could not be taken in time, or was given back while not held."""


class LockNotOwnedError(LockError, _RedisNotOwned):  # type: ignore[misc]
    """The lock is not held by this owner any more (it expired, and maybe another took it)."""


def _raise(error: DomainError) -> Any:
    raise error


def _value(result: Result[Any, DomainError]) -> Any:
    """The value of a Success; a Failure's error raised (locks do not fail open)."""
    match result:
        case Success(value):
            return value
        case Failure(error):
            return _raise(error)
    raise AssertionError("unreachable")  # pragma: no cover


class _Tries:
    """One ``acquire``: the next attempt, and how long to pause after a refusal."""

    def __init__(self, lock: _LockState, blocking: bool, wait: float | None, token: bytes) -> None:
        self.lock = lock
        self.blocking = blocking
        self.deadline = None if wait is None else time.monotonic() + wait
        self.token = token
        self.done = False
        self.acquired = False

    def next_op(self) -> Op[bool] | None:
        if self.done:
            return None
        return ops.take_lock(self.lock.ns, self.lock.name, self.token, self.lock.ttl_ms)

    def outcome(self, result: Result[bool, DomainError]) -> float:
        """Seconds to pause before the next attempt (0: no more attempts)."""
        if _value(result):
            self.done = self.acquired = True
            self.lock.hold(self.token)
            return 0.0
        left = None if self.deadline is None else self.deadline - time.monotonic()
        if not self.blocking or (left is not None and left <= 0):
            self.done = True
            return 0.0
        pause = self.lock.sleep * random.uniform(0.5, 1.5)  # jitter, so waiters do not herd
        return pause if left is None else max(0.001, min(pause, left))


class _LockState:
    """What both faces' locks share: the key, the settings, the owner token and the steps."""

    def __init__(
        self,
        ns: KeySpace,
        name: str,
        *,
        timeout: float | None = None,
        sleep: float = 0.1,
        blocking: bool = True,
        blocking_timeout: float | None = None,
        thread_local: bool = True,
    ) -> None:
        if timeout is not None and timeout <= 0:
            raise ValueError(f"a lock's timeout must be positive seconds or None, not {timeout}")
        self.ns = ns
        self.name = name
        self.timeout = timeout
        self.ttl_ms = None if timeout is None else max(1, round(timeout * 1000))
        self.sleep = sleep
        self.blocking = blocking
        self.blocking_timeout = blocking_timeout
        self._local: Any = threading.local() if thread_local else type("Shared", (), {})()
        self._local.token = None

    @property
    def token(self) -> bytes | None:
        """This owner's token while it holds the lock (per thread with ``thread_local``)."""
        return getattr(self._local, "token", None)

    def hold(self, token: bytes | None) -> None:
        self._local.token = token

    def _tries(self, blocking: bool | None, blocking_timeout: float | None, token: Any) -> _Tries:
        blocking = self.blocking if blocking is None else blocking
        wait = self.blocking_timeout if blocking_timeout is None else blocking_timeout
        given = token.encode("utf-8") if isinstance(token, str) else token
        return _Tries(self, blocking, wait, ops.new_token() if given is None else given)

    def _owner_op(self, make: Callable[[bytes], Op[Any]]) -> Op[Any]:
        token = self.token
        if token is None:
            raise LockError("cannot release an unlocked lock", operation="lock", key=self.name)
        return make(token)

    def _release_op(self) -> Op[bool]:
        return self._owner_op(lambda token: ops.release_lock(self.ns, self.name, token))

    def _released(self, result: Result[bool, DomainError]) -> None:
        self.hold(None)
        if not _value(result):
            raise LockNotOwnedError(
                "cannot release a lock that is no longer owned", operation="lock", key=self.name
            )

    def _extend_op(self, additional_time: float | None, replace_ttl: bool) -> Op[int]:
        seconds = self.timeout if additional_time is None else additional_time
        if seconds is None:
            raise LockError("cannot extend a lock with no timeout", operation="lock", key=self.name)
        millis = max(1, round(seconds * 1000))
        return self._owner_op(
            lambda token: ops.extend_lock(self.ns, self.name, token, millis, not replace_ttl)
        )

    def _extended(self, result: Result[int, DomainError]) -> bool:
        answer = _value(result)
        if answer == 0:
            raise LockNotOwnedError(
                "cannot extend a lock that is no longer owned", operation="lock", key=self.name
            )
        if answer < 0:
            raise LockError("cannot extend a lock with no timeout", operation="lock", key=self.name)
        return True

    def _locked_op(self) -> Op[bool]:
        return ops.lock_held(self.ns, self.name)

    def _owned_op(self) -> Op[bool] | None:
        token = self.token
        return None if token is None else ops.lock_owned(self.ns, self.name, token)

    def _unacquired(self) -> LockError:
        return LockError(
            "unable to acquire the lock within the time specified", operation="lock", key=self.name
        )


class CacheLock(_LockState):
    """A lock on a blocking face (``with cache_lock: ...``); see the module."""

    def __init__(self, face: SyncCache, ns: KeySpace, name: str, **settings: Any) -> None:
        super().__init__(ns, name, **settings)
        self.face = face
        self._pause = time.sleep

    def acquire(
        self, blocking: bool | None = None, blocking_timeout: float | None = None, token: Any = None
    ) -> bool:
        """Take the lock, waiting while ``blocking`` up to ``blocking_timeout`` seconds
        (``None``: forever); whether it was taken. Raises if the cache fails."""
        tries = self._tries(blocking, blocking_timeout, token)
        while (op := tries.next_op()) is not None:
            if (pause := tries.outcome(self.face.run_operation(op))) > 0:
                self._pause(pause)
        return tries.acquired

    def release(self) -> None:
        """Give the lock back; :class:`LockNotOwnedError` if it is not ours any more."""
        self._released(self.face.run_operation(self._release_op()))

    def extend(self, additional_time: float | None = None, replace_ttl: bool = False) -> bool:
        """Add ``additional_time`` seconds to the lock's time left (or, with ``replace_ttl``,
        make it expire in that many); owner only."""
        return self._extended(
            self.face.run_operation(self._extend_op(additional_time, replace_ttl))
        )

    def reacquire(self) -> bool:
        """Make the lock expire in its full ``timeout`` again; owner only."""
        return self._extended(self.face.run_operation(self._extend_op(None, True)))

    def locked(self) -> bool:
        """Whether anyone holds the lock."""
        return bool(_value(self.face.run_operation(self._locked_op())))

    def owned(self) -> bool:
        """Whether this owner holds the lock."""
        op = self._owned_op()
        return False if op is None else bool(_value(self.face.run_operation(op)))

    def __enter__(self) -> CacheLock:
        if self.acquire():
            return self
        raise self._unacquired()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


class AsyncCacheLock(_LockState):
    """A lock on an async face (``async with cache_lock: ...``); see the module."""

    def __init__(self, face: AsyncCache, ns: KeySpace, name: str, **settings: Any) -> None:
        super().__init__(ns, name, **settings)
        self.face = face
        self._apause = asyncio.sleep

    async def acquire(
        self, blocking: bool | None = None, blocking_timeout: float | None = None, token: Any = None
    ) -> bool:
        tries = self._tries(blocking, blocking_timeout, token)
        while (op := tries.next_op()) is not None:
            if (pause := tries.outcome(await self.face.run_operation(op))) > 0:
                await self._apause(pause)
        return tries.acquired

    async def release(self) -> None:
        self._released(await self.face.run_operation(self._release_op()))

    async def extend(self, additional_time: float | None = None, replace_ttl: bool = False) -> bool:
        return self._extended(
            await self.face.run_operation(self._extend_op(additional_time, replace_ttl))
        )

    async def reacquire(self) -> bool:
        return self._extended(await self.face.run_operation(self._extend_op(None, True)))

    async def locked(self) -> bool:
        return bool(_value(await self.face.run_operation(self._locked_op())))

    async def owned(self) -> bool:
        op = self._owned_op()
        return False if op is None else bool(_value(await self.face.run_operation(op)))

    async def __aenter__(self) -> AsyncCacheLock:
        if await self.acquire():
            return self
        raise self._unacquired()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.release()
