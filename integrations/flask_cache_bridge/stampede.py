"""Stampede protection for the Flask function and view caches (``stampede=`` on
``@bridge.memoize`` and ``@bridge.cached``): the core recipe (:mod:`cache_bridge.stampede`) on
the app's blocking or async face. See docs/stampede.md."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from cache_bridge.faces import AsyncCache
from cache_bridge.stampede import StampedeSettings, ValueFormat, aget_or_compute, get_or_compute
from cache_bridge.values import MISSING

__all__ = ["Generational", "NotStored", "protected", "storable_compute"]


class NotStored(Exception):
    """A protected computation's value that must not be stored (``value`` is its answer)."""

    def __init__(self, value: Any) -> None:
        super().__init__("not stored")
        self.value = value


def _protected_sync(face: Any, key: str, compute: Callable[[], Any], ttl: int, how: Any) -> Any:
    try:
        return get_or_compute(face, key, compute, ttl, settings=how[0], codec=how[1])
    except NotStored as refused:
        return refused.value


async def _protected_async(
    face: Any, key: str, compute: Callable[[], Any], ttl: int, how: Any
) -> Any:
    try:
        return await aget_or_compute(face, key, compute, ttl, settings=how[0], codec=how[1])
    except NotStored as refused:
        return refused.value


def protected(
    face: Any,
    key: str,
    compute: Callable[[], Any],
    ttl: int,
    how: tuple[StampedeSettings, ValueFormat],
) -> Any:
    """Stampede-protected get-or-compute on the app's blocking face, or an awaitable on its
    async face; a computation that raises :class:`NotStored` answers its value, unstored."""
    if isinstance(face, AsyncCache):
        return _protected_async(face, key, compute, ttl, how)
    return _protected_sync(face, key, compute, ttl, how)


class Generational:
    """The app's codec, storing each value with the generation it was computed under and
    reading only the current generation's (see the module).

    Callers of different generations never share a computation (``flight_tag``), and each
    single-flight waiter gets its own copy of the value, decoded from its encoding, as plain
    memoize gives every call its own (``waiter_copy``)."""

    def __init__(self, codec: ValueFormat, generation: int) -> None:
        self.codec = codec
        self.generation = generation

    @property
    def flight_tag(self) -> int:
        return self.generation

    def waiter_copy(self, key: str, value: Any) -> Any:
        try:
            copied = self.codec.loads(key, self.codec.dumps(key, value))
        except Exception:  # not encodable (then it was not stored): the shared object
            return value
        return value if copied is MISSING else copied

    def dumps(self, key: str, value: Any) -> bytes:
        return self.codec.dumps(key, [self.generation, value])

    def loads(self, key: str, data: bytes) -> Any:
        entry = self.codec.loads(key, data)
        if isinstance(entry, list) and len(entry) == 2 and entry[0] == self.generation:
            return entry[1]
        return MISSING


def storable_compute(policy: Any, call: Callable[[], Any]) -> Callable[[], Any]:
    """``call`` for the stampede recipe: a value the policy does not store raises NotStored."""

    def checked(value: Any) -> Any:
        if not policy.storable(value):
            raise NotStored(value)
        return value

    if inspect.iscoroutinefunction(policy.function):

        async def compute_async() -> Any:
            return checked(await call())

        return compute_async
    return lambda: checked(call())
