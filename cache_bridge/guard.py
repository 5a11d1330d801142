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
    CacheError,
    CachePoolExhaustedError,
    CacheSerializationError,
    CacheServerError,
    CacheUnavailableError,
    CacheValueError,
    DomainError,
)
from cache_bridge.failure_log import FailureLog, logger
from cache_bridge.operations import Op

__all__ = ["LOG_INTERVAL", "Guard", "mark_incident"]

#: Seconds between two log lines about one adapter's failures (the rest are counted).
LOG_INTERVAL = 5.0

# The server answered, even if with an error: the connection works.
_ANSWERED = (CacheServerError, CacheValueError, CacheSerializationError)
# Connection errors that say nothing about the server: the breaker's own refusal, a full pool.
_NOT_THE_SERVER = (CacheUnavailableError, CachePoolExhaustedError)
# Worth an operator's attention (rate-limited); bad arguments are the caller's to handle.
_LOGGED = (CacheConnectionError, CacheServerError, CacheSerializationError)


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
        self._log = log
        self._failures = FailureLog(log_interval, log)
        # An outage opens the breaker again after each failed probe: say so once per outage.
        self._outage = False
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
            self._failures.succeeded()
            return
        error = None if result is None else result.failure()
        if isinstance(error, CacheConnectionError) and not isinstance(error, _NOT_THE_SERVER):
            incident = getattr(error.cause, _INCIDENT, None)
            if incident is not None and incident is self._last_incident:
                if breaker is not None:
                    breaker.released()  # already counted
            elif breaker is not None and self._counted(incident) and not self._outage:
                self._outage = True
                self._log.warning(
                    "cache_bridge: %s failed %d times in a row; circuit open: calls fail at "
                    "once for %.2f s, then one call probes the server",
                    self,
                    breaker.threshold,
                    breaker.cooldown,
                )
        elif isinstance(error, _ANSWERED):
            if breaker is not None and breaker.succeeded():
                self._closed()
        elif breaker is not None:
            breaker.released()
        if isinstance(error, _LOGGED) or type(error) is CacheError:  # CacheError: unexpected
            self._failures.failed(error, self.description)

    def _counted(self, incident: object) -> bool:
        """Count one connection failure; ``True`` if it opened the breaker."""
        self._last_incident = incident
        assert self.breaker is not None
        return self.breaker.failed()

    def _closed(self) -> None:
        self._outage = False
        self._log.warning("cache_bridge: %s answers again; circuit closed", self)

    def __str__(self) -> str:
        return self.description
