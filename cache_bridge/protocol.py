"""The cache contract: an async face, a blocking face with the same method names, and the
record the in-memory adapter keeps per key.

Every method returns a ``returns.result.Result`` and never raises: a cache that is down,
misconfigured at run time or closed gives ``Failure(CacheError)``, so callers can fail open.
The full rules each method follows are in docs/contract.md ("The contract").
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Protocol, Self, TypedDict, runtime_checkable

from returns.result import Result
from typing_extensions import ReadOnly

from cache_bridge.errors import DomainError

__all__ = ["CacheEntry", "CacheProtocol", "SyncCacheProtocol"]


class CacheEntry(TypedDict):
    """What the in-memory adapter stores for one key.

    ``ttl`` is the lifetime in seconds given when the expiry was last set (``None``: never
    expires); ``created_at`` and ``expires_at`` are readings of the adapter's clock (Unix time
    unless a clock was injected). ``value`` is ``bytes`` for values written by the bytes-level
    operations (:mod:`cache_bridge.engine.bytes_operations`, used by the Django backend).
    """

    key: ReadOnly[str]
    value: str | bytes
    ttl: int | None
    created_at: ReadOnly[float]
    expires_at: float | None


@runtime_checkable
class CacheProtocol(Protocol):
    """The async cache contract. Use it from ``async def`` code; all methods are awaitable."""

    async def get(self, key: str) -> Result[str | None, DomainError]:
        """The value stored at ``key``, or ``None`` on a miss."""
        ...

    async def get_json(self, key: str) -> Result[dict[str, Any] | None, DomainError]:
        """The JSON object stored at ``key``; a stored value that is not one is a Failure."""
        ...

    async def set(self, key: str, value: str, ttl: int | None = None) -> Result[None, DomainError]:
        """Store ``value`` at ``key``, expiring after ``ttl`` seconds (``None``: never)."""
        ...

    async def set_json(
        self, key: str, value: dict[str, Any], ttl: int | None = None
    ) -> Result[None, DomainError]:
        """Store a dict as strict JSON text; anything not strict JSON writes nothing."""
        ...

    async def delete(self, key: str) -> Result[bool, DomainError]:
        """Remove ``key``; ``True`` if it existed."""
        ...

    async def exists(self, key: str) -> Result[bool, DomainError]:
        """Whether ``key`` holds a live value."""
        ...

    async def expire(self, key: str, seconds: int) -> Result[bool, DomainError]:
        """Make ``key`` expire in ``seconds``; ``False`` if it does not exist."""
        ...

    async def ttl(self, key: str) -> Result[int | None, DomainError]:
        """Whole seconds left (rounded up); ``None`` if missing or never expiring."""
        ...

    async def increment(self, key: str, amount: int = 1) -> Result[int, DomainError]:
        """Atomically add ``amount``; a missing key starts at 0. Returns the new value."""
        ...

    async def decrement(self, key: str, amount: int = 1) -> Result[int, DomainError]:
        """Atomically subtract ``amount``; a missing key starts at 0. Returns the new value."""
        ...

    async def flush(self) -> Result[None, DomainError]:
        """Delete the adapter's namespace (its ``key_prefix``), or the whole database."""
        ...

    async def ping(self) -> Result[bool, DomainError]:
        """``Success(True)`` when the cache answers."""
        ...

    async def delete_pattern(self, pattern: str) -> Result[int, DomainError]:
        """Delete the keys matching a Redis glob pattern; returns how many were deleted."""
        ...

    async def get_many(self, keys: list[str]) -> Result[dict[str, str | None], DomainError]:
        """Every requested key mapped to its value or ``None``, in one round trip."""
        ...

    async def set_many(
        self, mapping: dict[str, str], ttl: int | None = None
    ) -> Result[None, DomainError]:
        """Store every pair atomically, in one round trip, with one TTL for all."""
        ...

    async def aclose(self) -> None:
        """Release connections; every later call returns a Failure."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@runtime_checkable
class SyncCacheProtocol(Protocol):
    """The blocking twin of :class:`CacheProtocol`: same names, same rules, no ``await``."""

    def get(self, key: str) -> Result[str | None, DomainError]:
        """The value stored at ``key``, or ``None`` on a miss."""
        ...

    def get_json(self, key: str) -> Result[dict[str, Any] | None, DomainError]:
        """The JSON object stored at ``key``; a stored value that is not one is a Failure."""
        ...

    def set(self, key: str, value: str, ttl: int | None = None) -> Result[None, DomainError]:
        """Store ``value`` at ``key``, expiring after ``ttl`` seconds (``None``: never)."""
        ...

    def set_json(
        self, key: str, value: dict[str, Any], ttl: int | None = None
    ) -> Result[None, DomainError]:
        """Store a dict as strict JSON text; anything not strict JSON writes nothing."""
        ...

    def delete(self, key: str) -> Result[bool, DomainError]:
        """Remove ``key``; ``True`` if it existed."""
        ...

    def exists(self, key: str) -> Result[bool, DomainError]:
        """Whether ``key`` holds a live value."""
        ...

    def expire(self, key: str, seconds: int) -> Result[bool, DomainError]:
        """Make ``key`` expire in ``seconds``; ``False`` if it does not exist."""
        ...

    def ttl(self, key: str) -> Result[int | None, DomainError]:
        """Whole seconds left (rounded up); ``None`` if missing or never expiring."""
        ...

    def increment(self, key: str, amount: int = 1) -> Result[int, DomainError]:
        """Atomically add ``amount``; a missing key starts at 0. Returns the new value."""
        ...

    def decrement(self, key: str, amount: int = 1) -> Result[int, DomainError]:
        """Atomically subtract ``amount``; a missing key starts at 0. Returns the new value."""
        ...

    def flush(self) -> Result[None, DomainError]:
        """Delete the adapter's namespace (its ``key_prefix``), or the whole database."""
        ...

    def ping(self) -> Result[bool, DomainError]:
        """``Success(True)`` when the cache answers."""
        ...

    def delete_pattern(self, pattern: str) -> Result[int, DomainError]:
        """Delete the keys matching a Redis glob pattern; returns how many were deleted."""
        ...

    def get_many(self, keys: list[str]) -> Result[dict[str, str | None], DomainError]:
        """Every requested key mapped to its value or ``None``, in one round trip."""
        ...

    def set_many(
        self, mapping: dict[str, str], ttl: int | None = None
    ) -> Result[None, DomainError]:
        """Store every pair atomically, in one round trip, with one TTL for all."""
        ...

    def close(self) -> None:
        """Release connections; every later call returns a Failure."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
