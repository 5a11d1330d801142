"""Fail-open logging for the extension: one message per burst of cache failures."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from cache_bridge import failure_log

__all__ = ["FailureLog", "logger"]

logger = logging.getLogger("flask_cache_bridge")


class FailureLog(failure_log.FailureLog):
    """:class:`cache_bridge.failure_log.FailureLog` on the ``flask_cache_bridge`` logger,
    saying that requests carry on without the cache."""

    def __init__(
        self,
        interval: float,
        log: logging.Logger = logger,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(interval, log, clock, consequence=", carrying on without the cache")
