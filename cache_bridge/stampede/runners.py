"""Run the recipe (:mod:`cache_bridge.stampede.recipe`) on a blocking face, with threads
sharing a computation, or on an async face, with tasks sharing it. The two runners only
interpret effects; every decision is the recipe's."""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from time import perf_counter
from typing import Any

from cache_bridge.faces import AsyncCache, SyncCache
from cache_bridge.observability import events
from cache_bridge.observability.events import StampedeEvent
from cache_bridge.stampede.flights import TASK_FLIGHTS, THREAD_FLIGHTS, Flight
from cache_bridge.stampede.recipe import (
    Compute,
    Pause,
    Recipe,
    Report,
    Run,
    Share,
    StampedeCall,
)

__all__ = ["run_async", "run_sync"]

logger = logging.getLogger("cache_bridge.stampede")
#: What a caller served by its process's leader (single-flight) reports.
_SHARED = Report("shared")
#: Detached recomputations in progress on event loops (a task needs a strong reference).
_detached: set[asyncio.Task[None]] = set()


def _report(face: SyncCache | AsyncCache, key: str, report: Report) -> None:
    """Tell the listeners (called only while some listen) how a call for ``key`` ended."""
    events.emit(StampedeEvent(report.outcome, report.compute_seconds, face.origin, key))


def _steps_sync(
    face: SyncCache, steps: Recipe, compute: Callable[[], Any], flight: Any, key: str
) -> Any:
    reply: Any = None
    send = steps.send
    while True:
        try:
            effect = send(reply)
        except StopIteration as done:
            value, report = done.value
            if events.listeners:  # nothing else while nobody listens
                _report(face, key, report)
            return value
        send, reply = steps.send, None
        match effect:
            case Run(op):
                reply = face.run_operation(op)
            case Compute():
                try:
                    reply = compute()
                except BaseException as exc:  # a cancelled computation gives its lock back too
                    send, reply = steps.throw, exc
            case Pause(seconds):
                time.sleep(seconds)
            case Share(value, detach):
                if flight is not None:
                    flight.serve(value)
                if detach:  # the recomputation goes on in a thread; the stale value now
                    threading.Thread(
                        target=_finish, args=(face, steps, compute, key), daemon=True
                    ).start()
                    return value


def _finish(face: SyncCache, steps: Recipe, compute: Callable[[], Any], key: str) -> None:
    """Run a detached recomputation to its end; its failure is logged (nobody waits)."""
    try:
        _steps_sync(face, steps, compute, None, key)
    except Exception:
        logger.exception("cache_bridge: a background recomputation failed")


async def _afinish(face: AsyncCache, steps: Recipe, compute: Callable[[], Any], key: str) -> None:
    try:
        await _steps_async(face, steps, compute, None, key)
    except Exception:
        logger.exception("cache_bridge: a background recomputation failed")
    finally:
        _detached.discard(asyncio.current_task())  # type: ignore[arg-type,unused-ignore]


async def _steps_async(
    face: AsyncCache, steps: Recipe, compute: Callable[[], Any], flight: Any, key: str
) -> Any:
    reply: Any = None
    send = steps.send
    while True:
        try:
            effect = send(reply)
        except StopIteration as done:
            value, report = done.value
            if events.listeners:  # nothing else while nobody listens
                _report(face, key, report)
            return value
        send, reply = steps.send, None
        match effect:
            case Run(op):
                reply = await face.run_operation(op)
            case Compute():
                try:
                    reply = compute()
                    if inspect.isawaitable(reply):
                        reply = await reply
                except BaseException as exc:  # a cancelled computation gives its lock back too
                    send, reply = steps.throw, exc
            case Pause(seconds):
                await asyncio.sleep(seconds)
            case Share(value, detach):
                if flight is not None:
                    flight.serve(value)
                if detach:
                    _detached.add(asyncio.create_task(_afinish(face, steps, compute, key)))
                    return value


def _led(flight: Flight, value: Any) -> Any:
    flight.serve(value)
    return value


