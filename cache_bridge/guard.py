"""What stands between a network adapter's face and its connections: the circuit breaker and
the outage log. Faces call :meth:`Guard.admit` before an operation and :meth:`Guard.settle`
after it; both are cheap while the server answers.
"""

from __future__ import annotations

import logging
from typing import Any

from returns.result import Failure, Result, Success

from cache_bridge.breaker import CircuitBreaker
from cache_bridge.errors import (
    CacheConnectionError,
    CacheSerializationError,
    CacheServerError,
    CacheUnavailableError,
    CacheValueError,
    DomainError,
)
from cache_bridge.failure_log import LOG_INTERVAL, OutageLog, is_outage, logger
from cache_bridge.operations import Op

__all__ = ["LOG_INTERVAL", "Guard", "mark_incident"]

# The server answered, even if with an error: the connection works.
_ANSWERED = (CacheServerError, CacheValueError, CacheSerializationError)


_INCIDENT = "_cache_bridge_incident"


def mark_incident(exc: BaseException, incident: object) -> None:
    """Say that ``exc`` is one of several failures with one cause (one dropped round trip that
    carried many calls): the breaker counts the incident once, not each call."""
    setattr(exc, _INCIDENT, incident)


class Guard:
    """One adapter's breaker (``None``: calls always go through) and its outage log."""

    def __init__(
        self,
        description: str,
        breaker: CircuitBreaker | None,
        log: logging.Logger = logger,
        log_interval: float = LOG_INTERVAL,
    ) -> None:
        self.description = description
        self.breaker = breaker
        self._failures = OutageLog(description, log=log, interval=log_interval)
        self._last_incident: object = None

    def admit(self, op: Op[Any]) -> Failure[DomainError] | None:
        """``None`` if ``op`` may run now; else the Failure to return at once (the operation
        is closed: it never reaches a socket). Health checks (``ping``) always run."""
        breaker = self.breaker
        if breaker is None or breaker.allow(force=op.name == "ping"):
            return None
        op.steps.close()
        stats = breaker.stats()
        return Failure(
            CacheUnavailableError(
                f"the circuit breaker is open after {stats.consecutive_failures} failures in a "
                f"row; the server is tried again in {stats.retry_in:.2f} s",
                operation=op.name,
                key=op.key,
            )
        )

    def settle(self, result: Result[Any, DomainError] | None) -> None:
        """Record how an admitted operation ended (``None``: it was cancelled)."""
        breaker = self.breaker
        if isinstance(result, Success):
            if breaker is not None and breaker.succeeded():
                self._closed()
            self._failures.recovered()
            return
        error = None if result is None else result.failure()
        if isinstance(error, CacheConnectionError) and not isinstance(error, CacheUnavailableError):
            incident = getattr(error.cause, _INCIDENT, None)
            if incident is not None and incident is self._last_incident:
                if breaker is not None:
                    breaker.released()  # already counted
            elif breaker is not None and self._counted(incident):
                self._failures.opened(
                    f"failed {breaker.threshold} times in a row; circuit open: calls fail at "
                    f"once for {breaker.cooldown:.2f} s, then one call probes the server"
                )
        elif isinstance(error, _ANSWERED):
            if breaker is not None and breaker.succeeded():
                self._closed()
        elif breaker is not None:
            breaker.released()
        if error is not None and is_outage(error):  # the rest is the caller's to handle
            self._failures.failed(error)

    def _counted(self, incident: object) -> bool:
        """Count one connection failure; ``True`` if it opened the breaker."""
        self._last_incident = incident
        assert self.breaker is not None
        return self.breaker.failed()

    def _closed(self) -> None:
        self._failures.recovered("; circuit closed")

    def __str__(self) -> str:
        return self.description
