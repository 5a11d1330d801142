"""The outage log: what a cache's trouble writes to the log, and how little.

One :class:`OutageLog` per subject (an adapter, a rate limit, a framework's use of a cache)
follows one rule. An *outage* (:func:`is_outage`: the server could not be reached, did not
answer in time, its circuit is open, or it answered with a server error) logs its first
failure at once (saying, for an adapter, that the circuit opened), and its recovery at once;
the failures in between are counted into at most one line per ``interval`` seconds. An
outage that starts less than ``interval`` after the subject's last line writes no line of
its own: its failures and its recovery are counted into the next line ("5 short outages came
and went meanwhile"). So a subject writes at most two lines per ``interval`` (a first
failure or a count, and a recovery), however often a flapping server fails and recovers; an
outage after a quiet time is logged at once. A failure that is *not* an outage (a value that
cannot be encoded, a stored value that cannot be read, a closed adapter) is logged under its
own throttle of one line per ``interval``: it never starts an outage and is never followed
by "the cache answers again".

Messages hold the subject (a URL with its password masked, a rate limit's name) and the
error's text (operation, key, cause), never a value or a password.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from cache_bridge.errors import CacheConnectionError, CacheError, CacheServerError, DomainError

__all__ = ["LOG_INTERVAL", "OutageLog", "is_outage", "logger"]

logger = logging.getLogger("cache_bridge")

#: Seconds between two lines of one subject's log (the failures in between are counted), but
#: for the line of a logged outage's recovery.
LOG_INTERVAL = 5.0


def is_outage(error: DomainError) -> bool:
    """Whether ``error`` says the cache itself is failing: it could not be reached, did not
    answer in time, its breaker is open, it answered with a server error (out of memory, a
    read-only replica, no permission), or the adapter failed in an unexpected way. Bad
    arguments, values that cannot be encoded or decoded, a closed adapter and a cluster walk
    that met a slot move are not outages."""
    return isinstance(error, CacheConnectionError | CacheServerError) or type(error) is CacheError


class _Throttle:
    """At most one line per ``interval`` seconds; the calls in between are counted."""

    __slots__ = ("_last", "interval", "unreported")

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last: float | None = None
        self.unreported = 0

    def admit(self, now: float) -> int | None:
        """``None`` if this call must stay silent (it is counted); else how many calls were
        counted since the last line (the count starts again)."""
        if self._last is not None and now - self._last < self.interval:
            self.unreported += 1
            return None
        unreported, self.unreported, self._last = self.unreported, 0, now
        return unreported


def _meanwhile(outages: int) -> str:
    if not outages:
        return ""
    return f"; {outages} short outage{'s' if outages > 1 else ''} came and went meanwhile"


class OutageLog:
    """The log of one subject's cache trouble (see the module's rule). Thread-safe; share one
    per subject: an adapter keeps one, a rate limit one, a framework integration one per
    store.

    ``subject`` names what failed in every message (``redis://host:6379/0``, ``rate limit
    'login'``); ``log`` is the logger (``cache_bridge`` by default); ``clock`` is for tests.
    """

    def __init__(
        self,
        subject: str,
        *,
        log: logging.Logger = logger,
        interval: float = LOG_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.subject = subject
        self._log = log
        self._clock = clock
        self._lock = threading.Lock()
        self._interval = interval
        self._other = _Throttle(interval)
        self._last: float | None = None  # when the last outage line was written
        self._unreported = 0  # outage failures since then, not logged
        self._unlogged = 0  # outages that came and went since then without a line
        self._failing = False  # an outage is on
        self._logged = False  # ... and it has a line, so its recovery gets one too

    @property
    def interval(self) -> float:
        """Seconds between two lines of this log."""
        return self._interval

    @property
    def failing(self) -> bool:
        """Whether an outage is on (a failure, and no recovery since)."""
        return self._failing

    def failed(self, error: DomainError, consequence: str = "") -> bool:
        """Record a failed call; ``True`` if this wrote a line. ``consequence`` says what the
        caller does about it (``"allowing requests until the cache answers again"``)."""
        outages = 0
        with self._lock:
            now = self._clock()
            if not is_outage(error):
                unreported = self._other.admit(now)
            else:
                self._failing = True
                if self._last is not None and now - self._last < self._interval:
                    self._unreported += 1
                    return False
                self._last, self._logged = now, True
                unreported, outages = self._unreported, self._unlogged
                self._unreported = self._unlogged = 0
        if unreported is None:
            return False
        more = ""
        if unreported:
            more = f" (and {unreported} more since the last message{_meanwhile(outages)})"
        then = f"; {consequence}" if consequence else ""
        self._log.warning("cache_bridge: %s failed: %s%s%s", self.subject, error, then, more)
        return True

    def recovered(self, detail: str = "") -> None:
        """Record a call that succeeded; logs once when the cache answers again after an
        outage that was logged (``detail`` is added: ``"; circuit closed"``)."""
        if not self._failing:  # the usual case, without the lock
            return
        with self._lock:
            if not self._failing:
                return
            self._failing = False
            if not self._logged:  # it began too soon after the last line: counted
                self._unlogged += 1
                return
            self._logged = False
            self._last = self._clock()
            unreported, outages = self._unreported, self._unlogged
            self._unreported = self._unlogged = 0
        more = ""
        if unreported:
            more = f" ({unreported} failures were not logged{_meanwhile(outages)})"
        self._log.warning(
            "cache_bridge: %s: the cache answers again%s%s", self.subject, detail, more
        )

    def __repr__(self) -> str:
        state = "failing" if self._failing else "quiet"
        return f"<OutageLog {self.subject} {state}>"
