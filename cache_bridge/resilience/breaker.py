"""A circuit breaker for network adapters: when the server fails, stop asking it until a
probe finds it answering again.

A connection or timeout failure *opens* the breaker at once: calls fail at once, without
touching a socket, while probes (run by :class:`~cache_bridge.resilience.guard.Guard`, in the
background) ask the server. The first probe goes at once; after a failed one the next goes
``cooldown / threshold`` later (at least 10 ms, at most 0.5 s), until ``threshold`` failures
in a row (the call's, then the probes'); after that one probe per ``cooldown``. A probe
that gets an answer *closes* the breaker, and so does any call that gets one meanwhile
(``ping()`` always goes through). So an outage costs a process one failed call, not
``threshold`` of them per face, and one slow reply from a healthy server costs only the
calls made before the first probe answers.

A reply from the server, even an error reply (out of memory, no permission), counts as an
answer: the server is there. Calls that fail validation never reach the server and count as
nothing; nor does a full client-side pool. The breaker is shared by the threads and event
loops of every adapter of one server configuration in a process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from cache_bridge.config.options import DEFAULT_BREAKER_COOLDOWN, DEFAULT_BREAKER_THRESHOLD
from cache_bridge.config.settings import RedisSettings
from cache_bridge.observability import events

__all__ = [
    "DEFAULT_COOLDOWN",
    "DEFAULT_THRESHOLD",
    "MAX_SPACING",
    "MIN_SPACING",
    "BreakerStats",
    "CircuitBreaker",
    "State",
    "breaker_for",
]

#: Connection/timeout failures in a row (the call's, then the probes') after which the breaker
#: probes only once per cool-down.
DEFAULT_THRESHOLD: Final = DEFAULT_BREAKER_THRESHOLD
#: Seconds between two probes once ``threshold`` failures in a row were seen.
DEFAULT_COOLDOWN: Final = DEFAULT_BREAKER_COOLDOWN

#: The least and the most time between two probes before ``threshold`` failures in a row.
MIN_SPACING: Final = 0.01
MAX_SPACING: Final = 0.5

State = Literal["closed", "open"]


@dataclass(frozen=True, slots=True)
class BreakerStats:
    """A snapshot of a breaker, for logs, metrics and health checks."""

    state: State
    #: Connection/timeout failures since the server last answered (the call that opened the
    #: breaker, then its failed probes).
    consecutive_failures: int
    #: Connection/timeout failures since the breaker was made.
    failures_total: int
    #: Times the breaker opened.
    opened_total: int
    #: Calls failed at once because the breaker was open.
    rejected_total: int
    #: Seconds until the next probe of an open breaker (0.0 when one is due or running now, or
    #: when closed).
    retry_in: float
    #: Probes sent to the server while the breaker was open.
    probes_total: int = 0

    def summary(self) -> str:
        """One line for health-check output and logs."""
        state = f"circuit {self.state}"
        if self.state == "open":
            state += f" (next probe in {self.retry_in:.1f} s)" if self.retry_in else " (probing)"
        return (
            f"{state}; {self.failures_total} connection failures, opened {self.opened_total} "
            f"times, {self.rejected_total} calls failed fast"
        )


class CircuitBreaker:
    """Counts failures of one server and decides whether the next call may try it."""

    def __init__(
        self,
        threshold: int = DEFAULT_THRESHOLD,
        cooldown: float = DEFAULT_COOLDOWN,
        clock: Callable[[], float] = time.monotonic,
        server: str = "",
    ) -> None:
        if threshold < 1:
            raise ValueError("threshold must be at least 1")
        if cooldown <= 0:
            raise ValueError("cooldown must be more than 0 seconds")
        self.threshold = threshold
        self.cooldown = cooldown
        #: The server guarded, without credentials (named in its open/close events).
        self.server = server
        #: Seconds between two probes before ``threshold`` failures in a row.
        self.spacing = min(max(cooldown / threshold, MIN_SPACING), MAX_SPACING)
        self._clock = clock
        self._lock = threading.Lock()
        self._state: State = "closed"
        self._incident = 0  # which opening the probes belong to
        self._probe_at = 0.0
        self._probing = False
        self._consecutive = 0
        self._failures_total = 0
        self._opened_total = 0
        self._rejected_total = 0
        self._probes_total = 0

    @property
    def state(self) -> State:
        """``closed`` (calls go through) or ``open`` (calls fail at once; probes run)."""
        return self._state

    def after_fork(self) -> None:
        """In a forked child: a new lock (a thread of the parent may have held the old one),
        and no probe in flight (its thread is not in the child)."""
        self._lock = threading.Lock()
        if self._probing:
            self._probing = False
            self._probe_at = self._clock()

    def _read_state(self) -> State:
        # A fresh read (after taking the lock), which mypy would otherwise narrow.
        return self._state

    def stats(self) -> BreakerStats:
        with self._lock:
            retry_in = 0.0
            if self._state == "open" and not self._probing:
                retry_in = max(0.0, self._probe_at - self._clock())
            return BreakerStats(
                self._state,
                self._consecutive,
                self._failures_total,
                self._opened_total,
                self._rejected_total,
                retry_in,
                self._probes_total,
            )

    def why_open(self) -> str:
        """What a call refused by the open breaker is told (read without the lock: a
        message, not a decision)."""
        if self._probing or self._probe_at <= self._clock():
            when = "a probe runs now"
        else:
            when = f"next probe in {self._probe_at - self._clock():.2f} s"
        return (
            f"the circuit breaker is open after {self._consecutive} connection failure(s) in "
            f"a row; {when}"
        )

    def allow(self, force: bool = False) -> bool:
        """Whether a call may go to the server now (``force``: a health check, which always
        may). A call that goes reports how it ended with :meth:`succeeded` or
        :meth:`failed`, if it tells anything about the server."""
        if self._state == "closed" or force:  # the fast path takes no lock
            return True
        with self._lock:
            if self._read_state() == "closed":  # closed meanwhile
                return True
            self._rejected_total += 1
            return False

    def succeeded(self) -> bool:
        """The server answered (a call, or a probe). ``True`` if this closed the breaker."""
        if self._state == "closed":
            return False
        with self._lock:
            if self._read_state() == "closed":  # closed meanwhile
                return False
            self._state = "closed"
            self._consecutive = 0
            self._probing = False
        if events.listeners:
            events.emit(events.BreakerEvent("closed", self.server, 0))
        return True

    def failed(self) -> bool:
        """A call could not reach the server or got no answer in time. ``True`` if this
        opened the breaker (then the first probe is due at once, or after the cool-down with
        ``threshold=1``). A call that was let through before the breaker opened and fails
        after it only counts in ``failures_total``: it belongs to the same outage."""
        with self._lock:
            self._failures_total += 1
            if self._state != "closed":
                return False
            self._state = "open"
            self._incident += 1
            self._consecutive = 1
            self._opened_total += 1
            self._probe_at = self._clock() + (self.cooldown if self.threshold == 1 else 0.0)
        if events.listeners:
            events.emit(events.BreakerEvent("open", self.server, 1))
        return True

    def next_probe_in(self) -> float | None:
        """Seconds until a probe is due (``0.0``: now); ``None`` while closed."""
        with self._lock:
            if self._state == "closed":
                return None
            return max(0.0, self._probe_at - self._clock())

    def start_probe(self) -> int | None:
        """Claim the probe that is due now: its ticket for :meth:`probe_failed`. ``None`` if
        none is due (closed, or cooling down)."""
        with self._lock:
            if self._state == "closed" or self._probe_at > self._clock():
                return None
            self._probes_total += 1
            self._probing = True
            # The next one waits for this one's result (probe_failed sets the time), or, if
            # that never comes (its thread was lost in a fork), for the cool-down.
            self._probe_at = self._clock() + self.cooldown
            return self._incident

    def probe_failed(self, ticket: int) -> bool:
        """The probe with ``ticket`` got no answer. ``True`` if this made ``threshold``
        failures in a row: from now on one probe per cool-down."""
        with self._lock:
            if self._state == "closed" or ticket != self._incident:
                return False  # the server answered meanwhile: this result is stale
            self._probing = False
            self._failures_total += 1
            self._consecutive += 1
            cooling = self._consecutive >= self.threshold
            self._probe_at = self._clock() + (self.cooldown if cooling else self.spacing)
            return self._consecutive == self.threshold


def breaker_for(settings: RedisSettings) -> CircuitBreaker | None:
    """A new circuit breaker for one server's connections (``None`` with
    ``breaker_threshold=0``)."""
    if settings.breaker_threshold == 0:
        return None
    return CircuitBreaker(
        settings.breaker_threshold, settings.breaker_cooldown, server=settings.masked_url()
    )
