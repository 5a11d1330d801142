"""Running a group's steps: each step is a ``(cache, step)`` pair (an operation for a bundled
face's ``run_operation``, or a :class:`~cache_bridge.ratelimit.steps.Call` of a protocol
method), run blocking (:func:`call`, :func:`drive`) or awaited (:func:`acall`,
:func:`adrive`) on the engine's drivers (:mod:`cache_bridge.engine.drivers`)."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, TypeVar, cast

from returns.result import Failure, Result, Success

from cache_bridge.engine.drivers import drive_async, drive_sync
from cache_bridge.engine.operations import Op, Steps
from cache_bridge.errors import DomainError
from cache_bridge.ratelimit.policy import unexpected
from cache_bridge.ratelimit.steps import Call

__all__ = ["Group", "Step", "acall", "adrive", "call", "drive"]

T = TypeVar("T")
Step = Op[Any] | Call
Group = Generator[tuple[Any, Step], Result[Any, DomainError], T]


def _target(pair: tuple[Any, Step]) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """The adapter method a step calls, with its arguments."""
    cache, step = pair
    if isinstance(step, Call):
        return getattr(cache, step.method), step.args
    return cache.run_operation, (step,)


def call(pair: tuple[Any, Step]) -> Result[Any, DomainError]:
    """Run one step, ``(cache, step)``, on a blocking adapter: its Result, or the ``Failure``
    for an adapter that raised."""
    try:
        method, args = _target(pair)
        return method(*args)  # type: ignore[no-any-return]
    except Exception as exc:  # an adapter that raises despite the protocol
        return Failure(unexpected(exc))


async def acall(pair: tuple[Any, Step]) -> Result[Any, DomainError]:
    """:func:`call` on an async adapter."""
    try:
        method, args = _target(pair)
        return await method(*args)  # type: ignore[no-any-return]
    except Exception as exc:  # an adapter that raises despite the protocol
        return Failure(unexpected(exc))


def _op(steps: Group[T]) -> Op[T]:
    # The engine's drivers run any generator of steps; here a step is a (cache, step) pair
    # that call / acall execute, and each answer is sent back as the step's Result.
    return Op("rate_limit", None, cast("Steps[T]", steps))


def _value(result: Result[T, DomainError]) -> T:
    """What the steps returned. They decide every failure of the cache themselves: a
    ``Failure`` here is a defect of the steps, raised as it was before the drivers caught it."""
    if isinstance(result, Success):
        value: T = result.unwrap()
        return value
    error = result.failure()
    cause = getattr(error, "cause", None)
    raise cause if isinstance(cause, Exception) else error


def drive(steps: Group[T]) -> T:
    """Run a group's steps on blocking adapters, by the engine's ``drive_sync``."""
    return _value(drive_sync(_op(steps), call))  # type: ignore[arg-type]


async def adrive(steps: Group[T]) -> T:
    """Run a group's steps on async adapters, by the engine's ``drive_async``."""
    return _value(await drive_async(_op(steps), acall))  # type: ignore[arg-type]
