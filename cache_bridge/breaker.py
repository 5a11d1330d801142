"""A circuit breaker for network adapters: when the server keeps failing, stop asking it.

After ``threshold`` consecutive connection or timeout failures the breaker *opens*: calls
fail at once, without touching a socket, for ``cooldown`` seconds. Then it is *half-open*:
one call goes through as a probe while the others keep failing fast; the probe's success
*closes* the breaker, its failure opens it for another cool-down.

A reply from the server, even an error reply (out of memory, no permission), counts as a
success: the server is there. Calls that fail validation never reach the server and count as
nothing. The breaker is shared by the threads and event loops of one adapter.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["DEFAULT_COOLDOWN", "DEFAULT_THRESHOLD", "BreakerStats", "CircuitBreaker", "State"]

#: Consecutive connection/timeout failures that open the breaker.
DEFAULT_THRESHOLD: Final = 5
#: Seconds an open breaker fails calls at once before it lets a probe through.
DEFAULT_COOLDOWN: Final = 2.0

State = Literal["closed", "open", "half-open"]


@dataclass(frozen=True, slots=True)
class BreakerStats:
    """A snapshot of a breaker, for logs, metrics and health checks."""

    state: State
    #: Connection/timeout failures since the server last answered.
    consecutive_failures: int
    #: Connection/timeout failures since the adapter was made.
    failures_total: int
    #: Times the breaker opened.
    opened_total: int
    #: Calls failed at once because the breaker was open.
    rejected_total: int
    #: Seconds until an open breaker lets a probe through (0.0 unless open).
    retry_in: float

    def summary(self) -> str:
        """One line for health-check output and logs."""
        state = f"circuit {self.state}"
        if self.state == "open":
            state += f" (next probe in {self.retry_in:.1f} s)"
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
    ) -> None:
        if threshold < 1:
            raise ValueError("threshold must be at least 1")
        if cooldown <= 0:
            raise ValueError("cooldown must be more than 0 seconds")
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._state: State = "closed"
        self._probing = False
        self._opened_at = 0.0
        self._consecutive = 0
        self._failures_total = 0
        self._opened_total = 0
        self._rejected_total = 0

    @property
    def state(self) -> State:
        """``closed`` (calls go through), ``open`` (calls fail at once) or ``half-open``."""
        with self._lock:
            self._advance()
            return self._state

    def stats(self) -> BreakerStats:
        with self._lock:
            self._advance()
            retry_in = 0.0
            if self._state == "open":
                retry_in = max(0.0, self._opened_at + self.cooldown - self._clock())
            return BreakerStats(
                self._state,
                self._consecutive,
                self._failures_total,
                self._opened_total,
                self._rejected_total,
                retry_in,
            )

    def _advance(self) -> None:
        if self._state == "open" and self._clock() - self._opened_at >= self.cooldown:
            self._state = "half-open"
            self._probing = False

    def allow(self, force: bool = False) -> bool:
        """Whether a call may go to the server now. ``True`` obliges the caller to report
        the call's end with :meth:`succeeded`, :meth:`failed` or :meth:`released`.

        ``force`` lets a health check through whatever the state (it still counts).
        """
        if self._state == "closed" or force:  # the fast path takes no lock
            return True
        with self._lock:
            self._advance()
            state: State = self._state  # another thread may have closed it meanwhile
            if state == "closed":
                return True
            if state == "half-open" and not self._probing:
                self._probing = True
                return True
            self._rejected_total += 1
            return False

    def succeeded(self) -> bool:
        """The server answered. ``True`` if this closed an open or half-open breaker."""
        if self._state == "closed" and not self._consecutive:
            return False
        with self._lock:
            reopened = self._state != "closed"
            self._state = "closed"
            self._probing = False
            self._consecutive = 0
            return reopened

    def failed(self) -> bool:
        """The server could not be reached or did not answer. ``True`` if this opened the
        breaker."""
        with self._lock:
            self._consecutive += 1
            self._failures_total += 1
            if self._state == "half-open" or (
                self._state == "closed" and self._consecutive >= self.threshold
            ):
                self._state = "open"
                self._probing = False
                self._opened_at = self._clock()
                self._opened_total += 1
                return True
            if self._state == "open":
                # A call let through before the breaker opened failed late: restart the wait.
                self._opened_at = self._clock()
            return False

    def released(self) -> None:
        """The call ended without telling anything about the server (it was cancelled, or
        failed before reaching it): free the probe slot if it held it."""
        if self._probing:
            with self._lock:
                self._probing = False
