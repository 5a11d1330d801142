"""The two faces every adapter wears: :class:`AsyncCache` implements :class:`CacheProtocol`,
:class:`SyncCache` implements :class:`SyncCacheProtocol`.

A face only picks the operation and hands it to a driver with its executor; the operation's
logic lives once in :mod:`cache_bridge.engine.operations`. Adapters subclass a face and supply the
executor.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self, TypeVar

from returns.result import Failure, Result

from cache_bridge.config import check_key_prefix
from cache_bridge.engine import operations as ops
from cache_bridge.engine.commands import Command
from cache_bridge.engine.drivers import drive_async, drive_sync
from cache_bridge.engine.keys import KeySpace
from cache_bridge.engine.operations import Op
from cache_bridge.errors import CacheClosedError, DomainError
from cache_bridge.observability.events import Origin, make_origin, without_credentials
from cache_bridge.resilience.breaker import CircuitBreaker
from cache_bridge.resilience.guard import Guard

__all__ = ["AsyncCache", "FaceProber", "SyncCache"]

T = TypeVar("T")


def _closed(op: Op[Any]) -> Failure[DomainError]:
    op.steps.close()
    return Failure(CacheClosedError("the adapter is closed", operation=op.name, key=op.key))


class _Face:
    """What both faces share: the namespace, the closed flag, the guard (circuit breaker and
    outage log, for network adapters) and a readable repr."""

    _face_kind = "sync"

    def __init__(self, key_prefix: str | None, description: str, guard: Guard | None) -> None:
        self._ns = KeySpace(key_prefix)
        self._description = description
        self._guard = guard
        self._closed = False
        # Made once: every event of this face names it (adapters describe themselves as
        # their masked URL, then " prefix=...").
        server = without_credentials(description.split(" prefix=", 1)[0])
        self._origin = make_origin(
            type(self).__qualname__, server, key_prefix or "", self._face_kind
        )

    @property
    def origin(self) -> Origin:
        """What the events of this face's calls name: its class, its server (URL without
        credentials) and key prefix (see :mod:`cache_bridge.observability`)."""
        return self._origin

    def _named_like(self, parent: _Face, key_prefix: str | None) -> None:
        """Report events as ``parent``'s adapter, server, with ``key_prefix``."""
        made = parent.origin
        self._origin = make_origin(made.adapter, made.server, key_prefix or "", made.face)

    @property
    def breaker(self) -> CircuitBreaker | None:
        """The circuit breaker in front of the server, shared by every adapter of the same
        server configuration in the process (``None``: the adapter has none, as the in-memory
        one, or it was turned off with ``breaker_threshold=0``)."""
        return None if self._guard is None else self._guard.breaker

    @property
    def key_prefix(self) -> str | None:
        """The namespace this adapter reads and writes (``None``: the whole database)."""
        return self._ns.prefix[:-1] or None

    @property
    def keyspace(self) -> KeySpace:
        """The namespace as operations take it, for :meth:`run_operation` calls."""
        return self._ns

    @property
    def guard(self) -> Guard | None:
        """What stands between this face and its connections (breaker, probe, outage log),
        shared with every face over them; ``None`` for the in-memory adapter."""
        return self._guard

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` / :meth:`aclose` was called."""
        return self._closed

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return f"<{type(self).__name__} {self._description}{state}>"


class SyncCache(_Face):
    """The blocking face; subclasses pass a function that runs one command."""

    def __init__(
        self,
        execute: Callable[[Command], Any],
        key_prefix: str | None,
        description: str,
        guard: Guard | None = None,
    ) -> None:
        super().__init__(key_prefix, description, guard)
        self._execute = execute

    @property
    def executor(self) -> Callable[[Command], Any]:
        """What runs one command on this adapter's connections (for a face that shares them,
        as ``with_prefix`` makes)."""
        return self._execute

    def run_operation(self, op: Op[T]) -> Result[T, DomainError]:
        """Run an operation (one of :mod:`cache_bridge.engine.operations` or
        :mod:`cache_bridge.engine.bytes_operations`) on this adapter's connections; the same
        guarantees as the protocol methods, which run theirs here."""
        if self._closed:
            return _closed(op)
        return drive_sync(op, self._execute, self._guard, self._origin)

    def with_prefix(self, key_prefix: str | None) -> SyncCache:
        """A face over this adapter's connections with another namespace. Closing it closes
        only the new face; the connections stay with this adapter."""
        key_prefix = check_key_prefix(key_prefix)
        face = SyncCache(
            self._execute, key_prefix, f"{self._description} as {key_prefix!r}", self._guard
        )
        face._named_like(self, key_prefix)
        return face

    def _release(self) -> None:
        """Free the executor's resources (subclasses with connections override)."""

    def close(self) -> None:
        """Release connections; every later call returns ``Failure(CacheClosedError)``."""
        if not self._closed:
            self._closed = True
            self._release()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def get(self, key: str) -> Result[str | None, DomainError]:
        return self.run_operation(ops.get(self._ns, key))

    def get_json(self, key: str) -> Result[dict[str, Any] | None, DomainError]:
        return self.run_operation(ops.get_json(self._ns, key))

    def set(self, key: str, value: str, ttl: int | None = None) -> Result[None, DomainError]:
        return self.run_operation(ops.set_(self._ns, key, value, ttl))

    def set_json(
        self, key: str, value: dict[str, Any], ttl: int | None = None
    ) -> Result[None, DomainError]:
        return self.run_operation(ops.set_json(self._ns, key, value, ttl))

    def delete(self, key: str) -> Result[bool, DomainError]:
        return self.run_operation(ops.delete(self._ns, key))

    def exists(self, key: str) -> Result[bool, DomainError]:
        return self.run_operation(ops.exists(self._ns, key))

    def expire(self, key: str, seconds: int) -> Result[bool, DomainError]:
        return self.run_operation(ops.expire(self._ns, key, seconds))

    def ttl(self, key: str) -> Result[int | None, DomainError]:
        return self.run_operation(ops.ttl(self._ns, key))

    def increment(self, key: str, amount: int = 1) -> Result[int, DomainError]:
        return self.run_operation(ops.increment(self._ns, key, amount))

    def decrement(self, key: str, amount: int = 1) -> Result[int, DomainError]:
        return self.run_operation(ops.decrement(self._ns, key, amount))

    def flush(self) -> Result[None, DomainError]:
        return self.run_operation(ops.flush(self._ns))

    def ping(self) -> Result[bool, DomainError]:
        return self.run_operation(ops.ping(self._ns))

    def delete_pattern(self, pattern: str) -> Result[int, DomainError]:
        return self.run_operation(ops.delete_pattern(self._ns, pattern))

    def get_many(self, keys: list[str]) -> Result[dict[str, str | None], DomainError]:
        return self.run_operation(ops.get_many(self._ns, keys))

    def set_many(
        self, mapping: dict[str, str], ttl: int | None = None
    ) -> Result[None, DomainError]:
        return self.run_operation(ops.set_many(self._ns, mapping, ttl))


class AsyncCache(_Face):
    """The async face; subclasses pass a coroutine function that runs one command."""

    _face_kind = "async"

    def __init__(
        self,
        execute: Callable[[Command], Awaitable[Any]],
        key_prefix: str | None,
        description: str,
        guard: Guard | None = None,
    ) -> None:
        super().__init__(key_prefix, description, guard)
        self._execute = execute

    @property
    def executor(self) -> Callable[[Command], Awaitable[Any]]:
        """What runs one command on this adapter's connections (for a face that shares them,
        as ``with_prefix`` makes)."""
        return self._execute

    async def run_operation(self, op: Op[T]) -> Result[T, DomainError]:
        """Run an operation (one of :mod:`cache_bridge.engine.operations` or
        :mod:`cache_bridge.engine.bytes_operations`) on this adapter's connections; the same
        guarantees as the protocol methods, which run theirs here."""
        if self._closed:
            return _closed(op)
        return await drive_async(op, self._execute, self._guard, self._origin)

    def with_prefix(self, key_prefix: str | None) -> AsyncCache:
        """A face over this adapter's connections with another namespace. Closing it closes
        only the new face; the connections stay with this adapter."""
        key_prefix = check_key_prefix(key_prefix)
        face = AsyncCache(
            self._execute, key_prefix, f"{self._description} as {key_prefix!r}", self._guard
        )
        face._named_like(self, key_prefix)
        return face

    async def _release(self) -> None:
        """Free the executor's resources (subclasses with connections override)."""

    async def aclose(self) -> None:
        """Release connections; every later call returns ``Failure(CacheClosedError)``."""
        if not self._closed:
            self._closed = True
            await self._release()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def get(self, key: str) -> Result[str | None, DomainError]:
        return await self.run_operation(ops.get(self._ns, key))

    async def get_json(self, key: str) -> Result[dict[str, Any] | None, DomainError]:
        return await self.run_operation(ops.get_json(self._ns, key))

    async def set(self, key: str, value: str, ttl: int | None = None) -> Result[None, DomainError]:
        return await self.run_operation(ops.set_(self._ns, key, value, ttl))

    async def set_json(
        self, key: str, value: dict[str, Any], ttl: int | None = None
    ) -> Result[None, DomainError]:
        return await self.run_operation(ops.set_json(self._ns, key, value, ttl))

    async def delete(self, key: str) -> Result[bool, DomainError]:
        return await self.run_operation(ops.delete(self._ns, key))

    async def exists(self, key: str) -> Result[bool, DomainError]:
        return await self.run_operation(ops.exists(self._ns, key))

    async def expire(self, key: str, seconds: int) -> Result[bool, DomainError]:
        return await self.run_operation(ops.expire(self._ns, key, seconds))

    async def ttl(self, key: str) -> Result[int | None, DomainError]:
        return await self.run_operation(ops.ttl(self._ns, key))

    async def increment(self, key: str, amount: int = 1) -> Result[int, DomainError]:
        return await self.run_operation(ops.increment(self._ns, key, amount))

    async def decrement(self, key: str, amount: int = 1) -> Result[int, DomainError]:
        return await self.run_operation(ops.decrement(self._ns, key, amount))

    async def flush(self) -> Result[None, DomainError]:
        return await self.run_operation(ops.flush(self._ns))

    async def ping(self) -> Result[bool, DomainError]:
        return await self.run_operation(ops.ping(self._ns))

    async def delete_pattern(self, pattern: str) -> Result[int, DomainError]:
        return await self.run_operation(ops.delete_pattern(self._ns, pattern))

    async def get_many(self, keys: list[str]) -> Result[dict[str, str | None], DomainError]:
        return await self.run_operation(ops.get_many(self._ns, keys))

    async def set_many(
        self, mapping: dict[str, str], ttl: int | None = None
    ) -> Result[None, DomainError]:
        return await self.run_operation(ops.set_many(self._ns, mapping, ttl))


class FaceProber:
    """A blocking face used to probe its server for a circuit breaker (see
    :class:`cache_bridge.resilience.guard.Prober`): its ``ping`` passes no breaker and writes no
    log."""

    def __init__(self, face: SyncCache) -> None:
        self._face = face

    def probe(self) -> Result[bool, DomainError]:
        face = self._face
        return drive_sync(ops.ping(face.keyspace), face.executor, None, face.origin)

    def close(self) -> None:
        self._face.close()
