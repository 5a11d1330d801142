"""Logging for outages: one message per burst of cache failures, not one per call."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from cache_bridge.errors import DomainError

__all__ = ["FailureLog", "logger"]

logger = logging.getLogger("cache_bridge")


class FailureLog:
    """Logs the first cache failure, then at most one message per ``interval`` seconds.

    Each message after the first says how many failures it stands for; the first success
    after failures logs that the cache is back. ``consequence`` is appended to "failed" (for
    instance ", carrying on without the cache"). Messages hold the error's text (operation,
    key, cause), never a value or a password.
    """

    def __init__(
        self,
        interval: float,
        log: logging.Logger = logger,
        clock: Callable[[], float] = time.monotonic,
        consequence: str = "",
    ) -> None:
        self.interval = interval
        self.consequence = consequence
        self._log = log
        self._clock = clock
        self._lock = threading.Lock()
        self._last: float | None = None
        self._unreported = 0
        self._failing = False

    def failed(self, error: DomainError, doing: str) -> bool:
        """Record a failure while ``doing`` something; ``True`` if it was logged."""
        with self._lock:
            now = self._clock()
            self._failing = True
            if self._last is not None and now - self._last < self.interval:
                self._unreported += 1
                return False
            unreported, self._unreported, self._last = self._unreported, 0, now
        more = f" (and {unreported} more failures since the last message)" if unreported else ""
        self._log.warning("cache_bridge: %s failed%s: %s%s", doing, self.consequence, error, more)
        return True

    def succeeded(self) -> None:
        """Record a success; logs once when the cache answers again after failures."""
        if not self._failing:
            return
        with self._lock:
            if not self._failing:
                return
            self._failing = False
            unreported, self._unreported, self._last = self._unreported, 0, None
        more = f" ({unreported} failures were not logged)" if unreported else ""
        self._log.warning("cache_bridge: the cache answers again%s", more)
