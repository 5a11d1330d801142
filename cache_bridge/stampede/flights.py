"""Single-flight inside a process: the first caller for a key computes (the leader), the
others wait for its value, at most a bounded time. Threads wait on a ``threading.Event``;
tasks on an ``asyncio.Event`` of their own loop (flights never cross event loops)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Hashable
from typing import Any

__all__ = ["TASK_FLIGHTS", "THREAD_FLIGHTS", "Flight", "Flights"]


class Flight:
    """One computation in progress: what its waiters get, once the leader has it."""

    def __init__(self, tasks: bool) -> None:
        self.done = threading.Event()
        self.ready = asyncio.Event() if tasks else None  # what tasks await, in the leader's loop
        self.value: Any = None
        self.error: BaseException | None = None
        #: The leader stopped without an answer (cancelled, interrupted): waiters go alone.
        self.abandoned = False
        #: The flight its waiters that waited out the deadline share (see :meth:`Flights.follow`).
        self.follow_up: Flight | None = None

    def serve(self, value: Any) -> None:
        """Give waiters ``value`` (the new one, or a stale one while the new one is made)."""
        if not self.done.is_set():
            self.value = value
            self._land()

    def fail(self, error: BaseException) -> None:
        """Give waiters the leader's exception; if it is a cancellation or an interrupt
        (not an :class:`Exception`), it is the leader's alone: waiters go on by themselves."""
        if not self.done.is_set():
            if isinstance(error, Exception):
                self.error = error
            else:
                self.abandoned = True
            self._land()

    def _land(self) -> None:
        self.done.set()
        if self.ready is not None:
            self.ready.set()

    def outcome(self) -> Any:
        """The value served, or the leader's exception raised."""
        if self.error is not None:
            raise self.error
        return self.value


class Flights:
    """The flights in progress in this process, by (store, key); thread-safe."""

    def __init__(self, tasks: bool) -> None:
        self.tasks = tasks
        self._flights: dict[Hashable, Flight] = {}
        self._guard = threading.Lock()

    def join(self, key: Hashable) -> tuple[Flight, bool]:
        """The flight for ``key`` and whether the caller leads it (then it must :meth:`land`)."""
        with self._guard:
            flight = self._flights.get(key)
            if flight is not None:
                return flight, False
            flight = self._flights[key] = Flight(self.tasks)
            return flight, True

    def follow(self, flight: Flight) -> tuple[Flight, bool]:
        """The one follow-up of ``flight`` for its waiters that waited it out, and whether the
        caller leads it (it computes at once; it needs no landing: it goes with ``flight``)."""
        with self._guard:
            if flight.follow_up is not None:
                return flight.follow_up, False
            flight.follow_up = Flight(self.tasks)
            return flight.follow_up, True

    def land(self, key: Hashable, flight: Flight) -> None:
        """The leader is done: later callers start a new flight."""
        with self._guard:
            if self._flights.get(key) is flight:
                del self._flights[key]

    def __len__(self) -> int:
        return len(self._flights)


#: The process's flights of blocking callers and of tasks.
THREAD_FLIGHTS = Flights(tasks=False)
TASK_FLIGHTS = Flights(tasks=True)