def _shared(face: SyncCache | AsyncCache, call: StampedeCall, flight: Flight) -> Any:
    """What the flight's leader served this caller (its exception raised): the leader's own
    object, or what the codec's ``waiter_copy`` makes of it."""
    value = flight.outcome()
    copy = getattr(call.codec, "waiter_copy", None)
    if copy is not None:
        value = copy(call.full_key, value)
    if events.listeners:
        _report(face, call.key, _SHARED)
    return value


def _run_flight_sync(
    face: SyncCache,
    call: StampedeCall,
    compute: Callable[[], Any],
    flight: Flight,
    landed: Callable[[], None],
) -> Any:
    try:
        return _led(flight, _steps_sync(face, call.steps(), compute, flight, call.key))
    except BaseException as exc:
        flight.fail(exc)
        raise
    finally:
        landed()


def run_sync(face: SyncCache, call: StampedeCall, compute: Callable[[], Any]) -> Any:
    """The value at ``call``'s key, computed by ``compute()`` if need be (see the recipe);
    its exception propagates (to this process's waiters too).

    One deadline, ``wait`` seconds from the call: a waiter that waited out its process's
    flight waits no more; those that did share one follow-up flight, whose leader computes
    at once (unless the value is there now, or the lock is free)."""
    if not call.settings.single_flight:
        return _steps_sync(face, call.steps(), compute, None, call.key)
    key = (face.executor, *call.flight_key)
    flight, leads = THREAD_FLIGHTS.join(key)
    if leads:
        return _run_flight_sync(
            face, call, compute, flight, lambda: THREAD_FLIGHTS.land(key, flight)
        )
    deadline = perf_counter() + call.settings.max_wait
    if flight.done.wait(call.settings.max_wait) and not flight.abandoned:
        return _shared(face, call, flight)
    call = replace(call, deadline=deadline)
    if flight.abandoned:  # its leader was cancelled: on alone, within the same deadline
        return _steps_sync(face, call.steps(), compute, None, call.key)
    follow, leads = THREAD_FLIGHTS.follow(flight)
    if leads:
        return _run_flight_sync(face, call, compute, follow, lambda: None)
    follow.done.wait()  # its leader computes at once: no second wait
    if not follow.abandoned:
        return _shared(face, call, follow)
    return _steps_sync(face, call.steps(), compute, None, call.key)


async def _waited(flight: Flight, seconds: float | None) -> bool:
    assert flight.ready is not None
    try:
        await asyncio.wait_for(flight.ready.wait(), seconds)
    except TimeoutError:
        return False
    return True


async def _run_flight_async(
    face: AsyncCache,
    call: StampedeCall,
    compute: Callable[[], Any],
    flight: Flight,
    landed: Callable[[], None],
) -> Any:
    try:
        return _led(flight, await _steps_async(face, call.steps(), compute, flight, call.key))
    except BaseException as exc:
        flight.fail(exc)
        raise
    finally:
        landed()


async def run_async(face: AsyncCache, call: StampedeCall, compute: Callable[[], Any]) -> Any:
    """Like :func:`run_sync`, for tasks; ``compute`` may be a coroutine function."""
    if not call.settings.single_flight:
        return await _steps_async(face, call.steps(), compute, None, call.key)
    key = (asyncio.get_running_loop(), face.executor, *call.flight_key)
    flight, leads = TASK_FLIGHTS.join(key)
    if leads:
        return await _run_flight_async(
            face, call, compute, flight, lambda: TASK_FLIGHTS.land(key, flight)
        )
    deadline = perf_counter() + call.settings.max_wait
    if await _waited(flight, call.settings.max_wait) and not flight.abandoned:
        return _shared(face, call, flight)
    call = replace(call, deadline=deadline)
    if flight.abandoned:
        return await _steps_async(face, call.steps(), compute, None, call.key)
    follow, leads = TASK_FLIGHTS.follow(flight)
    if leads:
        return await _run_flight_async(face, call, compute, follow, lambda: None)
    await _waited(follow, None)
    if not follow.abandoned:
        return _shared(face, call, follow)
    return await _steps_async(face, call.steps(), compute, None, call.key)
