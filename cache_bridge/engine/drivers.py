"""Run an operation against an executor, blocking or awaiting: the one place where anything
an operation or an executor raises becomes a ``Failure``, where a :class:`Gate` (a
network adapter's circuit breaker and outage log) admits an operation and learns how it ended,
and where an operation's event goes to the listeners of :mod:`cache_bridge.observability`.

Only exceptions that are not :class:`Exception` (``asyncio.CancelledError``,
``KeyboardInterrupt``, ``SystemExit``) pass through.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import Any, Protocol, TypeVar

from returns.result import Failure, Result, Success

from cache_bridge import errors
from cache_bridge.engine.bytes_operations import MISSING
from cache_bridge.engine.codec import Undecodable
from cache_bridge.engine.commands import Command, CommandRefused
from cache_bridge.engine.keys import InvalidArgument
from cache_bridge.engine.operations import Op
from cache_bridge.errors import CacheError, DomainError
from cache_bridge.observability import events
from cache_bridge.observability.events import READS, OperationEvent, Origin, origin_of

__all__ = ["Gate", "drive_async", "drive_sync", "register_translator", "to_cache_error"]

T = TypeVar("T")

SyncExecute = Callable[[Command], Any]
AsyncExecute = Callable[[Command], Awaitable[Any]]

# Filled by adapters whose client library has exceptions of its own (see adapters.redis).
_translators: list[Callable[[Exception, str, str | None], CacheError | None]] = []


def register_translator(
    translate: Callable[[Exception, str, str | None], CacheError | None],
) -> None:
    """Teach the drivers to map a client library's exceptions to :class:`CacheError`."""
    if translate not in _translators:
        _translators.append(translate)


def to_cache_error(exc: Exception, operation: str, key: str | None) -> CacheError:
    """The error value for ``exc`` raised while running ``operation`` on ``key``."""
    match exc:
        case CacheError():
            # Executors raise these without knowing the call; name it here.
            return type(exc)(exc.message, operation=operation, key=key, cause=exc.cause)
        case InvalidArgument():
            return errors.CacheInvalidArgumentError(str(exc), operation=operation, key=key)
        case Undecodable():
            return errors.CacheSerializationError(str(exc), operation=operation, key=key, cause=exc)
        case CommandRefused():
            return errors.CacheValueError(str(exc), operation=operation, key=key, cause=exc)
    for translate in _translators:
        translated = translate(exc, operation, key)
        if translated is not None:
            return translated
    if isinstance(exc, TimeoutError):
        return errors.CacheTimeoutError(
            "the cache did not answer in time", operation=operation, key=key, cause=exc
        )
    if isinstance(exc, ConnectionError | OSError):
        return errors.CacheConnectionError(
            f"the cache could not be reached ({exc})", operation=operation, key=key, cause=exc
        )
    return CacheError(
        f"unexpected {type(exc).__name__}: {exc}", operation=operation, key=key, cause=exc
    )


class Gate(Protocol):
    """What stands in front of an executor (see :class:`cache_bridge.resilience.guard.Guard`)."""

    def admit(self, op: Op[Any]) -> Failure[DomainError] | None:
        """``None`` if ``op`` may run now; else the Failure to return at once (``op`` closed)."""
        ...

    def settle(self, result: Result[Any, DomainError] | None) -> None:
        """How an admitted operation ended (``None``: it was interrupted, e.g. cancelled)."""
        ...


def _finished(
    op: Op[Any],
    result: Result[Any, DomainError],
    started: float,
    execute: object,
    origin: Origin | None,
) -> None:
    """Give the event of ``op``, which ended with ``result``, to the listeners (called only
    while someone listens; what a listener raises is swallowed, as by ``events.emit``)."""
    duration = perf_counter() - started
    name = op.name
    # isinstance and unwrap, not match: this runs on every call while someone listens
    if isinstance(result, Success):
        value = result.unwrap()
        # a read misses with None, or with MISSING (the framework backends' readable gets)
        hit = (value is not None and value is not MISSING) if name in READS else None
        outcome = "success"
    else:
        outcome, hit = type(result.failure()).__name__, None
    event = OperationEvent(name, outcome, hit, duration, origin or origin_of(execute), op.key)
    for listener in events.listeners:  # emit(), inlined: one call less per operation
        try:
            listener(event)
        except Exception:  # observing must never break a cache call
            continue


def drive_sync(
    op: Op[T],
    execute: SyncExecute,
    gate: Gate | None = None,
    origin: Origin | None = None,
) -> Result[T, DomainError]:
    """Run ``op`` to its end, executing each command as it comes, and wrap its outcome; with a
    ``gate``, only if it admits ``op``, and tell it the outcome. Its event (while someone
    listens) names ``origin`` (default: the executor's class)."""
    watched = events.listeners  # () when nothing listens: then this is all it costs
    started = perf_counter() if watched else 0.0
    if gate is not None and (refused := gate.admit(op)) is not None:
        if watched:
            _finished(op, refused, started, execute, origin)
        return refused
    steps = op.steps
    try:
        command = next(steps)
        while True:
            command = steps.send(execute(command))
    except StopIteration as done:
        result: Result[T, DomainError] = Success(done.value)
    except Exception as exc:
        steps.close()
        result = Failure(to_cache_error(exc, op.name, op.key))
    except BaseException:  # KeyboardInterrupt and the like: the call tells the gate nothing
        if gate is not None:
            gate.settle(None)
        raise
    if gate is not None:
        gate.settle(result)
    if watched:
        _finished(op, result, started, execute, origin)
    return result


async def drive_async(
    op: Op[T],
    execute: AsyncExecute,
    gate: Gate | None = None,
    origin: Origin | None = None,
) -> Result[T, DomainError]:
    """Like :func:`drive_sync`, awaiting each command."""
    watched = events.listeners  # () when nothing listens: then this is all it costs
    started = perf_counter() if watched else 0.0
    if gate is not None and (refused := gate.admit(op)) is not None:
        if watched:
            _finished(op, refused, started, execute, origin)
        return refused
    steps = op.steps
    try:
        command = next(steps)
        while True:
            command = steps.send(await execute(command))
    except StopIteration as done:
        result: Result[T, DomainError] = Success(done.value)
    except Exception as exc:
        steps.close()
        result = Failure(to_cache_error(exc, op.name, op.key))
    except BaseException:  # cancelled: it frees a probe slot and counts as nothing
        if gate is not None:
            gate.settle(None)
        raise
    if gate is not None:
        gate.settle(result)
    if watched:
        _finished(op, result, started, execute, origin)
    return result
